package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/browsertest"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/webhook"
)

// The webhook pages, looked at in Chromium with a delivery log holding a
// delivered and a dead message: screenshots and no accessibility violation.
func TestWebhookPagesInTheBrowser(t *testing.T) {
	b := browsertest.New(t)
	a := openApp(t, func(c *app.Config) { c.CheckAllow = "127.0.0.1/32"; c.WebhookTries = 1 })
	srv := httptest.NewServer(a.Web.Handler())
	defer srv.Close()
	ctx := context.Background()
	o, err := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	const email = "alice@acme.example"
	if _, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: email, Name: "Alice", Password: walkPassword}, identity.Admin); err != nil {
		t.Fatal(err)
	}
	answers := []int{http.StatusNoContent, http.StatusServiceUnavailable}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := answers[0]
		if len(answers) > 1 {
			answers = answers[1:]
		}
		http.Error(w, "maintenance until 14:00", status)
	}))
	defer receiver.Close()
	e, _, err := a.Webhooks.Create(ctx, o.ID, webhook.Input{URL: receiver.URL + "/evident", Description: "Compliance inbox",
		Topics: webhook.Topics, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := a.Webhooks.SendTest(ctx, o.ID, e.ID); err != nil {
			t.Fatal(err)
		}
		runJobs(t, a)
	}
	if _, _, err := a.Webhooks.Create(ctx, o.ID, webhook.Input{URL: "https://hooks.example.com/paused", Topics: webhook.Topics}); err != nil {
		t.Fatal(err)
	}

	err = chromedp.Do(b.Context(t),
		chromedp.Navigate(srv.URL+"/app/o/acme/webhooks"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), walkPassword),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitReady(chromedp.ID("new-url")),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for _, p := range []struct{ name, path string }{
		{"webhooks", "/app/o/acme/webhooks"},
		{"webhook", "/app/o/acme/webhooks/" + e.ID},
	} {
		t.Run(p.name, func(t *testing.T) { b.Look(t, p.name, srv.URL+p.path) })
	}
}
