package app_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/evident-isms/evident/internal/browsertest"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/identity"
)

// The trust center in Chromium. An admin marks a planned control
// implemented and uploads public evidence for it in the console; the public
// page shows its requirement evidenced at once. A year later, with no
// write, the page shows it stale. A private control's title never appears
// while the state of its requirement does, and the French page renders.
// Every public page is looked at (screenshots, axe-core), and so is the
// members' preview.
func TestTrustCenterInTheBrowser(t *testing.T) {
	b := browsertest.New(t)
	clk := clock.NewSettable(time.Now())
	a := openAppClock(t, clk, nil)
	f := seedTrustCenter(t, a, clk.Now())
	ctx := context.Background()
	const email = "admin@acme.example"
	if _, _, err := a.Identity.CreateMember(ctx, f.org.ID, identity.NewUser{Email: email, Name: "Ada Admin", Password: walkPassword}, identity.Admin); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(a.Web.Handler())
	t.Cleanup(ts.Close)
	srv := ts.URL
	inventory := filepath.Join(t.TempDir(), "asset-inventory.pdf")
	if err := os.WriteFile(inventory, []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	row := `article[id="r-ID.AM-01"]`
	bctx := b.Context(t)
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("sign in", chromedp.Navigate(srv+"/app/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), walkPassword),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("next-title")),
		chromedp.Navigate(srv+"/t/acme/controls/nist-csf-2.0"))
	before := text(row)
	do("mark the control implemented", chromedp.Navigate(srv+"/app/o/acme/controls/"+f.plannedCtl),
		chromedp.SetValue(chromedp.ID("edit-status"), "implemented"),
		chromedp.Submit(chromedp.ID("edit-title")),
		chromedp.WaitVisible(`main .st-unevidenced`)) // the saved control, now implemented without evidence
	do("upload evidence", chromedp.Navigate(srv+"/app/o/acme/evidence?control="+f.plannedCtl),
		chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{inventory}),
		chromedp.SendKeys(chromedp.ID("upload-title"), "Asset inventory export"),
		chromedp.SetValue(chromedp.ID("upload-visibility"), "public"),
		chromedp.Submit(chromedp.ID("upload-file")),
		chromedp.WaitVisible(`.evidence-lead`),
		chromedp.Navigate(srv+"/t/acme/controls/nist-csf-2.0"))
	after := text(row)
	if !strings.Contains(before, "not implemented") || !strings.Contains(after, "evidenced") || !strings.Contains(after, "Asset inventory export") {
		t.Fatalf("ID.AM-01 before: %q\nafter: %q", before, after)
	}
	for _, p := range []struct{ name, path string }{
		{"trust-overview", "/t/acme/"},
		{"trust-overview-fr", "/t/acme/?lang=fr"},
		{"trust-controls", "/t/acme/controls"},
		{"trust-framework", "/t/acme/controls/nist-csf-2.0"},
		{"trust-framework-fr", "/t/acme/controls/nist-csf-2.0?lang=fr"},
		{"trust-subprocessors", "/t/acme/subprocessors"},
		{"trust-measures", "/t/acme/measures"},
		{"trust-privacy", "/t/acme/privacy?lang=fr"},
		{"trust-documents", "/t/acme/documents"},
		{"trust-request", "/t/acme/documents/" + f.restrictedID + "/request"},
		{"trust-contact", "/t/acme/contact"},
		{"trust-preview", "/app/o/acme/preview/"},
	} {
		t.Run(p.name, func(t *testing.T) { b.Look(t, p.name, srv+p.path) })
	}

	// A year and a month later, with no write, the evidence has expired.
	clk.Advance(395 * 24 * time.Hour)
	bctx = b.Context(t)
	do("a year later", chromedp.Navigate(srv+"/t/acme/controls/nist-csf-2.0?lang=en")) // the looks above chose French
	stale, private, page := text(row), text(`article[id="r-PR.DS-01"]`), text("main")
	do("in French", chromedp.Navigate(srv+"/t/acme/controls/nist-csf-2.0?lang=fr"))
	french := text("main")
	if !strings.Contains(stale, "stale") {
		t.Fatalf("ID.AM-01 a year later: %q", stale)
	}
	if strings.Contains(page, "PRIVATE-CONTROL") || !strings.Contains(private, "Backed by non-public evidence") ||
		!strings.Contains(private, "stale") {
		t.Fatalf("PR.DS-01, backed by a private control: %q", private)
	}
	if !strings.Contains(french, "Connexion multifacteur du personnel") || !strings.Contains(french, "périmé") {
		t.Fatalf("the French page: %.400q", french)
	}
}
