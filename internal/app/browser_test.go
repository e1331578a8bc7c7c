package app_test

import (
	"net/http/httptest"
	"testing"

	"github.com/evident-isms/evident/internal/browsertest"
)

// Every page a visitor can reach so far, looked at in Chromium: screenshots
// at desktop and phone widths, and no accessibility violation.
func TestPagesInTheBrowser(t *testing.T) {
	b := browsertest.New(t)
	srv := httptest.NewServer(openApp(t, nil).Web.Handler())
	defer srv.Close()
	for _, p := range []struct{ name, path string }{
		{"landing", "/"},
		{"landing-fr", "/?lang=fr"},
		{"not-found", "/no-such-page?lang=en"},
	} {
		t.Run(p.name, func(t *testing.T) { b.Look(t, p.name, srv.URL+p.path) })
	}
}
