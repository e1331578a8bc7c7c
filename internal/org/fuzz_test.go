package org_test

import (
	"regexp"
	"testing"

	"github.com/evident-isms/evident/internal/org"
)

var safeSlug = regexp.MustCompile(`^[a-z0-9-]{3,63}$`)

// Any slug the validator accepts is safe in a URL path and a DNS label once
// normalised.
func FuzzValidateSlug(f *testing.F) {
	for _, seed := range []string{"acme", "ACME", " a-b ", "-ab", "a\u0130b", "ab\n", "xn--caf-dma"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		if org.ValidateSlug(typed) != nil {
			return
		}
		s := org.NormaliseSlug(typed)
		if !safeSlug.MatchString(s) || s[0] == '-' || s[len(s)-1] == '-' {
			t.Fatalf("accepted %q as %q", typed, s)
		}
	})
}
