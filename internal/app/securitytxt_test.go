package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/org"
)

// /.well-known/security.txt of the organisation published at / follows
// RFC 9116: a contact, an Expires less than a year ahead that moves with the
// date, the canonical address, and the optional fields the profile sets.
// Without a published organisation, or without a contact, there is none.
func TestSecurityTxt(t *testing.T) {
	clk := clock.NewSettable(time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC))
	a := openAppClock(t, clk, func(c *app.Config) { c.BaseURL = "https://trust.example"; c.PublicOrg = "Acme" })
	ctx := context.Background()
	get := func(a *app.App) (int, string, http.Header) {
		w := public(a, "GET", "/.well-known/security.txt", nil, nil)
		return w.Code, w.Body.String(), w.Header()
	}
	if code, _, _ := get(a); code != http.StatusNotFound {
		t.Fatalf("before the organisation exists: %d", code)
	}
	o, err := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := get(a); code != http.StatusNotFound {
		t.Fatalf("without a security contact: %d", code)
	}
	if err := a.Orgs.SetSettings(ctx, o.ID, org.Settings{PublicSite: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Profile.Set(ctx, o.ID, org.Profile{SecurityEmail: "security@acme.example", SecurityURL: "https://acme.example/security",
		OpenPGPKeyURL: "https://acme.example/pgp.asc", DisclosurePolicyURL: "https://acme.example/disclosure",
		AcknowledgementsURL: "https://acme.example/thanks", PreferredLanguages: []string{"en", "fr"}}); err != nil {
		t.Fatal(err)
	}
	// A contact is published with the trust center, not before.
	if err := a.Orgs.SetSettings(ctx, o.ID, org.Settings{PublicSite: false}); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := get(a); code != http.StatusNotFound {
		t.Fatalf("unpublished: %d", code)
	}
	if err := a.Orgs.SetSettings(ctx, o.ID, org.Settings{PublicSite: true}); err != nil {
		t.Fatal(err)
	}
	code, body, h := get(a)
	want := "Contact: mailto:security@acme.example\nContact: https://acme.example/security\nExpires: 2027-05-22T00:00:00Z\n" +
		"Encryption: https://acme.example/pgp.asc\nAcknowledgments: https://acme.example/thanks\nPreferred-Languages: en, fr\n" +
		"Canonical: https://trust.example/.well-known/security.txt\nPolicy: https://acme.example/disclosure\n"
	if code != http.StatusOK || body != want || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; charset=utf-8") {
		t.Fatalf("security.txt: %d %q\n%s", code, h.Get("Content-Type"), body)
	}
	// It renews itself: a month later, Expires is a month later.
	clk.Advance(30 * 24 * time.Hour)
	if _, body, _ := get(a); !strings.Contains(body, "Expires: 2027-06-21T00:00:00Z\n") {
		t.Fatalf("a month later:\n%s", body)
	}
	other := openApp(t, nil)
	if code, _, _ := get(other); code != http.StatusNotFound {
		t.Fatalf("without --public-org: %d", code)
	}
	cfg := app.Defaults()
	cfg.DataDir, cfg.PublicOrg = t.TempDir(), "no way"
	if _, err := app.Open(ctx, cfg, nil, clk); err == nil || !strings.Contains(err.Error(), "--public-org") {
		t.Fatalf("a malformed --public-org: %v", err)
	}
}
