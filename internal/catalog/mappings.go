package catalog

import (
	"encoding/json"
	"fmt"
)

// builtinMappings reads NIST's CSF 1.1 to 2.0 transition: every CSF 1.1
// category and subcategory and where it went in CSF 2.0.
func builtinMappings() ([]Mapping, error) {
	data, err := dataFS.ReadFile("data/nist-csf-1.1-to-2.0.json")
	if err != nil {
		return nil, err
	}
	var src struct {
		Categories, Subcategories []struct {
			CSF11    string   `json:"csf11"`
			Relation string   `json:"relation"`
			Targets  []string `json:"csf2_targets"`
		}
	}
	if err := json.Unmarshal(data, &src); err != nil {
		return nil, fmt.Errorf("CSF 1.1 to 2.0 mapping: %w", err)
	}
	var out []Mapping
	for _, list := range [][]struct {
		CSF11    string   `json:"csf11"`
		Relation string   `json:"relation"`
		Targets  []string `json:"csf2_targets"`
	}{src.Categories, src.Subcategories} {
		for _, m := range list {
			for _, t := range m.Targets {
				out = append(out, Mapping{FromFramework: CSF11, FromRef: m.CSF11, ToFramework: CSF20, ToRef: t,
					Relation: m.Relation, Source: "nist"})
			}
		}
	}
	return out, nil
}
