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
