package db

import "encoding/json"

// Small conversions between Go values and the way the schema stores them,
// the same in every table.

// NullIfEmpty stores an optional reference: "" as NULL, so foreign keys
// hold on the rows that have one.
func NullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// JSONList encodes a list of strings for a TEXT column holding a JSON list;
// a nil list is stored as [].
func JSONList(l []string) string {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l) // a []string always encodes
	return string(b)
}

// ParseJSONList reads a column written by JSONList; a value that is not a
// JSON list of strings reads as an empty list.
func ParseJSONList(s string) []string {
	out := []string{}
	if err := json.Unmarshal([]byte(s), &out); err != nil || out == nil {
		return []string{}
	}
	return out
}
