package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/web"
)

// newServer returns a server with a few test routes beside the instance ones,
// and the log it writes.
func newServer(t *testing.T, edit func(*web.Config)) (*web.Server, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	base, _ := url.Parse("https://trust.example.com")
	cfg := web.Config{
		BaseURL: base, Log: slog.New(slog.NewJSONHandler(&logs, nil)), Clock: clock.System{}, Metrics: web.NewMetrics(),
		MetricsToken: "metrics-secret",
		Ready: func(context.Context) map[string]error {
			return map[string]error{"database": nil, "migrations": errors.New("2 pending")}
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	s := web.NewServer(cfg)
	s.Router.HandleFunc("GET", "/test/panic", identity.Public, func(http.ResponseWriter, *http.Request) { panic("handler bug") })
	s.Router.HandleFunc("GET", "/test/internal", identity.Public, func(w http.ResponseWriter, r *http.Request) {
		web.Error(w, r, apperr.Wrap(errors.New("pq: password=hunter2 refused"), "load"))
	})
	s.Router.HandleFunc("GET", "/api/v1/test/conflict", identity.Public, func(w http.ResponseWriter, r *http.Request) {
		web.Error(w, r, &apperr.Error{Code: apperr.Conflict, Field: "slug", Message: `slug "acme" is taken`})
	})
	s.Router.HandleFunc("POST", "/test/echo", identity.Public, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			web.Error(w, r, err)
			return
		}
		_, _ = w.Write(b)
	})
	s.Router.HandleFunc("GET", "/test/tokens/{token}", identity.Public, func(w http.ResponseWriter, r *http.Request) {})
	return s, &logs
}

func do(t *testing.T, h http.Handler, r *http.Request) *http.Response {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func TestErrorResponses(t *testing.T) {
	s, logs := newServer(t, nil)
	h := s.Handler()
	tests := []struct {
		name        string
		method      string
		path        string
		accept      string
		status      int
		contentType string
		contains    []string
		absent      []string
	}{
		{"404 page", "GET", "/nope", "text/html", 404, "text/html", []string{"Error 404", "There is nothing at this address."}, nil},
		{"404 in French", "GET", "/nope?lang=fr", "text/html", 404, "text/html", []string{"Erreur 404", "Il n’y a rien"}, nil},
		{"404 problem for JSON clients", "GET", "/nope", "application/json", 404, "application/problem+json", []string{`"code":"not_found"`}, nil},
		{"405 with Allow", "DELETE", "/healthz", "text/html", 405, "text/html", []string{"Error 405"}, nil},
		{"panic becomes 500", "GET", "/test/panic", "text/html", 500, "text/html", []string{"An internal error occurred."}, []string{"handler bug"}},
		{"internal error hides its text", "GET", "/test/internal", "text/html", 500, "text/html", []string{"An internal error occurred."}, []string{"hunter2"}},
		{"API conflict as problem", "GET", "/api/v1/test/conflict", "", 409, "application/problem+json", []string{`"field":"slug"`, `is taken`, `"status":409`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			res := do(t, h, r)
			b := body(t, res)
			if res.StatusCode != tt.status || !strings.HasPrefix(res.Header.Get("Content-Type"), tt.contentType) {
				t.Fatalf("status %d %s, want %d %s\n%s", res.StatusCode, res.Header.Get("Content-Type"), tt.status, tt.contentType, b)
			}
			if id := res.Header.Get("X-Request-Id"); id == "" || (res.StatusCode >= 500 && !strings.Contains(b, id)) {
				t.Errorf("request id %q missing from headers or 500 body", id)
			}
			for _, c := range tt.contains {
				if !strings.Contains(b, c) {
					t.Errorf("body lacks %q:\n%s", c, b)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(b, a) {
					t.Errorf("body leaks %q", a)
				}
			}
		})
	}
	if res := do(t, h, httptest.NewRequest("DELETE", "/healthz", nil)); res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow = %q, want GET, HEAD", res.Header.Get("Allow"))
	}
	if !strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), `"msg":"panic"`) {
		t.Error("internal errors and panics must be logged for the operator")
	}
}

func TestBodyLimit(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	small := do(t, h, httptest.NewRequest("POST", "/test/echo", strings.NewReader("hello")))
	if small.StatusCode != 200 || body(t, small) != "hello" {
		t.Fatalf("small body: %d", small.StatusCode)
	}
	big := do(t, h, httptest.NewRequest("POST", "/test/echo", strings.NewReader(strings.Repeat("x", web.DefaultMaxBody+1))))
	if big.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d, want 413", big.StatusCode)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	r := httptest.NewRequest("POST", "/test/echo", strings.NewReader("x"))
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := do(t, h, r); res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d, want 403", res.StatusCode)
	}
	r = httptest.NewRequest("POST", "/test/echo", strings.NewReader("x"))
	r.Header.Set("Origin", "https://trust.example.com") // the base URL, behind a proxy
	r.Host = "10.0.0.5:8080"
	if res := do(t, h, r); res.StatusCode != http.StatusOK {
		t.Fatalf("same-origin POST through a proxy: %d, want 200", res.StatusCode)
	}
}

func TestMetricsNeedTheToken(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	for _, tt := range []struct {
		auth   string
		status int
	}{{"", 401}, {"Bearer wrong", 401}, {"Bearer metrics-secret", 200}} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		res := do(t, h, r)
		if res.StatusCode != tt.status {
			t.Errorf("Authorization %q: %d, want %d", tt.auth, res.StatusCode, tt.status)
		}
		if tt.status == 200 && !strings.Contains(body(t, res), `evident_http_requests_total{route="GET /metrics",status="401"} 2`) {
			t.Error("metrics do not count requests by route pattern and status")
		}
	}
	noToken, _ := newServer(t, func(c *web.Config) { c.MetricsToken = "" })
	if res := do(t, noToken.Handler(), httptest.NewRequest("GET", "/metrics", nil)); res.StatusCode != 404 {
		t.Errorf("without a token /metrics answers %d on the main listener, want 404", res.StatusCode)
	}
	if res := do(t, noToken.MetricsHandler(), httptest.NewRequest("GET", "/metrics", nil)); res.StatusCode != 200 {
		t.Errorf("metrics listener: %d", res.StatusCode)
	}
}

func TestReadyz(t *testing.T) {
	s, _ := newServer(t, nil)
	res := do(t, s.Handler(), httptest.NewRequest("GET", "/readyz", nil))
	var got struct {
		Status string
		Checks map[string]string
	}
	_ = json.NewDecoder(res.Body).Decode(&got)
	if res.StatusCode != 503 || got.Status != "unavailable" || got.Checks["migrations"] != "failing" || got.Checks["database"] != "ok" {
		t.Fatalf("readyz with pending migrations: %d %+v", res.StatusCode, got)
	}
}

func TestLogsCarryThePatternNotThePath(t *testing.T) {
	s, logs := newServer(t, nil)
	do(t, s.Handler(), httptest.NewRequest("GET", "/test/tokens/SECRET-RESET-TOKEN", nil))
	if strings.Contains(logs.String(), "SECRET-RESET-TOKEN") {
		t.Fatal("a token from the path reached the log")
	}
	if !strings.Contains(logs.String(), `"route":"GET /test/tokens/{token}"`) {
		t.Fatalf("log lacks the route pattern:\n%s", logs)
	}
}

func TestLanguageChoice(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	res := do(t, h, httptest.NewRequest("GET", "/?lang=fr", nil))
	if !strings.Contains(body(t, res), `<html lang="fr">`) || len(res.Cookies()) != 1 || res.Cookies()[0].Value != "fr" {
		t.Fatal("?lang=fr did not give a French page and a cookie")
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "lang", Value: "fr"})
	r.Header.Set("Accept-Language", "en")
	if !strings.Contains(body(t, do(t, h, r)), `<html lang="fr">`) {
		t.Fatal("the cookie must win over Accept-Language")
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Language", "fr-BE,fr;q=0.9")
	res = do(t, h, r)
	if !strings.Contains(body(t, res), "Ce serveur") || !strings.Contains(res.Header.Get("Vary"), "Accept-Language") {
		t.Fatal("Accept-Language fr did not give a French page varying on it")
	}
}

func TestHSTSOnlyOverTLS(t *testing.T) {
	plain, _ := newServer(t, nil)
	if h := do(t, plain.Handler(), httptest.NewRequest("GET", "/healthz", nil)).Header.Get("Strict-Transport-Security"); h != "" {
		t.Fatalf("HSTS over plain HTTP: %q", h)
	}
	behind, _ := newServer(t, func(c *web.Config) { c.BehindTLS = true })
	if h := do(t, behind.Handler(), httptest.NewRequest("GET", "/healthz", nil)).Header.Get("Strict-Transport-Security"); h != web.StrictTransport {
		t.Fatalf("HSTS behind TLS: %q", h)
	}
}

func TestStatic(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	res := do(t, h, httptest.NewRequest("GET", "/static/style.css", nil))
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("style.css: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/static/", "/static/nope.css", "/static/templates"} {
		if res := do(t, h, httptest.NewRequest("GET", p, nil)); res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}
}

func TestUnknownPermissionPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("registering a route with an undefined permission must fail at start-up")
		}
	}()
	web.NewRouter().HandleFunc("GET", "/x", identity.Permission("made-up"), func(http.ResponseWriter, *http.Request) {})
}

func TestClientIP(t *testing.T) {
	proxies, err := web.ParseCIDRs("10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote, xff, want string
	}{
		{"direct", "203.0.113.9:5000", "", "203.0.113.9"},
		{"untrusted peer's header ignored", "203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},
		{"trusted proxy", "10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},
		{"spoofed left-most hop ignored", "10.1.2.3:5000", "6.6.6.6, 198.51.100.1", "198.51.100.1"},
		{"chain of proxies", "192.0.2.7:5000", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"garbage hop", "10.1.2.3:5000", "nonsense", "10.1.2.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := web.NewServer(web.Config{Log: slog.New(slog.NewJSONHandler(&logs, nil)), Clock: clock.System{}, TrustedProxies: proxies,
				Ready: func(context.Context) map[string]error { return nil }})
			r := httptest.NewRequest("GET", "/healthz", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			do(t, s.Handler(), r)
			if want := `"client":"` + netip.MustParseAddr(tt.want).String() + `"`; !strings.Contains(logs.String(), want) {
				t.Fatalf("log %s lacks %s", logs.String(), want)
			}
		})
	}
	if _, err := web.ParseCIDRs("10.0.0.0/33"); err == nil {
		t.Error("accepted a bad CIDR")
	}
	mapped, err := web.ParseCIDRs("::ffff:10.0.0.0/104")
	if err != nil || len(mapped) != 1 || mapped[0].String() != "10.0.0.0/8" {
		t.Errorf("IPv4-mapped prefix: %v %v, want 10.0.0.0/8", mapped, err)
	}
}

// The language switcher keeps the page's query (filters, the token of a
// link in an e-mail) and never links to another site.
func TestLanguageSwitcherKeepsTheQuery(t *testing.T) {
	s, _ := newServer(t, nil)
	h := s.Handler()
	for _, tt := range []struct{ target, want string }{
		{"/nothing/here?t=abc.def", "/nothing/here?lang=fr&amp;t=abc.def"},
		{"/nothing?action=member.&lang=en", "/nothing?action=member.&amp;lang=fr"},
		{"//evil.example/x", "/evil.example/x?lang=fr"},
		{"/", "/?lang=fr"},
	} {
		page := body(t, do(t, h, httptest.NewRequest("GET", tt.target, nil)))
		if want := `href="` + tt.want + `" hreflang="fr"`; !strings.Contains(page, want) {
			t.Errorf("%s: no %s in the switcher", tt.target, want)
		}
	}
}

// PostgreSQL refusing a NUL byte the caller sent (in an id, say) is the
// caller's mistake: 400, never 500, on the console as on the API.
func TestInvalidTextIsTheCallersMistake(t *testing.T) {
	refused := apperr.Wrap(fmt.Errorf("get framework: %w", &pgconn.PgError{Code: "22021", Message: "invalid byte sequence for encoding \"UTF8\": 0x00"}), "read framework")
	for _, accept := range []string{"text/html", "application/json"} {
		r := httptest.NewRequest("GET", "/api/v1/frameworks/x", nil)
		r.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		web.Error(w, r, refused)
		if w.Code != http.StatusBadRequest || strings.Contains(w.Body.String(), "0x00") {
			t.Errorf("%s: %d %s", accept, w.Code, w.Body)
		}
	}
	w := httptest.NewRecorder()
	web.Error(w, httptest.NewRequest("GET", "/", nil), apperr.Wrap(&pgconn.PgError{Code: "57014"}, "read"))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("another database error: %d", w.Code)
	}
}
