package web_test

import (
	"testing"

	"github.com/evident-isms/evident/internal/web"
)

// --trusted-proxies comes from the operator: parsing must never panic, and
// what it accepts must be canonical prefixes.
func FuzzParseCIDRs(f *testing.F) {
	for _, seed := range []string{"", "10.0.0.0/8", "192.0.2.7, ::1", "::ffff:10.0.0.1/104", "1.2.3.4/33", ",,"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prefixes, err := web.ParseCIDRs(s)
		if err != nil {
			return
		}
		for _, p := range prefixes {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("%q gave non-canonical prefix %v", s, p)
			}
		}
	})
}
