package check

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// testNow is the runners' clock in tests: certificates and security.txt
// dates are made relative to it, so no test depends on the wall clock.
var testNow = time.Date(2030, 1, 15, 12, 0, 0, 0, time.UTC)

// loopbackGuard lets the tests reach their own servers and nothing else.
func loopbackGuard() *Guard {
	return &Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
}

func testRunner() *Runner {
	return &Runner{
		Guard:   loopbackGuard(),
		Now:     func() time.Time { return testNow },
		Timeout: 5 * time.Second,
	}
}

// expectFailing checks that res ran to the end, that exactly the assertions
// named in failing failed, and that Passed agrees.
func expectFailing(t *testing.T, res Result, failing ...string) {
	t.Helper()
	if res.Error != "" {
		t.Fatalf("Error = %q, want none; assertions %+v", res.Error, res.Assertions)
	}
	if len(res.Assertions) == 0 {
		t.Fatal("no assertion evaluated")
	}
	var got []string
	for _, a := range res.Assertions {
		if !a.Passed {
			got = append(got, a.Name)
		}
		if a.Detail == "" {
			t.Errorf("assertion %s has no detail", a.Name)
		}
	}
	if !slices.Equal(got, failing) {
		t.Errorf("failing assertions = %v, want %v; all: %+v", got, failing, res.Assertions)
	}
	if want := len(failing) == 0; res.Passed != want {
		t.Errorf("Passed = %v, want %v", res.Passed, want)
	}
}

// expectError checks that res stopped with an error mentioning want.
func expectError(t *testing.T, res Result, want string) {
	t.Helper()
	if res.Passed {
		t.Error("Passed = true with an error")
	}
	if !strings.Contains(res.Error, want) {
		t.Errorf("Error = %q, want it to mention %q", res.Error, want)
	}
}

func TestValidateTarget(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", 2100)
	tests := []struct {
		kind, target string
		wantErr      string // "" when valid
	}{
		{KindHTTPHeaders, "https://example.com", ""},
		{KindHTTPHeaders, "https://example.com:8443/path?q=1", ""},
		{KindHTTPHeaders, "HTTPS://Example.COM/", ""},
		{KindHTTPHeaders, "https://[2001:db8::1]/", ""},
		{KindHTTPHeaders, "https://192.0.2.1/", ""},
		{KindHTTPHeaders, "http://example.com", "must start with https://"},
		{KindHTTPHeaders, "ftp://example.com", "must start with https://"},
		{KindHTTPHeaders, "example.com", "must start with https://"},
		{KindHTTPHeaders, "https://user:pw@example.com/", "user name or password"},
		{KindHTTPHeaders, "https://user@example.com/", "user name or password"},
		{KindHTTPHeaders, "https:example.com", "no host"},
		{KindHTTPHeaders, "https:///path", "no host"},
		{KindHTTPHeaders, "https://example.com:0/", "port"},
		{KindHTTPHeaders, "https://example.com:99999/", "port"},
		{KindHTTPHeaders, "https://example.com:/", "port"},
		{KindHTTPHeaders, "https://exa_mple.com/", "not allowed"},
		{KindHTTPHeaders, "https://-bad.com/", "hyphen"},
		{KindHTTPHeaders, "https://café.example/", "xn--"},
		{KindHTTPHeaders, "https://[fe80::1%25eth0]/", "zone"},
		{KindHTTPHeaders, long, "longer than 2048"},
		{KindHTTPHeaders, "", "empty"},
		{KindHTTPHeaders, " https://example.com", "spaces"},
		{KindHTTPUp, "http://example.com/health", ""},
		{KindHTTPUp, "https://example.com/health", ""},
		{KindHTTPUp, "ws://example.com/", "must start with https:// or http://"},
		{KindSecurityTxt, "https://example.com", ""},
		{KindSecurityTxt, "example.com", ""},
		{KindSecurityTxt, "example.com:8443", ""},
		{KindSecurityTxt, "http://example.com", "must start with https://"},
		{KindTLS, "example.com", ""},
		{KindTLS, "example.com:8443", ""},
		{KindTLS, "192.0.2.1", ""},
		{KindTLS, "2001:db8::1", ""},
		{KindTLS, "[2001:db8::1]:443", ""},
		{KindTLS, "https://example.com", "not a URL"},
		{KindTLS, "example.com:https", "port"},
		{KindTLS, "example.com:70000", "port"},
		{KindTLS, "example..com", "1 to 63"},
		{KindTLS, strings.Repeat("a", 64) + ".com", "1 to 63"},
		{KindTLS, "1.2.3.999", "neither a host name nor an IP"},
		{KindDNS, "example.com", ""},
		{KindDNS, "Example.COM.", ""},
		{KindDNS, "mail.example.co.uk", ""},
		{KindDNS, "com", "full domain name"},
		{KindDNS, "https://example.com", "not a URL"},
		{KindDNS, "example.com:53", "not a URL or host:port"},
		{KindDNS, "192.0.2.1", "not an IP address"},
		{KindDNS, "exa mple.com", "not allowed"},
		{KindDNS, strings.Repeat("abcdefghi.", 26) + "com", "not a valid host name"},
		{"ping", "example.com", "unknown check kind"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.target, func(t *testing.T) {
			err := ValidateTarget(tt.kind, tt.target)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %q, want none", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("no error, want one mentioning %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunRefusesBadInput(t *testing.T) {
	r := testRunner()
	res := r.Run(context.Background(), "ping", "example.com")
	expectError(t, res, "unknown check kind")
	res = r.Run(context.Background(), KindHTTPHeaders, "http://example.com")
	expectError(t, res, "invalid target")
}

func TestKindsAreAllRun(t *testing.T) {
	// Every kind must be accepted by ValidateTarget, or Run could never reach it.
	for _, k := range Kinds {
		if err := ValidateTarget(k, "https://example.com"); err != nil && strings.Contains(err.Error(), "unknown check kind") {
			t.Errorf("kind %s is listed but unknown", k)
		}
	}
}
