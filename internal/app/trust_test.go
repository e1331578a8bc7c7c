package app_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/measure"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/subprocessor"
	"github.com/evident-isms/evident/internal/trust"
)

// privateStrings are the titles and texts of the trust center fixture's
// non-public items: no public URL may show any of them.
var privateStrings = []string{"PRIVATE-CONTROL", "PRIVATE-EVIDENCE", "PRIVATE-MEASURE", "PRIVATE-SUBPROCESSOR",
	"PRIVATE-CERT", "PRIVATE-ROADMAP", "PRIVATE-CHECK", "private-target.invalid", "PRIVATE-DESCRIPTION", "Jane Roe"}

// trustFixture is an organisation with public and private items of every
// kind the trust center shows.
type trustFixture struct {
	org          *org.Org
	publicCtl    string
	privateCtl   string
	expiringCtl  string
	plannedCtl   string
	restrictedID string
	publicFileID string
	privateIDs   []string
}

func seedTrustCenter(t *testing.T, a *app.App, now time.Time) trustFixture {
	t.Helper()
	ctx := context.Background()
	o, err := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme Mail", TimeZone: "Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Orgs.SetSettings(ctx, o.ID, org.Settings{PublicSite: true}); err != nil {
		t.Fatal(err)
	}
	if o, err = a.Orgs.ByID(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	f := trustFixture{org: o}
	if _, err := a.Controls.Adopt(ctx, o.ID, "nist-csf-2.0", control.AdoptOptions{}); err != nil {
		t.Fatal(err)
	}
	day := func(d time.Time) string { return d.In(o.Location()).Format("2006-01-02") }
	mustControl := func(in control.Input, refs ...string) string {
		c, err := a.Controls.Create(ctx, o.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range refs {
			if err := a.Controls.Link(ctx, o.ID, c.ID, "nist-csf-2.0", ref); err != nil {
				t.Fatal(err)
			}
		}
		return c.ID
	}
	mustEvidence := func(in evidence.Input) string {
		it, err := a.Evidence.Create(ctx, o.ID, in)
		if err != nil {
			t.Fatalf("%s: %v", in.Title, err)
		}
		return it.ID
	}
	f.publicCtl = mustControl(control.Input{Title: "Multi-factor sign-in for staff", Description: "Every employee signs in with a second factor.",
		Status: control.Implemented, Visibility: control.Public}, "PR.AA-03")
	f.privateCtl = mustControl(control.Input{Title: "PRIVATE-CONTROL payroll vault", Description: "PRIVATE-DESCRIPTION of the vault",
		Status: control.Implemented, Visibility: control.Private}, "PR.AA-03", "PR.DS-01")
	f.plannedCtl = mustControl(control.Input{Title: "Asset inventory in the CMDB", Status: control.Planned, Visibility: control.Public}, "ID.AM-01")
	f.expiringCtl = mustControl(control.Input{Title: "Encrypted laptops", Status: control.Implemented, Visibility: control.Public}, "PR.DS-02")
	if err := a.Controls.SetApplicability(ctx, o.ID, "nist-csf-2.0", "GV.SC-10", false,
		"Acme Mail ends no supplier contract with data to return."); err != nil {
		t.Fatal(err)
	}
	mustEvidence(evidence.Input{Kind: evidence.Link, Title: "MFA enforcement policy in the identity provider",
		URL: "https://idp.acme.example/policies/mfa", CollectedOn: day(now), Visibility: evidence.Public, ControlIDs: []string{f.publicCtl}})
	mustEvidence(evidence.Input{Kind: evidence.Attestation, Title: "Independent review of the sign-in set-up", AttestorName: "Jane Roe",
		AttestorFirm: "Example Audit LLP", CollectedOn: day(now), Visibility: evidence.Public, ControlIDs: []string{f.publicCtl}})
	f.privateIDs = append(f.privateIDs, mustEvidence(evidence.Input{Kind: evidence.Note, Title: "PRIVATE-EVIDENCE ledger export",
		Description: "PRIVATE-DESCRIPTION", CollectedOn: day(now), Visibility: evidence.Private, ControlIDs: []string{f.privateCtl, f.publicCtl}}))
	// Current for two more days: collected a year ago, less two days.
	mustEvidence(evidence.Input{Kind: evidence.Link, Title: "Disk encryption report", URL: "https://mdm.acme.example/reports/fde",
		CollectedOn: day(now.AddDate(-1, 0, 2)), Visibility: evidence.Public, ControlIDs: []string{f.expiringCtl}})
	pdf := []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	restricted, err := a.Evidence.Upload(ctx, o.ID, evidence.Input{Title: "Penetration test report 2026", CollectedOn: day(now),
		Visibility: evidence.Restricted, ControlIDs: []string{f.publicCtl}}, "pentest.pdf", bytes.NewReader(pdf))
	if err != nil {
		t.Fatal(err)
	}
	f.restrictedID = restricted.ID
	publicFile, err := a.Evidence.Upload(ctx, o.ID, evidence.Input{Title: "Security whitepaper", CollectedOn: day(now),
		Visibility: evidence.Public, ControlIDs: []string{f.publicCtl}}, "whitepaper.pdf", bytes.NewReader(pdf))
	if err != nil {
		t.Fatal(err)
	}
	f.publicFileID = publicFile.ID
	privateFile, err := a.Evidence.Upload(ctx, o.ID, evidence.Input{Title: "PRIVATE-EVIDENCE board minutes", CollectedOn: day(now),
		Visibility: evidence.Private, ControlIDs: []string{f.privateCtl}}, "minutes.pdf", bytes.NewReader(pdf))
	if err != nil {
		t.Fatal(err)
	}
	f.privateIDs = append(f.privateIDs, privateFile.ID)
	chk, err := a.Evidence.CreateCheck(ctx, o.ID, evidence.CheckInput{Title: "PRIVATE-CHECK of the vault", Kind: "http_up",
		Target: "https://private-target.invalid/health", IntervalMinutes: 60, Visibility: evidence.Private, ControlIDs: []string{f.privateCtl}})
	if err != nil {
		t.Fatal(err)
	}
	f.privateIDs = append(f.privateIDs, chk.ID)
	for _, in := range []measure.Input{
		{Category: "authentication", Title: "Second factor for every account", Visibility: control.Public, ControlIDs: []string{f.publicCtl, f.privateCtl}},
		{Category: "backups", Title: "PRIVATE-MEASURE tape rotation", Visibility: control.Private},
	} {
		if _, err := a.Measures.Create(ctx, o.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range []subprocessor.Input{
		{Name: "Cloudy Hosting SAS", Purpose: "Hosting of the service", Category: "hosting", ProcessingCountries: []string{"FR"},
			StorageCountries: []string{"FR"}, TransferMechanism: "not_applicable", DPAStatus: "signed", Status: "active", Visibility: "public"},
		{Name: "PRIVATE-SUBPROCESSOR Inc", Purpose: "PRIVATE-DESCRIPTION", Category: "analytics", ProcessingCountries: []string{"US"},
			StorageCountries: []string{"US"}, TransferMechanism: "scc", DPAStatus: "signed", Status: "active", Visibility: "private"},
	} {
		if _, err := a.Subprocessors.Create(ctx, o.ID, in, subprocessor.Terms{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Profile.Set(ctx, o.ID, org.Profile{HostingProvider: "Cloudy Hosting", HostingRegions: []string{"Paris, France"},
		Architecture: "Three availability zones.", SecurityEmail: "security@acme.example", PreferredLanguages: []string{"en", "fr"}}); err != nil {
		t.Fatal(err)
	}
	for _, in := range []org.CertificationInput{
		{Kind: org.ISO27001, Name: "ISO/IEC 27001:2022", IssuedOn: day(now.AddDate(-1, 0, 0)), ExpiresOn: day(now.AddDate(2, 0, 0)),
			CertificateNumber: "IS 123456", CertificationBody: "Example Certification Ltd", Public: true, ReportEvidenceID: restricted.ID},
		{Kind: org.Other, Name: "PRIVATE-CERT draft", Public: false},
	} {
		if _, err := a.Profile.CreateCertification(ctx, o.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range []org.RoadmapInput{
		{Title: "Single sign-on for customers", Target: "2027 Q2", Public: true},
		{Title: "PRIVATE-ROADMAP acquisition", Public: false},
	} {
		if _, err := a.Profile.CreateRoadmapItem(ctx, o.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Profile.SetGDPR(ctx, o.ID, "32", "Encryption in transit and at rest, access on a need-to-know basis."); err != nil {
		t.Fatal(err)
	}
	if err := a.Translations.Set(ctx, o.ID, "control", f.publicCtl, "title", "fr", "Connexion multifacteur du personnel"); err != nil {
		t.Fatal(err)
	}
	return f
}

// publicURLs are every page, feed and document a visitor can reach.
func (f trustFixture) publicURLs() []string {
	var out []string
	for _, base := range []string{"/t/acme", ""} {
		for _, p := range []string{"/", "/controls", "/controls/nist-csf-2.0", "/subprocessors", "/measures", "/privacy", "/documents",
			"/contact", "/trust.json", "/subprocessors/notices.atom", "/documents/" + f.restrictedID + "/request"} {
			out = append(out, base+p, base+p+"?lang=fr")
		}
	}
	return append(out, "/.well-known/security.txt")
}

func body(t *testing.T, w interface {
	Result() *http.Response
}) string {
	t.Helper()
	res := w.Result()
	var r io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Every public URL, fetched anonymously, answers and shows none of the
// private items: their titles, descriptions, ids, check targets, the name
// of an attestor. A requirement backed only by a private control shows its
// state and says so.
func TestTrustCenterLeaksNothingPrivate(t *testing.T) {
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	a := openAppClock(t, clk, func(c *app.Config) { c.BaseURL = "https://trust.example"; c.PublicOrg = "acme" })
	f := seedTrustCenter(t, a, clk.Now())
	for _, u := range f.publicURLs() {
		w := public(a, "GET", u, nil, map[string]string{"Accept-Encoding": "gzip"})
		text := body(t, w)
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d\n%.500s", u, w.Code, text)
			continue
		}
		for _, s := range append(privateStrings, f.privateIDs...) {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %q", u, s)
			}
		}
		if strings.Contains(text, f.privateCtl) {
			t.Errorf("%s shows the private control's id", u)
		}
	}
	page := body(t, public(a, "GET", "/t/acme/controls/nist-csf-2.0", nil, nil))
	for _, want := range []string{"Multi-factor sign-in for staff", "Backed by non-public evidence.", "Also backed by non-public evidence.",
		"Acme Mail ends no supplier contract with data to return.", "Example Audit LLP", "Disk encryption report"} {
		if !strings.Contains(page, want) {
			t.Errorf("the framework page lacks %q", want)
		}
	}
	fr := body(t, public(a, "GET", "/t/acme/controls/nist-csf-2.0?lang=fr", nil, nil))
	if !strings.Contains(fr, "Connexion multifacteur du personnel") || !strings.Contains(fr, `lang="fr"`) {
		t.Error("the French page lacks the translated title")
	}
	// The public file downloads as an attachment; the restricted and the
	// private ones are not there.
	if w := public(a, "GET", "/t/acme/"+trust.DownloadPath(f.publicFileID), nil, nil); w.Code != http.StatusOK ||
		!strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment") {
		t.Errorf("public download: %d %q", w.Code, w.Header().Get("Content-Disposition"))
	}
	for _, id := range []string{f.restrictedID, f.privateIDs[1]} {
		if w := public(a, "GET", "/t/acme/"+trust.DownloadPath(id), nil, nil); w.Code != http.StatusNotFound {
			t.Errorf("download of a non-public file: %d", w.Code)
		}
	}
	if w := public(a, "GET", "/t/acme/documents/"+f.privateIDs[1]+"/request", nil, nil); w.Code != http.StatusNotFound {
		t.Errorf("request page of a private file: %d", w.Code)
	}
	// The pages behind e-mailed links answer even when the site is not
	// published, so a link that does not work must not name the organisation.
	for _, u := range []string{"/t/acme/unsubscribe?t=forged", "/t/acme/subscriptions/confirm?t=forged", "/t/acme/notices/x/object?t=forged"} {
		if w := public(a, "GET", u, nil, nil); w.Code != http.StatusNotFound || strings.Contains(body(t, w), "Acme Mail") {
			t.Errorf("%s: %d, or it names the organisation", u, w.Code)
		}
	}
}

// trust.json follows its schema, and every number of the overview can be
// recomputed from it: a framework's counts and each section's are the
// numbers of its requirements in each state.
func TestTrustJSONRecomputes(t *testing.T) {
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	a := openAppClock(t, clk, nil)
	seedTrustCenter(t, a, clk.Now())
	w := public(a, "GET", "/t/acme/trust.json", nil, nil)
	if w.Code != http.StatusOK || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("trust.json: %d %v", w.Code, w.Header())
	}
	var doc any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(trust.Schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("trust.schema.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	c.AssertFormat()
	sch, err := c.Compile("trust.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("trust.json does not follow its schema: %v", err)
	}
	var site trust.Site
	if err := json.Unmarshal(w.Body.Bytes(), &site); err != nil {
		t.Fatal(err)
	}
	if len(site.Frameworks) != 1 {
		t.Fatalf("frameworks: %d", len(site.Frameworks))
	}
	fw := site.Frameworks[0]
	count := func(reqs []trust.Requirement) control.Counts {
		var c control.Counts
		for _, r := range reqs {
			c.Requirements++
			if r.State == control.NotApplicable {
				c.NotApplicable++
				continue
			}
			c.Applicable++
			switch r.State {
			case control.Gap:
				c.Gap++
			case control.Failing:
				c.Failing++
			case control.NotImplemented:
				c.NotImplemented++
			case control.Stale:
				c.Stale++
			case control.Unevidenced:
				c.Unevidenced++
			case control.Evidenced:
				c.Evidenced++
			case control.Verified:
				c.Verified++
			}
		}
		return c
	}
	if got := count(fw.Requirements); got != fw.Counts || fw.Counts.Requirements < 100 {
		t.Errorf("counts %+v, recomputed %+v", fw.Counts, got)
	}
	if fw.Counts.NotApplicable != 1 || fw.Counts.Verified != 0 || fw.Counts.NotImplemented != 1 || fw.Counts.Evidenced != 3 {
		t.Errorf("counts: %+v", fw.Counts)
	}
	for _, sec := range fw.Sections {
		var in []trust.Requirement
		for _, r := range fw.Requirements {
			if r.Section == sec.Ref {
				in = append(in, r)
			}
		}
		if got := count(in); got != sec.Counts {
			t.Errorf("section %s: counts %+v, recomputed %+v", sec.Ref, sec.Counts, got)
		}
	}
	// The overview shows the same headline.
	page := body(t, public(a, "GET", "/t/acme/", nil, nil))
	if want := "3 of " + strconv.Itoa(fw.Counts.Applicable) + " applicable requirements evidenced or verified"; !strings.Contains(page, want) {
		t.Errorf("the overview lacks %q", want)
	}
}

// The render cache: a page is served from memory with an ETag, 304 for a
// visitor who has it, gzip when accepted; a visible change shows at once; an
// evidence item's expiry shows without any write; an unpublished site is
// not found while members preview it.
func TestTrustCenterCache(t *testing.T) {
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	a := openAppClock(t, clk, nil)
	f := seedTrustCenter(t, a, clk.Now())
	ctx := context.Background()
	first := public(a, "GET", "/t/acme/controls/nist-csf-2.0", nil, map[string]string{"Accept-Encoding": "gzip, deflate"})
	etag := first.Header().Get("ETag")
	if first.Code != http.StatusOK || etag == "" || first.Header().Get("Content-Encoding") != "gzip" ||
		!strings.Contains(first.Header().Get("Vary"), "Accept-Language") || !strings.Contains(first.Header().Get("Vary"), "Accept-Encoding") {
		t.Fatalf("first answer: %d %v", first.Code, first.Header())
	}
	if w := public(a, "GET", "/t/acme/controls/nist-csf-2.0", nil, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etag}); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Fatalf("revalidation: %d", w.Code)
	}
	plain := public(a, "GET", "/t/acme/controls/nist-csf-2.0", nil, nil)
	if plain.Header().Get("Content-Encoding") != "" || plain.Header().Get("ETag") == etag || body(t, plain) != body(t, first) {
		t.Fatal("the identity encoding differs from the gzip one")
	}
	// Two days later the laptop evidence is still current; three days later
	// it has expired, and the page says stale without any write.
	rowOf := func(text, title string) string {
		i := strings.Index(text, title)
		if i < 0 {
			t.Fatalf("no %q on the page", title)
		}
		return text[i : i+600]
	}
	clk.Advance(24 * time.Hour)
	if row := rowOf(body(t, public(a, "GET", "/t/acme/controls/nist-csf-2.0", nil, nil)), "Encrypted laptops"); !strings.Contains(row, "st-evidenced") {
		t.Fatalf("a day later: %s", row)
	}
	clk.Advance(3 * 24 * time.Hour)
	if row := rowOf(body(t, public(a, "GET", "/t/acme/controls/nist-csf-2.0", nil, nil)), "Encrypted laptops"); !strings.Contains(row, "st-stale") {
		t.Fatalf("after the expiry: %s", row)
	}
	// A visible change shows at once.
	if _, err := a.Controls.Update(ctx, f.org.ID, f.expiringCtl, control.Input{Title: "Encrypted laptops and phones", Status: control.Implemented,
		Visibility: control.Public}); err != nil {
		t.Fatal(err)
	}
	if text := body(t, public(a, "GET", "/t/acme/controls/nist-csf-2.0", nil, nil)); !strings.Contains(text, "Encrypted laptops and phones") {
		t.Fatal("a renamed control is not shown at once")
	}
	// Unpublished: not found to visitors, previewed by members.
	if err := a.Orgs.SetSettings(ctx, f.org.ID, org.Settings{PublicSite: false}); err != nil {
		t.Fatal(err)
	}
	if w := public(a, "GET", "/t/acme/", nil, nil); w.Code != http.StatusNotFound {
		t.Fatalf("unpublished: %d", w.Code)
	}
	if _, _, err := a.Identity.CreateMember(ctx, f.org.ID, identity.NewUser{Email: "guest@acme.example", Name: "Guest", Password: walkPassword}, identity.Guest); err != nil {
		t.Fatal(err)
	}
	cookie, _, err := a.Identity.SignIn(ctx, "guest@acme.example", walkPassword, identity.Client{})
	if err != nil {
		t.Fatal(err)
	}
	w := consoleRequest(a.Web.Handler(), "GET", "/app/o/acme/preview/controls/nist-csf-2.0", cookie, nil)
	if text := body(t, w); w.Code != http.StatusOK || !strings.Contains(text, "not published yet") || strings.Contains(text, "PRIVATE-CONTROL") {
		t.Fatalf("preview: %d", w.Code)
	}
	if w := public(a, "GET", "/app/o/acme/preview/", nil, nil); w.Code == http.StatusOK {
		t.Fatal("an anonymous visitor sees the preview")
	}
}

// A visitor asks for a restricted document from the trust center: the
// request is kept for the admins and the visitor is thanked; a mistake is
// answered in the visitor's language with the form kept; a private file
// cannot be asked for.
func TestAccessRequestFromTheTrustCenter(t *testing.T) {
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	a := openAppClock(t, clk, nil)
	f := seedTrustCenter(t, a, clk.Now())
	path := "/t/acme/documents/" + f.restrictedID + "/request"
	form := url.Values{"name": {"Carla CISO"}, "email": {"carla@customer.example"}, "company": {"Customer Ltd"}, "reason": {"Vendor review"}}
	w := public(a, "POST", path, form, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != path+"?sent=1" {
		t.Fatalf("request: %d %s", w.Code, w.Header().Get("Location"))
	}
	if text := body(t, public(a, "GET", path+"?sent=1", nil, nil)); !strings.Contains(text, "has received your request") {
		t.Fatal("no thanks after the request")
	}
	list, err := a.Access.List(context.Background(), f.org.ID)
	if err != nil || len(list) != 1 || list[0].EvidenceID != f.restrictedID {
		t.Fatalf("requests: %+v %v", list, err)
	}
	form.Set("email", "not an address")
	w = public(a, "POST", path+"?lang=fr", form, nil)
	if text := body(t, w); w.Code != http.StatusUnprocessableEntity && w.Code != http.StatusBadRequest ||
		!strings.Contains(text, "Indiquez une adresse e-mail") || !strings.Contains(text, "Carla CISO") {
		t.Fatalf("a malformed address: %d\n%.300s", w.Code, text)
	}
	if w := public(a, "POST", "/t/acme/documents/"+f.privateIDs[1]+"/request", form, nil); w.Code != http.StatusNotFound {
		t.Fatalf("a private file: %d", w.Code)
	}
}

// A host name the operator maps serves the organisation's site at its
// root, with its own security.txt naming itself; an unmapped name falls
// back to --public-org, or to nothing.
func TestMappedHostServesTheSite(t *testing.T) {
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	a := openAppClock(t, clk, func(c *app.Config) { c.BaseURL = "https://evident.example" })
	seedTrustCenter(t, a, clk.Now())
	get := func(host, path string) (int, string) {
		r := httptest.NewRequest("GET", path, nil)
		r.Host = host
		w := httptest.NewRecorder()
		a.Web.Handler().ServeHTTP(w, r)
		return w.Code, body(t, w)
	}
	if code, _ := get("trust.acme.example", "/controls"); code != http.StatusNotFound {
		t.Fatalf("before the mapping: %d", code)
	}
	if err := a.Orgs.AddHost(context.Background(), "trust.acme.example", "acme"); err != nil {
		t.Fatal(err)
	}
	code, text := get("Trust.Acme.Example:443", "/")
	if code != http.StatusOK || !strings.Contains(text, "Trust center of Acme Mail") || !strings.Contains(text, `href="/controls/nist-csf-2.0"`) {
		t.Fatalf("the mapped host's overview: %d\n%.300s", code, text)
	}
	if code, text := get("trust.acme.example", "/.well-known/security.txt"); code != http.StatusOK ||
		!strings.Contains(text, "Canonical: https://trust.acme.example/.well-known/security.txt") {
		t.Fatalf("the mapped host's security.txt: %d %s", code, text)
	}
	if code, text := get("evident.example", "/"); code != http.StatusOK || strings.Contains(text, "Acme Mail") {
		t.Fatalf("the instance's own name shows the landing page: %d", code)
	}
}
