// Package i18n translates the product's own public strings. Catalogs are
// embedded JSON objects from key to text, one per language; English is
// complete and the fallback. Arguments use fmt verbs.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/text/language"
)

//go:embed catalog/*.json
var catalogFiles embed.FS

// Supported lists the languages with a catalog, the default first.
var Supported = []language.Tag{language.English, language.French}

var catalogs = map[string]map[string]string{}

func init() {
	for _, tag := range Supported {
		base, _ := tag.Base()
		b, err := catalogFiles.ReadFile("catalog/" + base.String() + ".json")
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("catalog %s: %v", base, err))
		}
		catalogs[base.String()] = m
	}
}

var matcher = language.NewMatcher(Supported)

// Match returns the supported language code ("en", "fr") that best fits the
// given preferences, tried in order: an explicit choice, a cookie, an
// Accept-Language header. Unparseable or empty preferences are skipped.
func Match(prefs ...string) string {
	for _, p := range prefs {
		if p == "" {
			continue
		}
		tags, _, err := language.ParseAcceptLanguage(p)
		if err != nil || len(tags) == 0 {
			continue
		}
		tag, _, conf := matcher.Match(tags...)
		if conf == language.No {
			continue
		}
		base, _ := tag.Base()
		return base.String()
	}
	return "en"
}

// T returns the text of key in lang, falling back to English, and to the key
// itself when English lacks it (a test keeps that from happening).
func T(lang, key string, args ...any) string {
	text, ok := catalogs[lang][key]
	if !ok {
		text, ok = catalogs["en"][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(text, args...)
	}
	return text
}

// Keys returns the keys of a language's catalog, sorted.
func Keys(lang string) []string {
	var keys []string
	for k := range catalogs[lang] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Has tells whether lang's catalog has key.
func Has(lang, key string) bool {
	_, ok := catalogs[lang][key]
	return ok
}

// Name returns a language's own name, for a language switcher.
func Name(lang string) string {
	return T(lang, "language.name")
}

// Codes returns the supported language codes.
func Codes() []string {
	var out []string
	for _, t := range Supported {
		b, _ := t.Base()
		out = append(out, strings.ToLower(b.String()))
	}
	return out
}
