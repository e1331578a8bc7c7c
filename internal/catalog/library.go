package catalog

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"sync"
)

// The library of common controls is Evident's own: original text for each
// practice (what it is, what evidence usually shows it, which automated
// checks can verify part of it) and Evident's own mapping of it to the
// requirements of CSF 2.0, ISO/IEC 27001:2022 and SOC 2. Adopting a
// framework from the library creates one control per practice, linked to
// every requirement the practice maps to in the adopted frameworks.

// LibraryControl is one practice of the library.
type LibraryControl struct {
	Key                string              `json:"key"`
	Title              string              `json:"title"`
	Description        string              `json:"description"`
	TypicalEvidence    []string            `json:"typical_evidence"`
	SuggestedChecks    []SuggestedCheck    `json:"suggested_checks"`
	ReviewIntervalDays int                 `json:"review_interval_days"`
	Maps               map[string][]string `json:"maps" doc:"Framework identifier -> requirement references."`
}

// SuggestedCheck is an automated check that can verify part of a practice.
type SuggestedCheck struct {
	Kind        string `json:"kind" enum:"http_headers,tls,dns,security_txt,http_up,push"`
	Description string `json:"description"`
}

// CheckKinds are the kinds of automated check a library control may suggest.
var CheckKinds = map[string]bool{"http_headers": true, "tls": true, "dns": true, "security_txt": true, "http_up": true, "push": true}

// LibraryFrameworks are the frameworks the library maps to.
var LibraryFrameworks = []string{CSF20, ISO27001, SOC2}

var (
	libraryOnce sync.Once
	library     []LibraryControl
	libraryErr  error
	libraryKey  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
)

// Library returns the library of common controls, by title. The result is
// shared: callers must not change it.
func Library() ([]LibraryControl, error) {
	libraryOnce.Do(func() { library, libraryErr = loadLibrary() })
	return library, libraryErr
}

// LibraryControlByKey returns one practice of the library.
func LibraryControlByKey(key string) (*LibraryControl, bool) {
	lib, err := Library()
	if err != nil {
		return nil, false
	}
	for i := range lib {
		if lib[i].Key == key {
			return &lib[i], true
		}
	}
	return nil, false
}

func loadLibrary() ([]LibraryControl, error) {
	files, err := fs.Glob(dataFS, "data/library/*.json")
	if err != nil {
		return nil, err
	}
	var all []LibraryControl
	for _, name := range files {
		data, err := dataFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var f struct {
			Controls []LibraryControl `json:"controls"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("library %s: %w", name, err)
		}
		all = append(all, f.Controls...)
	}
	keys, titles := map[string]bool{}, map[string]bool{}
	for _, c := range all {
		switch {
		case !libraryKey.MatchString(c.Key):
			return nil, fmt.Errorf("library control %q: bad key", c.Key)
		case keys[c.Key]:
			return nil, fmt.Errorf("library control %q: key used twice", c.Key)
		case titles[c.Title]:
			return nil, fmt.Errorf("library control %q: title %q used twice", c.Key, c.Title)
		case c.Title == "" || c.Description == "":
			return nil, fmt.Errorf("library control %q: title and description are required", c.Key)
		case c.ReviewIntervalDays < 1:
			return nil, fmt.Errorf("library control %q: no review interval", c.Key)
		}
		for _, ch := range c.SuggestedChecks {
			if !CheckKinds[ch.Kind] {
				return nil, fmt.Errorf("library control %q: unknown check kind %q", c.Key, ch.Kind)
			}
		}
		keys[c.Key], titles[c.Title] = true, true
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Title < all[j].Title })
	return all, nil
}
