package catalog

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// The built-in frameworks are read from data/ (see data/SOURCES.md for the
// origin and license of every file).
//
//go:embed data
var dataFS embed.FS

// Identifiers of the built-in frameworks.
const (
	CSF11    = "nist-csf-1.1"
	CSF20    = "nist-csf-2.0"
	ISO27001 = "iso-27001-2022"
	SOC2     = "soc2-2017"
	SP80053  = "nist-sp-800-53-r5"
)

// builtin names the files one built-in framework is read from and how.
type builtin struct {
	id    string
	files []string
	load  func(files [][]byte) (*Definition, error)
}

var builtins = []builtin{
	{CSF11, []string{"data/nist-csf-1.1.json"}, loadCSF11},
	{CSF20, []string{"data/nist-csf-2.0.json"}, loadCSF20},
	{ISO27001, []string{"data/iso27001-2022-ids.json"}, loadISO27001},
	{SOC2, []string{"data/soc2-tsc-2017-ids.json"}, loadSOC2},
	{SP80053, []string{
		"data/nist-sp-800-53-r5/NIST_SP-800-53_rev5_catalog-min.json",
		"data/nist-sp-800-53-r5/NIST_SP-800-53_rev5_LOW-baseline_profile.json",
		"data/nist-sp-800-53-r5/NIST_SP-800-53_rev5_MODERATE-baseline_profile.json",
		"data/nist-sp-800-53-r5/NIST_SP-800-53_rev5_HIGH-baseline_profile.json",
		"data/nist-sp-800-53-r5/NIST_SP-800-53_rev5_PRIVACY-baseline_profile.json",
	}, loadSP80053},
}

// builtinFiles reads a built-in's files and their digest, which tells
// whether the stored copy is current without parsing anything.
func (b builtin) read() ([][]byte, string, error) {
	h := sha256.New()
	var out [][]byte
	for _, name := range b.files {
		data, err := dataFS.ReadFile(name)
		if err != nil {
			return nil, "", fmt.Errorf("built-in framework %s: %w", b.id, err)
		}
		h.Write([]byte(name))
		h.Write(data)
		out = append(out, data)
	}
	return out, hex.EncodeToString(h.Sum(nil)), nil
}

// Builtin returns one built-in framework definition, parsed.
func Builtin(id string) (*Definition, error) {
	for _, b := range builtins {
		if b.id == id {
			files, digest, err := b.read()
			if err != nil {
				return nil, err
			}
			d, err := b.load(files)
			if err != nil {
				return nil, fmt.Errorf("built-in framework %s: %w", id, err)
			}
			d.ID, d.Source, d.digest = b.id, SourceBuiltin, digest
			return d, nil
		}
	}
	return nil, fmt.Errorf("no built-in framework %q", id)
}

// BuiltinIDs lists the built-in frameworks in display order.
func BuiltinIDs() []string {
	ids := make([]string, len(builtins))
	for i, b := range builtins {
		ids[i] = b.id
	}
	return ids
}

// tree builds a definition's requirement list in document order.
type tree struct{ reqs []Requirement }

func (t *tree) add(r Requirement) {
	r.Position = len(t.reqs)
	if r.Label == "" {
		r.Label = r.Ref
	}
	t.reqs = append(t.reqs, r)
}

func loadCSF11(files [][]byte) (*Definition, error) {
	var src struct {
		Framework, Version string
		Functions          []struct {
			ID, Name, Description string
			Categories            []struct {
				ID, Name, Description string
				Subcategories         []struct {
					ID, Text   string
					References []struct {
						Source string
						Refs   []string
					} `json:"informative_references"`
				}
			}
		}
	}
	if err := json.Unmarshal(files[0], &src); err != nil {
		return nil, err
	}
	var t tree
	for _, f := range src.Functions {
		t.add(Requirement{Ref: f.ID, Kind: "function", Title: f.Name, Text: f.Description})
		for _, c := range f.Categories {
			t.add(Requirement{Ref: c.ID, ParentRef: f.ID, Kind: "category", Title: c.Name, Text: c.Description})
			for _, s := range c.Subcategories {
				r := Requirement{Ref: s.ID, ParentRef: c.ID, Kind: "subcategory", Title: s.Text, Assessable: true}
				for _, ref := range s.References {
					r.Details.References = append(r.Details.References, Reference{Source: ref.Source, Refs: ref.Refs})
				}
				t.add(r)
			}
		}
	}
	return &Definition{Framework: Framework{Name: "NIST Cybersecurity Framework", Version: src.Version,
		Description: "Framework for Improving Critical Infrastructure Cybersecurity, Version 1.1 (NIST, 2018): functions, categories and subcategories with their informative references.",
		Notice:      "Public domain (US Government work). Built from NIST CSWP 04162018."}, Requirements: t.reqs}, nil
}

func loadCSF20(files [][]byte) (*Definition, error) {
	var src struct {
		Version   string
		Functions []struct {
			ID, Name, Description string
			Categories            []struct {
				ID, Name, Description string
				Subcategories         []struct {
					ID, Text string
					Examples []struct{ ID, Text string } `json:"implementation_examples"`
				}
			}
		}
	}
	if err := json.Unmarshal(files[0], &src); err != nil {
		return nil, err
	}
	var t tree
	for _, f := range src.Functions {
		t.add(Requirement{Ref: f.ID, Kind: "function", Title: f.Name, Text: f.Description})
		for _, c := range f.Categories {
			t.add(Requirement{Ref: c.ID, ParentRef: f.ID, Kind: "category", Title: c.Name, Text: c.Description})
			for _, s := range c.Subcategories {
				r := Requirement{Ref: s.ID, ParentRef: c.ID, Kind: "subcategory", Title: s.Text, Assessable: true}
				for _, e := range s.Examples {
					r.Details.Examples = append(r.Details.Examples, Example{ID: e.ID, Text: e.Text})
				}
				t.add(r)
			}
		}
	}
	return &Definition{Framework: Framework{Name: "NIST Cybersecurity Framework", Version: src.Version,
		Description: "The NIST Cybersecurity Framework (CSF) 2.0 (NIST CSWP 29, 2024): functions, categories and subcategories with implementation examples.",
		Notice:      "Public domain / CC0 1.0. Built from NIST's OSCAL catalog of CSF 2.0."}, Requirements: t.reqs}, nil
}

func loadISO27001(files [][]byte) (*Definition, error) {
	var src struct {
		Clauses []struct{ ID, Clause, Title string }
		AnnexA  []struct {
			ID    string
			Theme string
			Tid   string `json:"theme_id"`
			Title string
		} `json:"annex_a"`
	}
	if err := json.Unmarshal(files[0], &src); err != nil {
		return nil, err
	}
	var t tree
	seen := map[string]bool{}
	for _, c := range src.Clauses {
		top := strings.SplitN(c.ID, ".", 2)[0]
		if !seen[top] {
			seen[top] = true
			t.add(Requirement{Ref: top, Kind: "clause", Title: c.Clause})
		}
		t.add(Requirement{Ref: c.ID, ParentRef: top, Kind: "requirement", Title: c.Title, Assessable: true})
	}
	for _, a := range src.AnnexA {
		if !seen[a.Tid] {
			seen[a.Tid] = true
			t.add(Requirement{Ref: a.Tid, Kind: "theme", Title: a.Theme})
		}
		t.add(Requirement{Ref: a.ID, ParentRef: a.Tid, Kind: "control", Title: a.Title, Assessable: true})
	}
	return &Definition{Framework: Framework{Name: "ISO/IEC 27001", Version: "2022",
		Description: "ISO/IEC 27001:2022 requirements of clauses 4 to 10 and the Annex A controls: identifiers and titles only.",
		Notice:      "Identifiers and titles only; the standard is © ISO/IEC. Titles from getprobo/probo (MIT License, © 2025 Probo Inc)."}, Requirements: t.reqs}, nil
}

// soc2Categories gives the Trust Services Categories short identifiers.
var soc2Categories = map[string]string{
	"Security (Common Criteria)": "CC", "Availability": "A", "Confidentiality": "C",
	"Processing Integrity": "PI", "Privacy": "P",
}

func loadSOC2(files [][]byte) (*Definition, error) {
	var src struct {
		Criteria []struct {
			ID, Category, Series string
			SeriesTitle          string `json:"series_title"`
			ShortTitle           string `json:"short_title"`
		}
	}
	if err := json.Unmarshal(files[0], &src); err != nil {
		return nil, err
	}
	var t tree
	seen := map[string]bool{}
	for _, c := range src.Criteria {
		cat, ok := soc2Categories[c.Category]
		if !ok {
			return nil, fmt.Errorf("criterion %s: unknown category %q", c.ID, c.Category)
		}
		if !seen[cat] {
			seen[cat] = true
			t.add(Requirement{Ref: cat, Kind: "category", Title: c.Category})
		}
		if !seen[c.Series] {
			seen[c.Series] = true
			t.add(Requirement{Ref: c.Series, ParentRef: cat, Kind: "series", Title: c.SeriesTitle})
		}
		t.add(Requirement{Ref: c.ID, ParentRef: c.Series, Kind: "criterion", Title: c.ShortTitle, Assessable: true})
	}
	return &Definition{Framework: Framework{Name: "SOC 2 Trust Services Criteria", Version: "2017",
		Description: "AICPA 2017 Trust Services Criteria (security, availability, confidentiality, processing integrity, privacy): identifiers and short labels only.",
		Notice:      "Identifiers and short labels only; the criteria are © AICPA. Labels from strongdm/comply (Apache License 2.0)."}, Requirements: t.reqs}, nil
}

func loadSP80053(files [][]byte) (*Definition, error) {
	d, err := parseOSCALCatalog(files[0])
	if err != nil {
		return nil, err
	}
	names := []string{"LOW", "MODERATE", "HIGH", "PRIVACY"}
	index := map[string]int{}
	for i := range d.Requirements {
		index[d.Requirements[i].Ref] = i
	}
	for i, profile := range files[1:] {
		ids, err := profileSelection(profile)
		if err != nil {
			return nil, fmt.Errorf("%s baseline: %w", names[i], err)
		}
		for _, id := range ids {
			at, ok := index[id]
			if !ok {
				return nil, fmt.Errorf("%s baseline selects %q, which the catalog lacks", names[i], id)
			}
			d.Requirements[at].Baselines = append(d.Requirements[at].Baselines, names[i])
		}
	}
	d.Name = "NIST SP 800-53"
	d.Version = "Rev. 5 (" + d.Version + ")"
	d.Baselines = names
	d.Description = "NIST SP 800-53 Revision 5, Security and Privacy Controls: families, controls and control enhancements, " +
		"with the SP 800-53B LOW, MODERATE, HIGH and PRIVACY baselines."
	d.Notice = "Public domain / CC0 1.0 (NIST OSCAL content)."
	return d, nil
}

// profileSelection reads the control identifiers an OSCAL profile includes.
func profileSelection(data []byte) ([]string, error) {
	var p struct {
		Profile struct {
			Imports []struct {
				Include []struct {
					WithIDs []string `json:"with-ids"`
				} `json:"include-controls"`
			}
		}
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	var ids []string
	for _, im := range p.Profile.Imports {
		for _, in := range im.Include {
			ids = append(ids, in.WithIDs...)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("the profile selects no controls")
	}
	return ids, nil
}
