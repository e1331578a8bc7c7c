package app_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/browsertest"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/measure"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/subprocessor"
	"github.com/evident-isms/evident/internal/subscriber"
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
	a := openAppClock(t, clk, func(c *app.Config) { c.CheckAllow = "127.0.0.1/32" }) // the check's target is a local test server
	srv := httptest.NewServer(a.Web.Handler())
	defer srv.Close()

	ctx := context.Background()
	o, err := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	// Its trust center is published, so the public pages answer.
	if err := a.Orgs.SetSettings(ctx, o.ID, org.Settings{PublicSite: true}); err != nil {
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

	controlID := seedControls(t, a, o.ID, u.ID, clk.Now())
	pdfID := seedEvidenceItems(t, a, o.ID, u.ID, controlID, clk.Now())
	checkID := seedCheck(t, a, clk, o.ID, controlID)
	measureID := seedMeasures(t, a, o.ID, controlID)
	subprocessorID := seedSubprocessors(t, a, o.ID)
	seedProfile(t, a, o.ID, pdfID)
	noticeID, unsubscribePath := seedNotices(t, a, o.ID, subprocessorID)
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
		{"frameworks", "/app/o/acme/frameworks"},
		{"framework", "/app/o/acme/frameworks/nist-csf-2.0"},
		{"framework-800-53", "/app/o/acme/frameworks/nist-sp-800-53-r5?baseline=LOW"},
		{"controls", "/app/o/acme/controls"},
		{"controls-filtered", "/app/o/acme/controls?status=implemented"},
		{"control", "/app/o/acme/controls/" + controlID},
		{"posture", "/app/o/acme/posture"},
		{"posture-framework", "/app/o/acme/posture/nist-csf-2.0"},
		{"evidence", "/app/o/acme/evidence"},
		{"evidence-expiring", "/app/o/acme/evidence?expiring=30"},
		{"evidence-control", "/app/o/acme/evidence?control=" + controlID}, // the forms open
		{"evidence-item", "/app/o/acme/evidence/" + pdfID},
		{"evidence-check", "/app/o/acme/evidence/" + checkID},
		{"measures", "/app/o/acme/measures"},
		{"measure", "/app/o/acme/measures/" + measureID},
		{"subprocessors", "/app/o/acme/subprocessors"},
		{"subprocessor", "/app/o/acme/subprocessors/" + subprocessorID},
		{"profile", "/app/o/acme/profile"},
		{"translations", "/app/o/acme/translations/measure/" + measureID},
		{"notices", "/app/o/acme/subprocessors/notices"},
		{"notice", "/app/o/acme/subprocessors/notices/" + noticeID},
		{"subscribers", "/app/o/acme/subscribers"},
		{"public-subprocessors", "/t/acme/subprocessors"},
		{"public-subprocessors-fr", "/t/acme/subprocessors?lang=fr"},
		{"public-unsubscribe", unsubscribePath},
	} {
		t.Run(p.name, func(t *testing.T) { b.Look(t, p.name, srv.URL+p.path) })
	}

	// The pages above take longer than one step's minute: a fresh one.
	bctx = b.Context(t)
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

// seedEvidence stands in for the evidence package: it gives some controls
// evidence so that the pages show every state.
type seedEvidence map[string][]control.EvidenceItem

func (e seedEvidence) ControlEvidence(context.Context, string) (map[string][]control.EvidenceItem, error) {
	return e, nil
}

// seedControls gives an organisation something to look at: CSF 2.0 and
// ISO/IEC 27001 adopted from the library, controls in every state, one of
// its own with an owner, a requirement no control addresses and one not
// applicable. It returns the id of a library control.
func seedControls(t *testing.T, a *app.App, orgID, ownerID string, now time.Time) string {
	t.Helper()
	ctx := context.Background()
	for _, fw := range []string{"nist-csf-2.0", "iso-27001-2022"} {
		if _, err := a.Controls.Adopt(ctx, orgID, fw, control.AdoptOptions{FromLibrary: true, UseMappings: true}); err != nil {
			t.Fatalf("adopt %s: %v", fw, err)
		}
	}
	list, err := a.Controls.List(ctx, orgID, control.ListFilter{})
	if err != nil || len(list) < 20 {
		t.Fatalf("controls after adoption: %d, %v", len(list), err)
	}
	valid, expired := now.AddDate(0, 6, 0), now.AddDate(0, -1, 0)
	evidence := seedEvidence{}
	for i, c := range list {
		in := control.Input{Title: c.Title, Description: c.Description, Status: control.Implemented, Visibility: c.Visibility,
			ReviewIntervalDays: c.ReviewIntervalDays, NextReviewDate: "2027-03-31"}
		switch {
		case i%10 == 9:
			in.Status, in.NextReviewDate = control.Planned, ""
		case i%10 == 8:
			in.Status, in.OwnerID = control.InProgress, ownerID
		case i == 5:
			evidence[c.ID] = []control.EvidenceItem{{Assurance: control.Automated, ValidUntil: valid, Failing: true}}
		case i%10 == 7:
			evidence[c.ID] = []control.EvidenceItem{{Assurance: control.Documented, ValidUntil: expired}}
		case i%10 == 6:
		case i%10 < 3:
			evidence[c.ID] = []control.EvidenceItem{{Assurance: control.Automated, ValidUntil: valid}}
		default:
			evidence[c.ID] = []control.EvidenceItem{{Assurance: control.Documented, ValidUntil: valid}}
		}
		if _, err := a.Controls.Update(ctx, orgID, c.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	a.Controls.SetEvidenceSource(evidence)
	own, err := a.Controls.Create(ctx, orgID, control.Input{Title: "Quarterly access review", OwnerID: ownerID,
		Description: "Managers confirm every quarter who has access to production.", Status: control.Implemented, Visibility: control.Public})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Controls.Link(ctx, orgID, own.ID, "nist-csf-2.0", "PR.AA-05"); err != nil {
		t.Fatal(err)
	}
	linked, err := a.Controls.List(ctx, orgID, control.ListFilter{FrameworkID: "nist-csf-2.0", Ref: "GV.OC-04"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range linked {
		if err := a.Controls.Unlink(ctx, orgID, c.ID, "nist-csf-2.0", "GV.OC-04"); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Controls.SetApplicability(ctx, orgID, "nist-csf-2.0", "GV.SC-10", false,
		"Acme has no suppliers whose contracts end with data to return."); err != nil {
		t.Fatal(err)
	}
	if err := a.Translations.Set(ctx, orgID, "control", list[0].ID, "title", "fr", "Titre en français"); err != nil {
		t.Fatal(err)
	}
	return list[0].ID
}

// seedEvidenceItems gives the evidence pages something to show: an uploaded
// PDF, a link that ends within 30 days, an expired self-attested note, an
// independent attestation and a restricted link, linked to controls. It
// returns the id of the PDF.
func seedEvidenceItems(t *testing.T, a *app.App, orgID, ownerID, controlID string, now time.Time) string {
	t.Helper()
	ctx := context.Background()
	list, err := a.Controls.List(ctx, orgID, control.ListFilter{})
	if err != nil || len(list) < 3 {
		t.Fatalf("controls: %d, %v", len(list), err)
	}
	day := func(years, months, days int) string {
		return now.UTC().AddDate(years, months, days).Format("2006-01-02")
	}
	pdf := []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	file, err := a.Evidence.Upload(ctx, orgID, evidence.Input{Title: "Backup restore test, first quarter",
		Description: "The operations team restored the production database from last night's backup into a clean environment and compared row counts.",
		CollectedOn: day(0, 0, -3), Visibility: evidence.Private, OwnerID: ownerID, ControlIDs: []string{controlID, list[1].ID}},
		"restore-test-q1.pdf", bytes.NewReader(pdf))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []evidence.Input{
		{Kind: evidence.Link, Title: "Access review tickets", URL: "https://tickets.acme.example/queues/access-review",
			CollectedOn: day(-1, 0, 20), Visibility: evidence.Private, ControlIDs: []string{controlID}},
		{Kind: evidence.Note, Title: "Clean desk walk-through", Description: "Walked the office floor: no papers left on desks.",
			CollectedOn: day(0, -4, 0), Visibility: evidence.Private, ControlIDs: []string{list[2].ID}},
		{Kind: evidence.Attestation, Title: "ISO/IEC 27001 certificate of the hosting provider", AttestorName: "Jane Roe",
			AttestorFirm: "Example Certification Ltd", CollectedOn: day(0, -2, 0), Visibility: evidence.Public,
			ControlIDs: []string{controlID, list[2].ID}},
		{Kind: evidence.Link, Title: "Penetration test findings", URL: "https://vault.acme.example/pentest-2026",
			CollectedOn: day(-1, 0, 10), Visibility: evidence.Restricted, ControlIDs: []string{list[1].ID}},
	} {
		if _, err := a.Evidence.Create(ctx, orgID, in); err != nil {
			t.Fatalf("%s: %v", in.Title, err)
		}
	}
	return file.ID
}

// seedCheck adds an automated check of a local site and runs it twice: the
// site is down at first, up five minutes later, so the page shows a failed
// and a passed run and two changes of state. It returns the check's id.
func seedCheck(t *testing.T, a *app.App, clk *clock.Settable, orgID, controlID string) string {
	t.Helper()
	ctx := context.Background()
	var up atomic.Bool
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !up.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("up"))
	}))
	t.Cleanup(site.Close)
	it, err := a.Evidence.CreateCheck(ctx, orgID, evidence.CheckInput{Title: "Status page answers", Kind: "http_up",
		Target: site.URL + "/status", IntervalMinutes: 15, Visibility: evidence.Public, ControlIDs: []string{controlID},
		Description: "The public status page is reachable, so customers learn of incidents."})
	if err != nil {
		t.Fatal(err)
	}
	for _, siteUp := range []bool{false, true} {
		up.Store(siteUp)
		if _, err := a.Evidence.RunCheck(ctx, orgID, it.ID); err != nil {
			t.Fatal(err)
		}
		clk.Advance(5 * time.Minute)
	}
	return it.ID
}

// seedMeasures adds a few technical and organisational measures, one
// linked to a control, and returns the linked one's id.
func seedMeasures(t *testing.T, a *app.App, orgID, controlID string) string {
	t.Helper()
	ctx := context.Background()
	m, err := a.Measures.Create(ctx, orgID, measure.Input{Category: "encryption_in_transit", Title: "TLS 1.2 or newer on every public endpoint",
		Description: "Older protocol versions are refused; certificates renew automatically.", Visibility: control.Public,
		ControlIDs: []string{controlID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []measure.Input{
		{Category: "backups", Title: "Nightly encrypted backups kept 35 days", Visibility: control.Public},
		{Category: measure.Custom, Custom: "Clean desk", Title: "Screens lock after five minutes", Visibility: control.Private},
	} {
		if _, err := a.Measures.Create(ctx, orgID, in); err != nil {
			t.Fatal(err)
		}
	}
	return m.ID
}

// seedSubprocessors adds a subprocessor and a subcontractor of it, and
// returns the first one's id.
func seedSubprocessors(t *testing.T, a *app.App, orgID string) string {
	t.Helper()
	ctx := context.Background()
	host, err := a.Subprocessors.Create(ctx, orgID, subprocessor.Input{Name: "Northwind Hosting", LEI: "529900T8BM49AURSDO55",
		Purpose: "Hosts the application and its database", Function: "Service delivery", Category: "hosting",
		DataCategories: []string{"account data", "contact details"}, ProcessingCountries: []string{"FR", "DE"},
		StorageCountries: []string{"FR"}, TransferMechanism: "not_applicable", DPAStatus: "signed",
		DPAURL: "https://northwind.example/dpa", Website: "https://northwind.example/", Status: "active", Visibility: "public",
		Since: "2024-03-01"}, subprocessor.Terms{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Subprocessors.Create(ctx, orgID, subprocessor.Input{ParentID: host.ID, Name: "Relay Mail Inc.",
		Purpose: "Sends the e-mails of the application", Category: "e-mail", DataCategories: []string{"e-mail addresses"},
		ProcessingCountries: []string{"US"}, StorageCountries: []string{"US"}, TransferMechanism: "scc", DPAStatus: "pending",
		Status: "active", Visibility: "private", Since: "2024-06-10"}, subprocessor.Terms{}); err != nil {
		t.Fatal(err)
	}
	return host.ID
}

// seedNotices changes the public subprocessor on a short notice, with a
// reason, adds a confirmed subscriber who objects to it, and returns the
// notice's id and the subscriber's unsubscribe page.
func seedNotices(t *testing.T, a *app.App, orgID, hostID string) (string, string) {
	t.Helper()
	ctx := context.Background()
	host, err := a.Subprocessors.Get(ctx, orgID, hostID)
	if err != nil {
		t.Fatal(err)
	}
	in := *host
	in.StorageCountries = []string{"DE", "FR"}
	in.Purpose = "Hosts the application, its database and its backups"
	if _, err := a.Subprocessors.Update(ctx, orgID, hostID, in, subprocessor.Terms{
		EffectiveOn: a.Clock.Now().AddDate(0, 0, 7).Format("2006-01-02"), Reason: "The backup region moves before the old one closes"}); err != nil {
		t.Fatal(err)
	}
	notices, err := a.Subprocessors.Notices(ctx, orgID, 1)
	if err != nil || len(notices) == 0 {
		t.Fatalf("notices: %v", err)
	}
	if err := a.Subscribers.Subscribe(ctx, orgID, subscriber.Request{Email: "cto@customer.example", Lang: "en",
		Topics: subscriber.Topics}); err != nil {
		t.Fatal(err)
	}
	subs, err := a.Subscribers.List(ctx, orgID)
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscribers: %v", err)
	}
	if err := a.Subprocessors.Object(ctx, orgID, notices[0].ID, "cto@customer.example",
		"Our contract requires storage in France only."); err != nil {
		t.Fatal(err)
	}
	link := a.Subscribers.UnsubscribeURL("acme", orgID, subs[0].ID)
	return notices[0].ID, link[strings.Index(link, "/t/"):]
}

// seedProfile fills the organisation profile: hosting and security contact,
// one certification of each kind (the ISO one with its report as evidence),
// a roadmap item and two GDPR commitments.
func seedProfile(t *testing.T, a *app.App, orgID, reportID string) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.Profile.Set(ctx, orgID, org.Profile{HostingProvider: "Northwind Hosting", HostingRegions: []string{"Paris", "Frankfurt"},
		Architecture:  "A stateless application in two zones, one managed database with point-in-time recovery.",
		SecurityEmail: "security@acme.example", SecurityURL: "https://acme.example/security",
		OpenPGPKeyURL: "https://acme.example/pgp.asc", DisclosurePolicyURL: "https://acme.example/disclosure",
		PreferredLanguages: []string{"en", "fr"}}); err != nil {
		t.Fatal(err)
	}
	for _, in := range []org.CertificationInput{
		{Kind: org.ISO27001, Name: "ISO/IEC 27001:2022", IssuedOn: "2025-03-01", ExpiresOn: "2028-02-28", Public: true,
			CertificateNumber: "IS 765432", CertificationBody: "BSI", AccreditationBody: "UKAS", Scope: "The Acme platform and its operations",
			SoAVersion: "3.1", RegisterURL: "https://register.example/IS765432", ReportEvidenceID: reportID},
		{Kind: org.SOC2, Name: "SOC 2 Type 2 report", Public: true, SOC2Type: "2", PeriodStart: "2025-01-01", PeriodEnd: "2025-12-31",
			AuditFirm: "Audit & Co", Opinion: "unqualified", Exceptions: 1, CUECs: "Customers review their users' access.",
			CarveOuts: "Northwind Hosting", BridgeLetterUntil: "2026-03-31"},
		{Kind: org.PenTest, Name: "Annual penetration test", Firm: "Red Team Ltd", TestedOn: "2026-05-10",
			Scope: "Web application and API", OpenMedium: 2, OpenLow: 4},
		{Kind: org.Other, Name: "Cyber Essentials Plus", IssuedOn: "2026-01-15", ExpiresOn: "2027-01-14"},
	} {
		if _, err := a.Profile.CreateCertification(ctx, orgID, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Profile.CreateRoadmapItem(ctx, orgID, org.RoadmapInput{Title: "Single sign-on for every customer",
		Description: "SAML and OpenID Connect on every plan.", Target: "2027 Q2", Status: "in_progress", Public: true}); err != nil {
		t.Fatal(err)
	}
	for article, text := range map[string]string{"28": "We process customer data only on documented instructions.",
		"33-34": "Customers hear of a personal data breach within 24 hours."} {
		if err := a.Profile.SetGDPR(ctx, orgID, article, text); err != nil {
			t.Fatal(err)
		}
	}
}
