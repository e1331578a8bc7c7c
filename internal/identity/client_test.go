package identity

import (
	"net/netip"
	"testing"
)

func TestLimitSubject(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"", "unknown"},
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
	} {
		var c Client
		if tc.ip != "" {
			c.IP = netip.MustParseAddr(tc.ip)
		}
		if got := c.LimitSubject(); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.ip, got, tc.want)
		}
	}
}

// CheckEmail accepts exactly what the mailer can send to.
func TestCheckEmail(t *testing.T) {
	for _, tt := range []struct {
		email string
		ok    bool
	}{
		{"alice@example.com", true},
		{" Alice@Example.com ", true},
		{"élodie@exemple.fr", true},
		{"a..b@example.com", false},
		{"a@@example.com", false},
		{"a@example", false},
		{"Alice <alice@example.com>", false},
		{"nul\x00@example.com", false},
		{"", false},
	} {
		if err := CheckEmail(tt.email); (err == nil) != tt.ok {
			t.Errorf("CheckEmail(%q) = %v, want ok %v", tt.email, err, tt.ok)
		}
	}
}
