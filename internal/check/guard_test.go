package check

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		addr     string
		reason   string // substring; "" for a public address
		metadata bool
	}{
		{"93.184.215.14", "", false},
		{"8.8.8.8", "", false},
		{"2606:4700:4700::1111", "", false},
		{"64:ff9b::808:808", "", false}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", "", false},  // 6to4 of 8.8.8.8
		{"100.63.255.255", "", false},   // just below CGNAT
		{"100.128.0.0", "", false},      // just above CGNAT
		{"172.15.255.255", "", false},
		{"172.32.0.0", "", false},
		{"127.0.0.1", "loopback", false},
		{"127.255.255.254", "loopback", false},
		{"::1", "loopback", false},
		{"0.0.0.0", "unspecified", false},
		{"::", "unspecified", false},
		{"0.1.2.3", "this network", false},
		{"10.0.0.1", "private", false},
		{"172.16.0.1", "private", false},
		{"172.31.255.255", "private", false},
		{"192.168.1.1", "private", false},
		{"100.64.0.1", "carrier-grade NAT", false},
		{"169.254.1.1", "link-local", false},
		{"fe80::1", "link-local", false},
		{"169.254.169.254", "metadata", true},
		{"fd00:ec2::254", "metadata", true},
		{"168.63.129.16", "Azure", true},
		{"100.100.100.200", "metadata", true},
		{"fd12:3456::1", "unique local", false},
		{"fc00::1", "unique local", false},
		{"224.0.0.1", "multicast", false},
		{"239.255.255.250", "multicast", false},
		{"ff02::1", "multicast", false},
		{"255.255.255.255", "broadcast", false},
		{"240.0.0.1", "reserved", false},
		{"192.0.2.10", "documentation", false},
		{"198.51.100.10", "documentation", false},
		{"203.0.113.10", "documentation", false},
		{"2001:db8::1", "documentation", false},
		{"3fff::1", "documentation", false},
		{"192.0.0.8", "IETF protocol", false},
		{"198.18.0.1", "benchmarking", false},
		{"::7f00:1", "IPv4-compatible", false},
		{"64:ff9b::a00:1", "translation of 10.0.0.1", false},
		{"64:ff9b::a9fe:a9fe", "translation of 169.254.169.254", true},
		{"2002:7f00:1::1", "translation of 127.0.0.1", false},
		{"64:ff9b:1::1", "NAT64", false},
		{"100::1", "discard", false},
		{"fec0::1", "site-local", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			reason, metadata := classify(netip.MustParseAddr(tt.addr))
			if tt.reason == "" && reason != "" {
				t.Fatalf("refused (%s), want public", reason)
			}
			if !strings.Contains(reason, tt.reason) {
				t.Fatalf("reason %q, want it to mention %q", reason, tt.reason)
			}
			if metadata != tt.metadata {
				t.Fatalf("metadata = %v, want %v", metadata, tt.metadata)
			}
		})
	}
}

func TestGuardCheck(t *testing.T) {
	allow := func(prefixes ...string) *Guard {
		g := &Guard{}
		for _, p := range prefixes {
			g.Allow = append(g.Allow, netip.MustParsePrefix(p))
		}
		return g
	}
	tests := []struct {
		name    string
		guard   *Guard
		addr    string
		allowed bool
	}{
		{"public", nil, "8.8.8.8", true},
		{"loopback without exception", &Guard{}, "127.0.0.1", false},
		{"loopback on a nil guard", nil, "127.0.0.1", false},
		{"IPv4-mapped loopback", &Guard{}, "::ffff:127.0.0.1", false},
		{"IPv4-mapped private", &Guard{}, "::ffff:10.0.0.1", false},
		{"IPv4-mapped metadata", &Guard{}, "::ffff:169.254.169.254", false},
		{"link-local with a zone", &Guard{}, "fe80::1%eth0", false},
		{"allowed loopback", allow("127.0.0.1/32"), "127.0.0.1", true},
		{"allowed loopback, mapped form", allow("127.0.0.1/32"), "::ffff:127.0.0.1", true},
		{"allowed in mapped notation", allow("::ffff:127.0.0.1/128"), "127.0.0.1", true},
		{"other loopback not allowed", allow("127.0.0.1/32"), "127.0.0.2", false},
		{"IPv6 loopback not allowed", allow("127.0.0.1/32"), "::1", false},
		{"allowed private range", allow("10.1.0.0/16"), "10.1.2.3", true},
		{"private outside the allowed range", allow("10.1.0.0/16"), "10.2.0.1", false},
		{"unmasked prefix still matches", allow("10.1.2.3/16"), "10.1.9.9", true},
		{"metadata despite link-local allowed", allow("169.254.0.0/16"), "169.254.169.254", false},
		{"metadata despite exact exception", allow("169.254.169.254/32"), "169.254.169.254", false},
		{"IPv6 metadata despite ULA allowed", allow("fc00::/7"), "fd00:ec2::254", false},
		{"other link-local allowed", allow("169.254.0.0/16"), "169.254.1.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.guard.Check(netip.MustParseAddr(tt.addr))
			if tt.allowed && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.allowed {
				if !errors.Is(err, ErrForbiddenAddress) {
					t.Fatalf("err = %v, want ErrForbiddenAddress", err)
				}
				var ae *AddressError
				if !errors.As(err, &ae) || ae.Reason == "" {
					t.Fatalf("err = %v, want an *AddressError with a reason", err)
				}
			}
		})
	}
}

// listen opens a loopback listener that records whether anything connected.
func listen(t *testing.T) (addr string, connected <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return ln.Addr().String(), ch
}

func TestDialerRefusesBeforeConnecting(t *testing.T) {
	addr, connected := listen(t)
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct {
		name    string
		guard   *Guard
		address string
		allowed bool
	}{
		{"loopback not allowed", &Guard{}, addr, false},
		{"IPv4-mapped loopback not allowed", &Guard{}, "[::ffff:127.0.0.1]:" + port, false},
		{"loopback allowed", loopbackGuard(), addr, true},
		{"IPv4-mapped loopback allowed", loopbackGuard(), "[::ffff:127.0.0.1]:" + port, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tt.guard.Dialer(2*time.Second).DialContext(context.Background(), "tcp", tt.address)
			if tt.allowed {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				conn.Close()
				select {
				case <-connected:
				case <-time.After(2 * time.Second):
					t.Fatal("the listener saw no connection")
				}
				return
			}
			if err == nil {
				conn.Close()
				t.Fatal("dial succeeded, want it refused")
			}
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("err = %v, want ErrForbiddenAddress", err)
			}
			// Had connect(2) run, the kernel would have queued the
			// connection at once and Accept would have returned.
			select {
			case <-connected:
				t.Fatal("the refused address was connected to")
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

func TestHTTPClientRefusesRedirectToForbiddenAddress(t *testing.T) {
	g := loopbackGuard()
	tests := []struct {
		target string
		addr   string // the address the guard must name
	}{
		{"http://10.0.0.1/", "10.0.0.1"},
		{"http://169.254.169.254/latest/meta-data/", "169.254.169.254"},
		{"http://[::ffff:10.0.0.1]/", "10.0.0.1"},
		{"http://127.0.0.2/", "127.0.0.2"}, // loopback, but not the allowed address
	}
	for _, tt := range tests {
		// Nothing may ever be sent to these addresses: should the guard
		// let one through, stop before the client could dial it.
		if g.Check(netip.MustParseAddr(tt.addr)) == nil {
			t.Fatalf("the guard allows %s; not running a test that would dial it", tt.addr)
		}
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			// A proxy from the environment would dial for us; it must be ignored.
			t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, tt.target, http.StatusFound)
			}))
			defer srv.Close()
			resp, err := g.HTTPClient(2 * time.Second).Get(srv.URL)
			if err == nil {
				resp.Body.Close()
				t.Fatal("request succeeded, want the redirect refused")
			}
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("err = %v, want ErrForbiddenAddress", err)
			}
			var ae *AddressError
			if !errors.As(err, &ae) || ae.Addr.String() != tt.addr {
				t.Fatalf("err = %v, want %s named", err, tt.addr)
			}
		})
	}
}

func TestHTTPClientLimitsRedirects(t *testing.T) {
	// /n redirects to /n-1 until /0 answers 200.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if n > 0 {
			http.Redirect(w, r, "/"+strconv.Itoa(n-1), http.StatusFound)
		}
	}))
	defer srv.Close()
	tests := []struct {
		hops    int
		wantErr bool
	}{
		{0, false},
		{MaxRedirects, false},
		{MaxRedirects + 1, true},
	}
	for _, tt := range tests {
		resp, err := loopbackGuard().HTTPClient(2 * time.Second).Get(srv.URL + "/" + strconv.Itoa(tt.hops))
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), "stopped after 5 redirects") {
				t.Errorf("%d redirects: err = %v, want the redirect limit", tt.hops, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%d redirects: %v", tt.hops, err)
			continue
		}
		resp.Body.Close()
	}
}

func TestHTTPClientKeepsNoCookies(t *testing.T) {
	var sentBack atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie("session"); err == nil {
			sentBack.Store(true)
		}
		if r.URL.Path == "/" {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "x"})
			http.Redirect(w, r, "/next", http.StatusFound)
		}
	}))
	defer srv.Close()
	c := loopbackGuard().HTTPClient(2 * time.Second)
	for range 2 {
		resp, err := c.Get(srv.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if sentBack.Load() {
		t.Error("a cookie set by the server was sent back")
	}
}

func TestHTTPClientSettings(t *testing.T) {
	c := (&Guard{}).HTTPClient(time.Second)
	tr := c.Transport.(*http.Transport)
	if tr.Proxy != nil {
		t.Error("the transport takes a proxy from the environment")
	}
	if tr.TLSClientConfig.MinVersion < 0x0303 {
		t.Errorf("TLS minimum %x, want TLS 1.2", tr.TLSClientConfig.MinVersion)
	}
	if c.Jar != nil {
		t.Error("the client keeps cookies")
	}
}
