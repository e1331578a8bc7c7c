package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/evident-isms/evident/internal/apperr"
)

// OSCAL catalogs are validated against the OSCAL JSON Schema of their
// oscal-version before anything is read from them. NIST's 1.0.x schemas do
// not compile in Go (an $id beside a $ref), and 1.1.3 accepts 1.0.x
// catalogs, so 1.0.x and 1.1.x use the 1.1.3 schema and 1.2.x uses 1.2.2.

var oscalSchemas = map[string]string{
	"1.0": "data/oscal-schemas/v1.1.3/oscal_complete_schema.json",
	"1.1": "data/oscal-schemas/v1.1.3/oscal_complete_schema.json",
	"1.2": "data/oscal-schemas/v1.2.2/oscal_complete_schema.json",
}

var (
	schemaMu       sync.Mutex
	compiledSchema = map[string]*jsonschema.Schema{}
	oscalVersion   = regexp.MustCompile(`^(\d+)\.(\d+)\.\d+`)
)

// oscalSchema compiles (once) the schema for an OSCAL version.
func oscalSchema(version string) (*jsonschema.Schema, error) {
	m := oscalVersion.FindStringSubmatch(version)
	if m == nil {
		return nil, apperr.Field("metadata.oscal-version", "oscal-version %q is not a version such as 1.1.2", version)
	}
	path, ok := oscalSchemas[m[1]+"."+m[2]]
	if !ok {
		return nil, apperr.Field("metadata.oscal-version", "OSCAL %s is not supported; Evident reads OSCAL 1.0, 1.1 and 1.2 catalogs", version)
	}
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s := compiledSchema[path]; s != nil {
		return s, nil
	}
	raw, err := dataFS.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("OSCAL schema %s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, doc); err != nil {
		return nil, fmt.Errorf("OSCAL schema %s: %w", path, err)
	}
	s, err := c.Compile(path)
	if err != nil {
		return nil, fmt.Errorf("OSCAL schema %s: %w", path, err)
	}
	compiledSchema[path] = s
	return s, nil
}

// ParseOSCAL reads an OSCAL catalog in JSON: well-formed, within the
// limits, valid against its OSCAL schema. Errors name the place in the file.
func ParseOSCAL(data []byte) (*Definition, error) {
	if len(data) > MaxImportBytes {
		return nil, apperr.New(apperr.Invalid, "the file is %d bytes; imports are limited to %d MiB", len(data), MaxImportBytes>>20)
	}
	var head struct {
		Catalog *struct {
			Metadata struct {
				OSCALVersion string `json:"oscal-version"`
			}
		}
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, jsonError(data, err)
	}
	if head.Catalog == nil {
		return nil, apperr.New(apperr.Invalid, "this is not an OSCAL catalog: the top-level \"catalog\" object is missing")
	}
	schema, err := oscalSchema(head.Catalog.Metadata.OSCALVersion)
	if err != nil {
		return nil, err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, jsonError(data, err)
	}
	if err := schema.Validate(inst); err != nil {
		return nil, schemaError(err)
	}
	d, err := parseOSCALCatalog(data)
	if err != nil {
		return nil, err
	}
	d.Source = SourceOSCAL
	d.Notice = "Imported from an OSCAL catalog."
	return d, nil
}

// schemaError reports the first deepest failure of a schema validation.
func schemaError(err error) error {
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return apperr.New(apperr.Invalid, "the catalog does not match the OSCAL schema: %v", err)
	}
	leaf := ve
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			if len(e.InstanceLocation) > len(leaf.InstanceLocation) || leaf == ve {
				leaf = e
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	where := "/" + strings.Join(leaf.InstanceLocation, "/")
	msg := leaf.ErrorKind.LocalizedString(message.NewPrinter(language.English))
	return &apperr.Error{Code: apperr.Invalid, Field: where,
		Message: fmt.Sprintf("the catalog does not match the OSCAL schema at %s: %s", where, msg)}
}

// jsonError turns a JSON syntax or type error into one naming the line and
// column.
func jsonError(data []byte, err error) error {
	var offset int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		offset = max(e.Offset-1, 0) // the offset is just after the bad byte
	case *json.UnmarshalTypeError:
		offset = e.Offset
		if e.Field != "" {
			line, col := lineColumn(data, offset)
			return apperr.New(apperr.Invalid, "line %d, column %d: %s must be %s, not %s", line, col, e.Field, e.Type.String(), e.Value)
		}
	}
	if offset < 0 {
		return apperr.New(apperr.Invalid, "the file is not valid JSON: %v", err)
	}
	line, col := lineColumn(data, offset)
	return apperr.New(apperr.Invalid, "line %d, column %d: the file is not valid JSON: %v", line, col, err)
}

func lineColumn(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line = 1 + bytes.Count(data[:offset], []byte("\n"))
	col = int(offset) - bytes.LastIndexByte(data[:offset], '\n')
	return line, col
}

// The parts of an OSCAL catalog Evident reads.
type oscalCatalog struct {
	Catalog struct {
		Metadata struct {
			Title   string
			Version string
		}
		Groups   []oscalGroup
		Controls []oscalControl
	}
}

type oscalGroup struct {
	ID, Title string
	Groups    []oscalGroup
	Controls  []oscalControl
}

type oscalControl struct {
	ID, Title string
	Props     []oscalProp
	Params    []struct {
		ID, Label string
		Select    *struct {
			Choice []string
		}
	}
	Parts    []oscalPart
	Controls []oscalControl
	Links    []struct{ Href, Rel string }
}

type oscalProp struct{ Name, Value string }

type oscalPart struct {
	Name, Prose string
	Props       []oscalProp
	Parts       []oscalPart
}

func propValue(props []oscalProp, name string) string {
	for _, p := range props {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

var insertParam = regexp.MustCompile(`\{\{\s*insert:\s*param,\s*([^\s}]+)\s*\}\}`)

// parseOSCALCatalog reads the tree of a catalog already known to be valid:
// groups become groups (families in SP 800-53), top-level controls are
// controls and nested ones enhancements. Withdrawn controls are kept and
// marked, so that links and history still resolve, and never counted.
func parseOSCALCatalog(data []byte) (*Definition, error) {
	var c oscalCatalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, jsonError(data, err)
	}
	var t tree
	var addControl func(ctl oscalControl, parent string, depth int)
	addControl = func(ctl oscalControl, parent string, depth int) {
		kind := "control"
		if depth > 0 {
			kind = "enhancement"
		}
		r := Requirement{Ref: ctl.ID, Label: propValue(ctl.Props, "label"), ParentRef: parent, Kind: kind,
			Title: ctl.Title, Assessable: true, Withdrawn: strings.EqualFold(propValue(ctl.Props, "status"), "withdrawn")}
		for _, l := range ctl.Links {
			if r.Withdrawn && (l.Rel == "moved-to" || l.Rel == "incorporated-into") {
				r.Details.WithdrawnTo = append(r.Details.WithdrawnTo, strings.TrimPrefix(l.Href, "#"))
			}
		}
		r.Text = statementText(ctl)
		t.add(r)
		for _, sub := range ctl.Controls {
			addControl(sub, ctl.ID, depth+1)
		}
	}
	var addGroup func(g oscalGroup, parent string)
	addGroup = func(g oscalGroup, parent string) {
		t.add(Requirement{Ref: g.ID, ParentRef: parent, Kind: "group", Title: g.Title})
		for _, sub := range g.Groups {
			addGroup(sub, g.ID)
		}
		for _, ctl := range g.Controls {
			addControl(ctl, g.ID, 0)
		}
	}
	for _, g := range c.Catalog.Groups {
		if g.ID == "" {
			return nil, apperr.New(apperr.Invalid, "group %q has no id; Evident needs one to build the requirement tree", g.Title)
		}
		addGroup(g, "")
	}
	for _, ctl := range c.Catalog.Controls {
		addControl(ctl, "", 0)
	}
	d := &Definition{Framework: Framework{Name: strings.TrimSpace(c.Catalog.Metadata.Title), Version: strings.TrimSpace(c.Catalog.Metadata.Version)},
		Requirements: t.reqs}
	if err := checkTree(d, "catalog"); err != nil {
		return nil, err
	}
	return d, nil
}

// statementText flattens a control's statement into plain text, with each
// parameter shown as the label or choice it asks for.
func statementText(ctl oscalControl) string {
	labels := map[string]string{}
	for _, p := range ctl.Params {
		switch {
		case p.Label != "":
			labels[p.ID] = "[Assignment: " + p.Label + "]"
		case p.Select != nil:
			labels[p.ID] = "[Selection: " + strings.Join(p.Select.Choice, "; ") + "]"
		}
	}
	var b strings.Builder
	var walk func(parts []oscalPart)
	walk = func(parts []oscalPart) {
		for _, p := range parts {
			if p.Name != "statement" && p.Name != "item" {
				continue
			}
			prose := strings.TrimSpace(insertParam.ReplaceAllStringFunc(p.Prose, func(m string) string {
				id := insertParam.FindStringSubmatch(m)[1]
				if l, ok := labels[id]; ok {
					return l
				}
				return "[" + id + "]"
			}))
			if label := propValue(p.Props, "label"); label != "" && prose != "" {
				prose = label + " " + prose
			}
			if prose != "" {
				if b.Len() > 0 {
					b.WriteString("\n")
				}
				b.WriteString(prose)
			}
			walk(p.Parts)
		}
	}
	walk(ctl.Parts)
	return b.String()
}
