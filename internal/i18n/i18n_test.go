package i18n_test

import (
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/i18n"
)

// Every catalog has exactly the English keys, with the same verbs.
func TestCatalogsAreComplete(t *testing.T) {
	en := i18n.Keys("en")
	if len(en) == 0 {
		t.Fatal("English catalog is empty")
	}
	for _, lang := range i18n.Codes() {
		if strings.Join(i18n.Keys(lang), ",") != strings.Join(en, ",") {
			t.Errorf("catalog %s does not have the same keys as English", lang)
		}
		for _, k := range en {
			if strings.Count(i18n.T(lang, k), "%") != strings.Count(i18n.T("en", k), "%") {
				t.Errorf("%s %s: format verbs differ from English", lang, k)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		prefs []string
		want  string
	}{
		{nil, "en"},
		{[]string{"fr"}, "fr"},
		{[]string{"", "", "fr-CA,fr;q=0.9,en;q=0.8"}, "fr"},
		{[]string{"de", "", "fr"}, "fr"}, // unsupported choice falls through
		{[]string{"en", "fr"}, "en"},
		{[]string{"!!", "", "da, en-GB;q=0.8"}, "en"},
		{[]string{"", "", "ja"}, "en"},
	}
	for _, tt := range tests {
		if got := i18n.Match(tt.prefs...); got != tt.want {
			t.Errorf("Match(%q) = %s, want %s", tt.prefs, got, tt.want)
		}
	}
}

func TestT(t *testing.T) {
	if got := i18n.T("fr", "error.title", 404); got != "Erreur 404" {
		t.Errorf("got %q", got)
	}
	if got := i18n.T("de", "error.title", 404); got != "Error 404" {
		t.Errorf("unknown language: got %q, want the English text", got)
	}
}
