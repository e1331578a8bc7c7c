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
	"github.com/evident-isms/evident/internal/valid"
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
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
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
	var lines []int // the file line of each requirement, for messages
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
		lines = append(lines, line)
	}
	if err := checkMeta(d); err != nil {
		return nil, err
	}
	if at, err := treeProblem(d); err != nil {
		if at >= 0 {
			return nil, apperr.New(apperr.Invalid, "line %d: %s", lines[at], apperr.MessageOf(err))
		}
		return nil, err
	}
	return d, nil
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
	if d.Name == "" || len(d.Name) > maxFrameworkName || !valid.PlainText(d.Name) {
		return apperr.Field("name", "the framework needs a name of 1 to %d characters", maxFrameworkName)
	}
	if d.Version == "" || len(d.Version) > 50 || !valid.PlainText(d.Version) {
		return apperr.Field("version", "the framework needs a version of 1 to 50 characters")
	}
	if len(d.Description) > MaxTextLength || len(d.Notice) > MaxTextLength || !valid.PlainText(d.Description) || !valid.PlainText(d.Notice) {
		return apperr.Field("description", "description and notice are at most %d characters each", MaxTextLength)
	}
	return nil
}

// MaxDepth is the deepest a requirement may sit in its tree (SP 800-53
// needs 3: family, control, enhancement).
const MaxDepth = 16

// checkTree validates a definition's requirements; where names the list in
// error messages.
func checkTree(d *Definition, where string) error {
	at, err := treeProblem(d)
	if err != nil && at >= 0 {
		r := d.Requirements[at]
		return apperr.Field(where, "%s[%d] (%q): %s", where, at, r.Ref, apperr.MessageOf(err))
	}
	return err
}

// treeProblem finds the first fault of a definition's requirements: unique
// references within the limits, parents that exist and come before their
// children (which rules out cycles), a depth of at most MaxDepth, and at
// least one requirement that counts. It returns the index of the faulty
// requirement, or -1 for a fault of the whole list. Linear in the list.
func treeProblem(d *Definition) (int, error) {
	if len(d.Requirements) == 0 {
		return -1, apperr.New(apperr.Invalid, "the framework has no requirements")
	}
	if len(d.Requirements) > MaxRequirements {
		return -1, apperr.New(apperr.Invalid, "%d requirements; at most %d", len(d.Requirements), MaxRequirements)
	}
	index := make(map[string]int, len(d.Requirements))
	depth := make([]int, len(d.Requirements))
	for i, r := range d.Requirements {
		bad := func(format string, args ...any) (int, error) { return i, apperr.New(apperr.Invalid, format, args...) }
		switch {
		case r.Ref == "" || len(r.Ref) > MaxRefLength || strings.ContainsAny(r.Ref, " \t\r\n/?#") || !valid.PlainText(r.Ref):
			return bad("the reference must be 1 to %d characters without spaces, slashes, ? or #", MaxRefLength)
		case r.Title == "" && r.Text == "":
			return bad("a requirement needs a title or a text")
		case len(r.Title) > MaxTitleLength || !valid.PlainText(r.Title):
			return bad("the title must be text of at most %d characters", MaxTitleLength)
		case len(r.Text) > MaxTextLength || !valid.PlainText(r.Text):
			return bad("the text must be text of at most %d characters", MaxTextLength)
		case len(r.Label) > 100 || !valid.PlainText(r.Label):
			return bad("the label must be text of at most 100 characters")
		}
		if prev, dup := index[r.Ref]; dup {
			return bad("the reference is used twice (first at entry %d)", prev)
		}
		if r.ParentRef != "" {
			p, ok := index[r.ParentRef]
			if !ok {
				return bad("its parent %q is not in the file before it (parents come before their children)", r.ParentRef)
			}
			if depth[i] = depth[p] + 1; depth[i] >= MaxDepth {
				return bad("it sits %d levels deep; at most %d", depth[i]+1, MaxDepth)
			}
		}
		index[r.Ref] = i
	}
	if d.count() == 0 {
		return -1, apperr.New(apperr.Invalid, "the framework has no requirement that can be assessed (all are groups or withdrawn)")
	}
	return -1, nil
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
