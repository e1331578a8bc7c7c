package keys_test

import (
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/keys"
)

// Keyrings come from the environment and files: parsing must never panic,
// and a parsed ring must round-trip through its own encoding.
func FuzzParseRing(f *testing.F) {
	for _, seed := range []string{"", "a:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "x:y,z", "#c\n\n:", strings.Repeat("A", 44)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := keys.ParseRing(text, "FUZZ")
		if err != nil {
			return
		}
		again, err := keys.ParseRing(r.String(), "FUZZ")
		if err != nil || len(again.Entries) != len(r.Entries) || again.Current().ID != r.Current().ID {
			t.Fatalf("ring %q does not round-trip: %v", text, err)
		}
	})
}
