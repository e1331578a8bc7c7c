package check

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// tlsRunner is a test runner that trusts srv's certificate.
func tlsRunner(srv *httptest.Server) *Runner {
	r := testRunner()
	r.RootCAs = x509.NewCertPool()
	r.RootCAs.AddCert(srv.Certificate())
	return r
}

var goodHeaders = map[string]string{
	"Strict-Transport-Security": "max-age=31536000; includeSubDomains",
	"Content-Security-Policy":   "default-src 'self'",
	"X-Frame-Options":           "DENY",
	"X-Content-Type-Options":    "nosniff",
	"Referrer-Policy":           "strict-origin-when-cross-origin",
}

func TestHTTPHeadersCheck(t *testing.T) {
	tests := []struct {
		name    string
		change  map[string]string // "" removes the header
		failing []string
	}{
		{"all good", nil, nil},
		{"HSTS exactly six months", map[string]string{"Strict-Transport-Security": "max-age=15768000"}, nil},
		{"HSTS quoted max-age", map[string]string{"Strict-Transport-Security": `max-age="31536000"; preload`}, nil},
		{"frame-ancestors instead of X-Frame-Options",
			map[string]string{"X-Frame-Options": "", "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'"}, nil},
		{"SAMEORIGIN in lower case", map[string]string{"X-Frame-Options": "sameorigin"}, nil},
		{"referrer list ending in a safe policy", map[string]string{"Referrer-Policy": "unsafe-url, no-referrer"}, nil},
		{"referrer list with an unknown last value", map[string]string{"Referrer-Policy": "same-origin, future-policy"}, nil},

		{"no HSTS", map[string]string{"Strict-Transport-Security": ""}, []string{"hsts_max_age"}},
		{"HSTS one hour", map[string]string{"Strict-Transport-Security": "max-age=3600"}, []string{"hsts_max_age"}},
		{"HSTS without max-age", map[string]string{"Strict-Transport-Security": "includeSubDomains"}, []string{"hsts_max_age"}},
		{"HSTS garbage max-age", map[string]string{"Strict-Transport-Security": "max-age=soon"}, []string{"hsts_max_age"}},
		{"no CSP", map[string]string{"Content-Security-Policy": ""}, []string{"csp_present"}},
		{"blank CSP", map[string]string{"Content-Security-Policy": "   "}, []string{"csp_present"}},
		{"no frame protection", map[string]string{"X-Frame-Options": ""}, []string{"frame_protection"}},
		{"X-Frame-Options ALLOWALL", map[string]string{"X-Frame-Options": "ALLOWALL"}, []string{"frame_protection"}},
		{"frame-ancestors *",
			map[string]string{"X-Frame-Options": "", "Content-Security-Policy": "default-src 'self'; frame-ancestors *"},
			[]string{"frame_protection"}},
		{"no nosniff", map[string]string{"X-Content-Type-Options": ""}, []string{"content_type_nosniff"}},
		{"wrong nosniff", map[string]string{"X-Content-Type-Options": "sniff"}, []string{"content_type_nosniff"}},
		{"no Referrer-Policy", map[string]string{"Referrer-Policy": ""}, []string{"referrer_policy"}},
		{"Referrer-Policy unsafe-url", map[string]string{"Referrer-Policy": "unsafe-url"}, []string{"referrer_policy"}},
		{"Referrer-Policy no-referrer-when-downgrade",
			map[string]string{"Referrer-Policy": "no-referrer-when-downgrade"}, []string{"referrer_policy"}},
		{"Referrer-Policy unknown", map[string]string{"Referrer-Policy": "everything"}, []string{"referrer_policy"}},
		{"nothing at all", map[string]string{
			"Strict-Transport-Security": "", "Content-Security-Policy": "", "X-Frame-Options": "",
			"X-Content-Type-Options": "", "Referrer-Policy": "",
		}, []string{"hsts_max_age", "csp_present", "frame_protection", "content_type_nosniff", "referrer_policy"}},
	}
	cases := map[string]map[string]string{}
	for i, tt := range tests {
		h := map[string]string{}
		for k, v := range goodHeaders {
			h[k] = v
		}
		for k, v := range tt.change {
			h[k] = v
		}
		cases[fmt.Sprintf("/%d", i)] = h
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range cases[r.URL.Path] {
			if v != "" {
				w.Header().Set(k, v)
			}
		}
		fmt.Fprintln(w, "hello")
	}))
	defer srv.Close()

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tlsRunner(srv).Run(context.Background(), KindHTTPHeaders, fmt.Sprintf("%s/%d", srv.URL, i))
			expectFailing(t, res, tt.failing...)
			if res.Measured["status"] != "200" {
				t.Errorf("measured status %q", res.Measured["status"])
			}
		})
	}
}

func TestHTTPHeadersDetail(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=3600")
	}))
	defer srv.Close()
	res := tlsRunner(srv).Run(context.Background(), KindHTTPHeaders, srv.URL)
	want := Assertion{"hsts_max_age", false, "max-age=3600 is under six months (15768000 s)"}
	if len(res.Assertions) == 0 || res.Assertions[0] != want {
		t.Fatalf("first assertion %+v, want %+v", res.Assertions, want)
	}
}

func TestHTTPHeadersRedirectToPlainHTTP(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range goodHeaders {
			w.Header().Set(k, v)
		}
	}))
	defer plain.Close()
	srv := httptest.NewTLSServer(http.RedirectHandler(plain.URL, http.StatusFound))
	defer srv.Close()
	res := tlsRunner(srv).Run(context.Background(), KindHTTPHeaders, srv.URL)
	expectFailing(t, res, "hsts_max_age")
	if res.Measured["final_url"] != plain.URL {
		t.Errorf("final_url %q, want %q", res.Measured["final_url"], plain.URL)
	}
}

func TestHTTPHeadersErrors(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	}))
	// The untrusted-certificate case makes the server log a handshake error.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()

	r := tlsRunner(srv)
	expectError(t, r.Run(context.Background(), KindHTTPHeaders, srv.URL), "refused to connect to 169.254.169.254")

	// The test server's certificate is not trusted without RootCAs.
	r.RootCAs = nil
	expectError(t, r.Run(context.Background(), KindHTTPHeaders, srv.URL), "certificate")
}

func TestHTTPUpCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			fmt.Fprintln(w, "ok")
		case "/down":
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		case "/missing":
			http.NotFound(w, r)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
		case "/not-modified":
			w.WriteHeader(http.StatusNotModified)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/metadata":
			http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
		case "/big":
			// More than the 1 MiB a check reads.
			w.Write([]byte(strings.Repeat("x", 3<<20)))
		case "/slow":
			time.Sleep(time.Second)
		}
	}))
	defer srv.Close()

	tests := []struct {
		path     string
		status   string
		passed   bool
		errorHas string
	}{
		{"/ok", "200", true, ""},
		{"/moved", "200", true, ""},
		{"/not-modified", "304", true, ""},
		{"/big", "200", true, ""},
		{"/down", "503", false, ""},
		{"/missing", "404", false, ""},
		{"/loop", "", false, "stopped after 5 redirects"},
		{"/metadata", "", false, "refused to connect to 169.254.169.254"},
		{"/slow", "", false, "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := testRunner()
			r.Timeout = 500 * time.Millisecond
			r.Now = nil // the duration is measured on the wall clock
			res := r.Run(context.Background(), KindHTTPUp, srv.URL+tt.path)
			if tt.errorHas != "" {
				expectError(t, res, tt.errorHas)
				return
			}
			if tt.passed {
				expectFailing(t, res)
			} else {
				expectFailing(t, res, "status_ok")
			}
			if res.Measured["status"] != tt.status {
				t.Errorf("measured status %q, want %q", res.Measured["status"], tt.status)
			}
			if res.Measured["duration_ms"] == "" {
				t.Error("no duration measured")
			}
		})
	}
}

func TestSecurityTxtCheck(t *testing.T) {
	future := testNow.Add(180 * 24 * time.Hour).Format(time.RFC3339)
	past := testNow.Add(-24 * time.Hour).Format(time.RFC3339)
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		hostOnly    bool // target given as host:port instead of the site URL
		failing     []string
	}{
		{"good", 200, "text/plain; charset=utf-8",
			"# our policy\nContact: mailto:security@example.com\nExpires: " + future + "\n", false, nil},
		{"good, host as target", 200, "text/plain",
			"Contact: https://example.com/report\r\nExpires: " + future + "\r\n", true, nil},
		{"good, signed", 200, "text/plain",
			"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nContact: mailto:s@example.com\nExpires: " + future +
				"\n-----BEGIN PGP SIGNATURE-----\n\niHUEARYIAB0WIQ\n-----END PGP SIGNATURE-----\n", false, nil},
		{"expired", 200, "text/plain", "Contact: mailto:s@example.com\nExpires: " + past + "\n", false, []string{"expires"}},
		{"Expires not RFC 3339", 200, "text/plain", "Contact: mailto:s@example.com\nExpires: next year\n", false, []string{"expires"}},
		{"two Expires", 200, "text/plain",
			"Contact: mailto:s@example.com\nExpires: " + future + "\nExpires: " + future + "\n", false, []string{"expires"}},
		{"no Expires", 200, "text/plain", "Contact: mailto:s@example.com\n", false, []string{"expires"}},
		{"no Contact", 200, "text/plain", "Expires: " + future + "\n", false, []string{"contact"}},
		{"Contact only in a comment", 200, "text/plain",
			"# Contact: mailto:s@example.com\nExpires: " + future + "\n", false, []string{"contact"}},
		{"served as HTML", 200, "text/html",
			"Contact: mailto:s@example.com\nExpires: " + future + "\n", false, []string{"content_type"}},
		{"404", 404, "text/plain", "not found", false, []string{"status_ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/.well-known/security.txt" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			target := srv.URL + "/some/page"
			if tt.hostOnly {
				target = strings.TrimPrefix(srv.URL, "https://")
			}
			res := tlsRunner(srv).Run(context.Background(), KindSecurityTxt, target)
			expectFailing(t, res, tt.failing...)
		})
	}
}

func TestSecurityTxtURL(t *testing.T) {
	tests := []struct{ target, want string }{
		{"https://example.com", "https://example.com/.well-known/security.txt"},
		{"https://example.com:8443/a/b?c", "https://example.com:8443/.well-known/security.txt"},
		{"example.com", "https://example.com/.well-known/security.txt"},
		{"example.com:8443", "https://example.com:8443/.well-known/security.txt"},
		{"2001:db8::1", "https://[2001:db8::1]/.well-known/security.txt"},
		{"[2001:db8::1]:8443", "https://[2001:db8::1]:8443/.well-known/security.txt"},
	}
	for _, tt := range tests {
		if got := securityTxtURL(tt.target); got != tt.want {
			t.Errorf("securityTxtURL(%q) = %q, want %q", tt.target, got, tt.want)
		}
	}
}
