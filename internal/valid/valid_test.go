package valid

import (
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/apperr"
)

func TestText(t *testing.T) {
	for _, tt := range []struct {
		v        string
		max      int
		required bool
		ok       bool
	}{
		{"Hosting", 10, true, true},
		{"", 10, true, false},
		{"", 10, false, true},
		{strings.Repeat("é", 10), 10, true, true},
		{strings.Repeat("é", 11), 10, true, false},
		{"two\nlines\tand a tab", 100, true, true},
		{"nul\x00byte", 100, false, false},
		{"bell\a", 100, false, false},
		{"\xff", 100, false, false},
	} {
		err := Text("f", tt.v, tt.max, tt.required)
		if (err == nil) != tt.ok || err != nil && apperr.FieldOf(err) != "f" {
			t.Errorf("Text(%q, %d, %v) = %v, want ok %v", tt.v, tt.max, tt.required, err, tt.ok)
		}
	}
}

func TestURL(t *testing.T) {
	for _, tt := range []struct {
		v             string
		httpsOnly, ok bool
	}{
		{"", true, true},
		{"https://example.com/dpa", true, true},
		{"http://example.com/dpa", true, false},
		{"http://example.com/dpa", false, true},
		{"javascript:alert(1)", false, false},
		{"https://", false, false},
		{"https://exa mple.com", false, false},
		{"https://example.com/\x00", false, false},
		{"https://example.com/" + strings.Repeat("a", MaxURL), false, false},
		{"/relative", false, false},
	} {
		if err := URL("u", tt.v, tt.httpsOnly); (err == nil) != tt.ok {
			t.Errorf("URL(%q, https only %v) = %v, want ok %v", tt.v, tt.httpsOnly, err, tt.ok)
		}
	}
}
