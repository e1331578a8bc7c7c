package catalog

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
)

// Evident's format for custom frameworks, documented in docs/frameworks.md.
// JSON carries the framework's identity; CSV carries only requirements, so
// its identifier, name and version come from the caller (CLI flags).

// CustomFormat is the value of the "format" member of a custom framework
// in JSON.
const CustomFormat = "evident-framework/1"

type customFile struct {
	Format       string              `json:"format"`
	ID           string              `json:"id"`
	Name         string              `json:"name"`
	Version      string              `json:"version"`
	Description  string              `json:"description"`
	Notice       string              `json:"notice"`
	Requirements []customRequirement `json:"requirements"`
}

type customRequirement struct {
	Ref    string `json:"ref"`
	Parent string `json:"parent"`
	Kind   string `json:"kind"` // "requirement" (default) or "group"
	Title  string `json:"title"`
	Text   string `json:"text"`
}

// Meta is what the caller says about a framework whose file does not (CSV),
// or overrides (the identifier of an OSCAL catalog).
type Meta struct {
	ID, Name, Version string
}

// ParseCustomJSON reads a custom framework in Evident's JSON format.
func ParseCustomJSON(data []byte) (*Definition, error) {
	if len(data) > MaxImportBytes {
		return nil, apperr.New(apperr.Invalid, "the file is %d bytes; imports are limited to %d MiB", len(data), MaxImportBytes>>20)
	}
	var f customFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field") {
			line, col := lineColumn(data, dec.InputOffset())
			return nil, apperr.New(apperr.Invalid, "line %d, column %d: %s (the format is %s)", line, col, strings.TrimPrefix(err.Error(), "json: "), CustomFormat)
		}
		return nil, jsonError(data, err)
	}
	if dec.More() {
		line, col := lineColumn(data, dec.InputOffset())
		return nil, apperr.New(apperr.Invalid, "line %d, column %d: unexpected data after the framework object", line, col)
	}
	if f.Format != CustomFormat {
		return nil, apperr.Field("format", "format is %q; a custom framework in JSON says \"format\": %q", f.Format, CustomFormat)
	}
	if len(f.Requirements) > MaxRequirements {
		return nil, apperr.Field("requirements", "%d requirements; at most %d", len(f.Requirements), MaxRequirements)
	}
	d := &Definition{Framework: Framework{ID: f.ID, Name: f.Name, Version: f.Version, Description: f.Description,
		Notice: f.Notice, Source: SourceCustom}}
	for i, r := range f.Requirements {
		req, err := customToRequirement(r)
		if err != nil {
			return nil, apperr.Field(fmt.Sprintf("requirements[%d]", i), "requirements[%d]: %s", i, apperr.MessageOf(err))
		}
		d.Requirements = append(d.Requirements, req)
	}
	for i := range d.Requirements {
		d.Requirements[i].Position = i
	}
	if err := checkMeta(d); err != nil {
		return nil, err
	}
	return d, checkTree(d, "requirements")
}

// ParseCustomCSV reads requirements from CSV with a header row naming the
// columns ref, parent, kind, title and text (parent, kind and text may be
// left out).
func ParseCustomCSV(data []byte, meta Meta) (*Definition, error) {
	if len(data) > MaxImportBytes {
		return nil, apperr.New(apperr.Invalid, "the file is %d bytes; imports are limited to %d MiB", len(data), MaxImportBytes>>20)
	}
	if !utf8.Valid(data) {
		return nil, apperr.New(apperr.Invalid, "the file is not UTF-8 text")
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a byte-order mark from spreadsheet programs
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, csvError(err, "the header row")
	}
	cols := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch name {
		case "ref", "parent", "kind", "title", "text":
		default:
			return nil, apperr.New(apperr.Invalid, "line 1, column %d: unknown column %q; the columns are ref, parent, kind, title, text", i+1, h)
		}
		if _, dup := cols[name]; dup {
			return nil, apperr.New(apperr.Invalid, "line 1, column %d: column %q appears twice", i+1, name)
		}
		cols[name] = i
	}
	for _, need := range []string{"ref", "title"} {
		if _, ok := cols[need]; !ok {
			return nil, apperr.New(apperr.Invalid, "line 1: the header row lacks the %q column", need)
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := cols[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	d := &Definition{Framework: Framework{ID: meta.ID, Name: meta.Name, Version: meta.Version, Source: SourceCustom}}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err, "")
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(d.Requirements) == MaxRequirements {
			return nil, apperr.New(apperr.Invalid, "line %d: more than %d requirements", line, MaxRequirements)
		}
		req, err := customToRequirement(customRequirement{Ref: get(rec, "ref"), Parent: get(rec, "parent"),
			Kind: get(rec, "kind"), Title: get(rec, "title"), Text: get(rec, "text")})
		if err != nil {
			col := ""
			if f := apperr.FieldOf(err); f != "" {
				col = ", column " + f
			}
			return nil, apperr.New(apperr.Invalid, "line %d%s: %s", line, col, apperr.MessageOf(err))
		}
		req.Position = len(d.Requirements)
		d.Requirements = append(d.Requirements, req)
	}
	if err := checkMeta(d); err != nil {
		return nil, err
	}
	return d, checkTree(d, "file")
}

func csvError(err error, where string) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return apperr.New(apperr.Invalid, "line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	if errors.Is(err, io.EOF) {
		return apperr.New(apperr.Invalid, "the file is empty; it needs %s", where)
	}
	return apperr.New(apperr.Invalid, "the file is not valid CSV: %v", err)
}

func customToRequirement(c customRequirement) (Requirement, error) {
	r := Requirement{Ref: strings.TrimSpace(c.Ref), ParentRef: strings.TrimSpace(c.Parent),
		Title: strings.TrimSpace(c.Title), Text: strings.TrimSpace(c.Text)}
	switch strings.TrimSpace(c.Kind) {
	case "", "requirement":
		r.Kind, r.Assessable = "requirement", true
	case "group":
		r.Kind = "group"
	default:
		return r, apperr.Field("kind", "kind %q is neither requirement nor group", c.Kind)
	}
	r.Label = r.Ref
	return r, nil
}

// checkMeta validates a framework's identity.
func checkMeta(d *Definition) error {
	d.ID = strings.TrimSpace(d.ID)
	d.Name = strings.TrimSpace(d.Name)
	d.Version = strings.TrimSpace(d.Version)
	if !frameworkIDPattern.MatchString(d.ID) {
		return apperr.Field("id", "the framework identifier %q must be 3 to 64 characters: lower-case letters, digits, dots and hyphens", d.ID)
	}
	if d.Name == "" || len(d.Name) > maxFrameworkName || !utf8.ValidString(d.Name) {
		return apperr.Field("name", "the framework needs a name of 1 to %d characters", maxFrameworkName)
	}
	if d.Version == "" || len(d.Version) > 50 {
		return apperr.Field("version", "the framework needs a version of 1 to 50 characters")
	}
	if len(d.Description) > MaxTextLength || len(d.Notice) > MaxTextLength {
		return apperr.Field("description", "description and notice are at most %d characters each", MaxTextLength)
	}
	return nil
}

// checkTree validates a definition's requirements: unique references
// within the limits, parents that exist, no cycles, at least one
// requirement that counts. where names the list in error messages.
func checkTree(d *Definition, where string) error {
	if len(d.Requirements) == 0 {
		return apperr.Field(where, "the framework has no requirements")
	}
	if len(d.Requirements) > MaxRequirements {
		return apperr.Field(where, "%d requirements; at most %d", len(d.Requirements), MaxRequirements)
	}
	index := make(map[string]int, len(d.Requirements))
	for i, r := range d.Requirements {
		at := fmt.Sprintf("%s[%d] (%q)", where, i, r.Ref)
		switch {
		case r.Ref == "" || len(r.Ref) > MaxRefLength || strings.ContainsAny(r.Ref, " \t\r\n/?#") || !utf8.ValidString(r.Ref):
			return apperr.Field(where, "%s: the reference must be 1 to %d characters without spaces, slashes, ? or #", at, MaxRefLength)
		case r.Title == "" && r.Text == "":
			return apperr.Field(where, "%s: a requirement needs a title or a text", at)
		case len(r.Title) > MaxTitleLength || !utf8.ValidString(r.Title):
			return apperr.Field(where, "%s: the title is longer than %d characters", at, MaxTitleLength)
		case len(r.Text) > MaxTextLength || !utf8.ValidString(r.Text):
			return apperr.Field(where, "%s: the text is longer than %d characters", at, MaxTextLength)
		case len(r.Label) > 100:
			return apperr.Field(where, "%s: the label is longer than 100 characters", at)
		}
		if prev, dup := index[r.Ref]; dup {
			return apperr.Field(where, "%s: the reference is used twice (also at %s[%d])", at, where, prev)
		}
		index[r.Ref] = i
	}
	for i, r := range d.Requirements {
		if r.ParentRef == "" {
			continue
		}
		if _, ok := index[r.ParentRef]; !ok {
			return apperr.Field(where, "%s[%d] (%q): its parent %q is not in the file", where, i, r.Ref, r.ParentRef)
		}
		// Walk up; a path longer than the list is a cycle.
		seen := 0
		for p := r.ParentRef; p != ""; p = d.Requirements[index[p]].ParentRef {
			if seen++; seen > len(d.Requirements) || p == r.Ref {
				return apperr.Field(where, "%s[%d] (%q): its parents form a cycle", where, i, r.Ref)
			}
		}
	}
	if d.count() == 0 {
		return apperr.Field(where, "the framework has no requirement that can be assessed (all are groups or withdrawn)")
	}
	return nil
}

// SuggestID makes a framework identifier from a name and a version: lower
// case words joined by hyphens, at most 64 characters.
func SuggestID(name, version string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name + " " + version) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		default:
			dash = true
		}
	}
	id := b.String()
	if len(id) > 64 {
		id = strings.TrimRight(id[:64], "-.")
	}
	return id
}
