package app_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/web"
)

func openApp(t *testing.T, edit func(*app.Config)) *app.App {
	t.Helper()
	return openAppClock(t, clock.System{}, edit)
}

func openAppClock(t *testing.T, clk clock.Clock, edit func(*app.Config)) *app.App {
	t.Helper()
	cfg := app.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.MetricsToken = "metrics-token"
	if edit != nil {
		edit(&cfg)
	}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// samplePath turns a route pattern into a path it matches.
func samplePath(pattern string) string {
	p := regexp.MustCompile(`\{\$\}`).ReplaceAllString(pattern, "")
	return wildcard.ReplaceAllString(p, "x")
}

// Every route of the wired application, called anonymously, answers with
// exactly the security headers of DESIGN.md, whatever its status; behind TLS
// it adds HSTS. Console and API answers are never cached. (TestRouteWalk checks who may call what.)
func TestEveryRouteSendsTheSecurityHeaders(t *testing.T) {
	for _, behindTLS := range []bool{false, true} {
		a := openApp(t, func(c *app.Config) { c.BehindTLS = behindTLS })
		h := a.Web.Handler()
		routes := a.Web.Router.Routes()
		if len(routes) < 5 {
			t.Fatalf("only %d routes registered", len(routes))
		}
		want := web.SecurityHeaders(behindTLS)
		for _, rt := range routes {
			path := samplePath(rt.Pattern)
			for _, method := range []string{rt.Method, http.MethodGet, http.MethodPost} {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
				res := w.Result()
				for k, v := range want {
					if got := res.Header.Get(k); got != v {
						t.Errorf("%s %s (%d): %s = %q, want %q", method, path, res.StatusCode, k, got, v)
					}
				}
				if !behindTLS && res.Header.Get("Strict-Transport-Security") != "" {
					t.Errorf("%s %s: HSTS over plain HTTP", method, path)
				}
				if res.StatusCode >= 500 {
					t.Errorf("%s %s: %d", method, path, res.StatusCode)
				}
				if private := strings.HasPrefix(path, "/app/") || strings.HasPrefix(path, "/api/"); private && res.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("%s %s: Cache-Control %q, want no-store", method, path, res.Header.Get("Cache-Control"))
				}
			}
		}
	}
}

func TestReadyzAndHealthz(t *testing.T) {
	a := openApp(t, nil)
	h := a.Web.Handler()
	for _, p := range []string{"/healthz", "/readyz"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		if w.Code != 200 {
			t.Errorf("%s: %d %s", p, w.Code, w.Body)
		}
	}
	a.DB.Close()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database closed: %d, want 503", w.Code)
	}
}
