// Package catalog owns what organisations can be asked to do: frameworks
// and their requirement trees, mappings between requirements, the library
// of common controls, and the importers for OSCAL catalogs and custom
// frameworks. The catalog is shared by every organisation of the instance;
// which frameworks an organisation adopts lives in package control.
package catalog

import (
	"regexp"
	"time"
)

// Sources of a framework.
const (
	SourceBuiltin = "builtin" // embedded in the binary
	SourceOSCAL   = "oscal"   // imported from an OSCAL catalog
	SourceCustom  = "custom"  // imported from Evident's JSON or CSV format
)

// Framework is one framework of the catalog.
type Framework struct {
	ID          string    `json:"id" doc:"Identifier, e.g. nist-csf-2.0."`
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Source      string    `json:"source" enum:"builtin,oscal,custom"`
	Description string    `json:"description"`
	Notice      string    `json:"notice" doc:"Origin and license of the data."`
	Baselines   []string  `json:"baselines" doc:"Named subsets an organisation may adopt instead of the whole framework."`
	Count       int       `json:"requirements" doc:"Requirements that count: assessable and not withdrawn."`
	ImportedAt  time.Time `json:"imported_at"`
	digest      string
}

// Requirement is one node of a framework's tree. Grouping nodes (a CSF
// function, an ISO theme, an SP 800-53 family) are not assessable; the
// requirements that count in posture are.
type Requirement struct {
	FrameworkID string   `json:"framework_id"`
	Ref         string   `json:"ref" doc:"The framework's own identifier, e.g. GV.OC-01, A.5.1, ac-2.1."`
	Label       string   `json:"label" doc:"How the framework prints the identifier, e.g. AC-2(1)."`
	ParentRef   string   `json:"parent_ref,omitempty"`
	Kind        string   `json:"kind" doc:"function, category, subcategory; clause, theme, control; family, control, enhancement; criterion; series; group; requirement."`
	Title       string   `json:"title"`
	Text        string   `json:"text,omitempty"`
	Assessable  bool     `json:"assessable"`
	Withdrawn   bool     `json:"withdrawn"`
	Position    int      `json:"position"`
	Baselines   []string `json:"baselines,omitempty"`
	Details     Details  `json:"details"`
}

// Details are the parts of a requirement only some frameworks have.
type Details struct {
	References  []Reference `json:"informative_references,omitempty"`
	Examples    []Example   `json:"implementation_examples,omitempty"`
	WithdrawnTo []string    `json:"withdrawn_to,omitempty" doc:"Where a withdrawn requirement went."`
}

// Reference is an informative reference to another standard, kept as text.
type Reference struct {
	Source string   `json:"source"`
	Refs   []string `json:"refs"`
}

// Example is an implementation example (CSF 2.0).
type Example struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Definition is a framework with its requirements, as read from a file and
// validated, before it is stored.
type Definition struct {
	Framework
	Requirements []Requirement
}

// Limits of imported frameworks (documented in docs/frameworks.md).
const (
	MaxImportBytes   = 20 << 20 // 20 MiB
	MaxRequirements  = 20000
	MaxRefLength     = 64
	MaxTitleLength   = 500
	MaxTextLength    = 20000
	maxFrameworkName = 200
)

var frameworkIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,62}[a-z0-9]$`)

// countable tells whether a requirement counts in the framework's number.
func (r *Requirement) countable() bool { return r.Assessable && !r.Withdrawn }

func (d *Definition) count() int {
	n := 0
	for i := range d.Requirements {
		if d.Requirements[i].countable() {
			n++
		}
	}
	return n
}
