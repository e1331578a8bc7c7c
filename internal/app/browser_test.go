package app_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/evident-isms/evident/internal/browsertest"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// Every page a visitor can reach without an account, looked at in Chromium:
// screenshots at desktop and phone widths, and no accessibility violation.
func TestPublicPagesInTheBrowser(t *testing.T) {
	b := browsertest.New(t)
	srv := httptest.NewServer(openApp(t, nil).Web.Handler())
	defer srv.Close()
	for _, p := range []struct{ name, path string }{
		{"landing", "/"},
		{"landing-fr", "/?lang=fr"},
		{"not-found", "/no-such-page?lang=en"},
		{"login", "/app/login"},
		{"reset-request", "/app/reset"},
	} {
		t.Run(p.name, func(t *testing.T) { b.Look(t, p.name, srv.URL+p.path) })
	}
}

func totpCode(t *testing.T, uri string, at time.Time) string {
	t.Helper()
	c, err := identity.CodeAt(uri, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A person signs in with their password and a TOTP code, reaches the
// dashboard, looks at every console page, and signs out.
func TestSignInWithTOTPInTheBrowser(t *testing.T) {
	b := browsertest.New(t)
	clk := clock.NewSettable(time.Now())
	a := openAppClock(t, clk, nil)
	srv := httptest.NewServer(a.Web.Handler())
	defer srv.Close()

	ctx := context.Background()
	o, err := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	const email, password = "alice@acme.example", "correct horse battery staple"
	u, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: email, Name: "Alice", Password: password}, identity.Admin)
	if err != nil {
		t.Fatal(err)
	}
	uri, err := a.Identity.BeginTOTP(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Identity.ConfirmTOTP(ctx, u.ID, totpCode(t, uri, clk.Now())); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second) // the enrolment used this step's code

	bctx := b.Context(t)
	err = chromedp.Do(bctx,
		chromedp.Navigate(srv.URL+"/app/o/acme/"), // not signed in: sent to the sign-in page
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("code")),
	)
	if err != nil {
		t.Fatalf("password step: %v", err)
	}
	b.Look(t, "login-2fa", srv.URL+"/app/login/2fa")
	err = chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("code"), totpCode(t, uri, clk.Now())),
		chromedp.Submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("next-title")), // a heading only the dashboard has
	)
	if err != nil {
		t.Fatalf("second factor: %v", err)
	}
	loc, _ := chromedp.Run(bctx, chromedp.Location())
	title, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("main h1")))
	if !strings.HasSuffix(loc, "/app/o/acme/") || title != "Acme" {
		t.Fatalf("after sign-in: at %s with heading %q, want the Acme dashboard", loc, title)
	}

	for _, p := range []struct{ name, path string }{
		{"dashboard", "/app/o/acme/"},
		{"members", "/app/o/acme/members"},
		{"tokens", "/app/o/acme/tokens"},
		{"settings", "/app/o/acme/settings"},
		{"audit", "/app/o/acme/audit"},
		{"audit-filtered", "/app/o/acme/audit?action=membership.&limit=1"},
		{"account", "/app/account"},
		{"account-2fa", "/app/account/2fa"},
		{"organisations", "/app/?all=1"},
	} {
		t.Run(p.name, func(t *testing.T) { b.Look(t, p.name, srv.URL+p.path) })
	}

	err = chromedp.Do(bctx,
		chromedp.Navigate(srv.URL+"/app/o/acme/"),
		chromedp.Click(chromedp.CSS(`form[action="/app/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.Navigate(srv.URL+"/app/o/acme/"),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if loc, _ := chromedp.Run(bctx, chromedp.Location()); !strings.Contains(loc, "/app/login") {
		t.Fatalf("after signing out, the dashboard shows at %s", loc)
	}
}
