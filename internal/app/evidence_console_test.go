package app_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

var consolePDF = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// consoleUpload posts a multipart upload as the console's form sends it:
// the fields first, then the file.
func consoleUpload(h http.Handler, cookie string, fields [][2]string, filename string, content []byte) *httptest.ResponseRecorder {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		_ = mw.WriteField(f[0], f[1])
	}
	fw, _ := mw.CreateFormFile("file", filename)
	_, _ = fw.Write(content)
	_ = mw.Close()
	r := httptest.NewRequest("POST", "/app/o/acme/evidence/upload", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.AddCookie(&http.Cookie{Name: "evident_session", Value: cookie})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// consoleRequest sends a console request with a session cookie; a form
// body when values is not nil.
func consoleRequest(h http.Handler, method, path, cookie string, values url.Values) *httptest.ResponseRecorder {
	var r *http.Request
	if values != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(values.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.AddCookie(&http.Cookie{Name: "evident_session", Value: cookie})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// The evidence console: an editor uploads a PDF linked to a control and
// lands on its page, which the list and the control page show; a web page
// named .pdf and a file over the limit are refused on the list page; the
// download is an attachment with the bytes; links are added, edited and
// deleted; guests change nothing and members do not see restricted items.
func TestEvidenceConsole(t *testing.T) {
	a := openApp(t, func(c *app.Config) { c.MaxUploadMB = 1 })
	h := a.Web.Handler()
	ctx := context.Background()
	o, err := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	cookies := map[identity.Role]string{}
	for _, role := range []identity.Role{identity.Manager, identity.Member, identity.Guest} {
		email := string(role) + "@acme.example"
		if _, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: email, Name: "Acme " + string(role), Password: walkPassword}, role); err != nil {
			t.Fatal(err)
		}
		if cookies[role], _, err = a.Identity.SignIn(ctx, email, walkPassword, identity.Client{}); err != nil {
			t.Fatal(err)
		}
	}
	editor := cookies[identity.Manager]
	ctl, err := a.Controls.Create(ctx, o.ID, control.Input{Title: "Nightly backups", Status: control.Implemented})
	if err != nil {
		t.Fatal(err)
	}

	// Upload: fields first, then the file; 303 to the new item's page.
	w := consoleUpload(h, editor, [][2]string{{"title", "Backup restore test"}, {"description", "Restored last night's backup."},
		{"visibility", "private"}, {"control_ids", ctl.ID}}, "restore-report.pdf", consolePDF)
	itemPath := regexp.MustCompile(`^/app/o/acme/evidence/[0-9A-Za-z_-]+$`)
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !itemPath.MatchString(loc) {
		t.Fatalf("upload: %d to %q, want 303 to the item page\n%s", w.Code, loc, w.Body)
	}
	w = consoleRequest(h, "GET", loc, editor, nil)
	body := w.Body.String()
	for _, want := range []string{"Backup restore test", "Collected (as stated)", "Uploaded", "restore-report.pdf", loc + "/file",
		"Nightly backups", "/app/o/acme/controls/" + ctl.ID, "documented", "current until"} {
		if !strings.Contains(body, want) {
			t.Errorf("item page: %d, no %q", w.Code, want)
		}
	}
	if w = consoleRequest(h, "GET", "/app/o/acme/evidence", editor, nil); w.Code != 200 || !strings.Contains(w.Body.String(), loc) {
		t.Errorf("list: %d, no link to %s", w.Code, loc)
	}
	if !strings.Contains(w.Body.String(), `enctype="multipart/form-data"`) {
		t.Errorf("list: no upload form for an editor")
	}
	w = consoleRequest(h, "GET", "/app/o/acme/controls/"+ctl.ID, editor, nil)
	if body := w.Body.String(); w.Code != 200 || !strings.Contains(body, loc) || !strings.Contains(body, "/app/o/acme/evidence?control="+ctl.ID) {
		t.Errorf("control page: %d, without the item or the link to add evidence", w.Code)
	}
	if w = consoleRequest(h, "GET", "/app/o/acme/evidence?control="+ctl.ID, editor, nil); w.Code != 200 ||
		!strings.Contains(w.Body.String(), `<option value="`+ctl.ID+`" selected>`) {
		t.Errorf("list for a control: %d, the control is not chosen in the forms", w.Code)
	}

	// Download: an attachment with the stored type and the bytes.
	w = consoleRequest(h, "GET", loc+"/file", cookies[identity.Guest], nil)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), consolePDF) {
		t.Fatalf("download: %d, %d bytes", w.Code, w.Body.Len())
	}
	if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename=restore-report.pdf` {
		t.Errorf("download Content-Disposition %q", cd)
	}
	if ct, nosniff := w.Header().Get("Content-Type"), w.Header().Get("X-Content-Type-Options"); ct != "application/pdf" || nosniff != "nosniff" {
		t.Errorf("download Content-Type %q, X-Content-Type-Options %q", ct, nosniff)
	}

	// A web page named .pdf: 400, the list again with the message.
	w = consoleUpload(h, editor, [][2]string{{"title", "Not a PDF"}}, "report.pdf", []byte("<!doctype html><html><script>alert(1)</script></html>"))
	if body := w.Body.String(); w.Code != http.StatusBadRequest || !strings.Contains(body, "the file is HTML") || !strings.Contains(body, "<h1>Evidence</h1>") {
		t.Errorf("HTML named .pdf: %d\n%s", w.Code, body)
	}
	// What was typed stays in the form, which is open; the file is chosen again.
	w = consoleUpload(h, editor, [][2]string{{"title", "Firewall rules export"}, {"description", "Exported from the edge firewall."},
		{"collected_on", "2024-01-02"}, {"visibility", "public"}, {"control_ids", ctl.ID}}, "rules.pdf", []byte("<html><body>rules</body></html>"))
	body = w.Body.String()
	for _, want := range []string{`id="upload-title" name="title" required maxlength="200" value="Firewall rules export"`,
		"Exported from the edge firewall.</textarea>", `value="2024-01-02"`, `<option value="public" selected>public</option>`,
		`<option value="` + ctl.ID + `" selected>`, "Choose the file again"} {
		if w.Code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("refused upload: %d, the form lacks %q", w.Code, want)
		}
	}
	// Over the limit: 413, the list again with the message.
	big := append(append([]byte{}, consolePDF...), bytes.Repeat([]byte("x"), 3<<19)...)
	w = consoleUpload(h, editor, [][2]string{{"title", "Too big"}}, "big.pdf", big)
	if body := w.Body.String(); w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than 1 MB") || !strings.Contains(body, "<h1>Evidence</h1>") {
		t.Errorf("over the limit: %d\n%s", w.Code, body)
	}
	// Fields after the file are not read: the title is missing.
	if w = consoleUpload(h, editor, nil, "late.pdf", consolePDF); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "title") {
		t.Errorf("upload without a title: %d", w.Code)
	}
	if list, _ := a.Evidence.List(ctx, o.ID, evidence.Filter{}, evidence.Reader{Restricted: true}); len(list) != 1 {
		t.Errorf("%d items after the refused uploads, want 1", len(list))
	}

	// A link: added, refused without its URL, edited, deleted after confirmation.
	w = consoleRequest(h, "POST", "/app/o/acme/evidence", editor, url.Values{"kind": {"link"}, "title": {"Backup policy"}, "visibility": {"private"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "a link needs a URL") || !strings.Contains(w.Body.String(), `value="Backup policy"`) {
		t.Errorf("link without a URL: %d", w.Code)
	}
	w = consoleRequest(h, "POST", "/app/o/acme/evidence", editor, url.Values{"kind": {"link"}, "title": {"Backup policy"},
		"url": {"https://wiki.acme.example/backups"}, "visibility": {"restricted"}, "control_ids": {ctl.ID}})
	link := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !itemPath.MatchString(link) {
		t.Fatalf("add a link: %d %q\n%s", w.Code, link, w.Body)
	}
	w = consoleRequest(h, "POST", link, editor, url.Values{"title": {"Backup policy v2"}, "url": {"https://wiki.acme.example/backups-v2"},
		"visibility": {"restricted"}, "valid_until": {"2999-01-01"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "at most 12 months") {
		t.Errorf("edit beyond the cap: %d", w.Code)
	}
	w = consoleRequest(h, "POST", link, editor, url.Values{"title": {"Backup policy v2"}, "url": {"https://wiki.acme.example/backups-v2"},
		"visibility": {"restricted"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != link {
		t.Errorf("edit: %d %q", w.Code, w.Header().Get("Location"))
	}
	if body := consoleRequest(h, "GET", link, editor, nil).Body.String(); !strings.Contains(body, "Backup policy v2") ||
		!strings.Contains(body, "https://wiki.acme.example/backups-v2") || !strings.Contains(body, "linked to no control") {
		t.Errorf("the edited link's page does not show the edit")
	}
	// Restricted: not found for members, listed for managers only.
	if w = consoleRequest(h, "GET", link, cookies[identity.Member], nil); w.Code != http.StatusNotFound {
		t.Errorf("member reading a restricted item: %d, want 404", w.Code)
	}
	if w = consoleRequest(h, "GET", "/app/o/acme/evidence", cookies[identity.Member], nil); strings.Contains(w.Body.String(), "Backup policy") {
		t.Errorf("the member's list shows the restricted item")
	}
	// Guests read but change nothing.
	if w = consoleRequest(h, "GET", "/app/o/acme/evidence", cookies[identity.Guest], nil); w.Code != 200 || strings.Contains(w.Body.String(), `enctype="multipart/form-data"`) {
		t.Errorf("guest list: %d, or with the upload form", w.Code)
	}
	if w = consoleUpload(h, cookies[identity.Guest], [][2]string{{"title", "By a guest"}}, "guest.pdf", consolePDF); w.Code != http.StatusForbidden {
		t.Errorf("guest upload: %d, want 403", w.Code)
	}
	if w = consoleRequest(h, "POST", "/app/o/acme/evidence", cookies[identity.Guest], url.Values{"kind": {"note"}, "title": {"x"}}); w.Code != http.StatusForbidden {
		t.Errorf("guest adds a note: %d, want 403", w.Code)
	}
	if w = consoleRequest(h, "POST", loc+"/delete", cookies[identity.Guest], url.Values{"confirm": {"on"}}); w.Code != http.StatusForbidden {
		t.Errorf("guest deletes: %d, want 403", w.Code)
	}
	// Delete needs the confirmation.
	if w = consoleRequest(h, "POST", link+"/delete", editor, url.Values{}); w.Code != http.StatusBadRequest {
		t.Errorf("delete without confirmation: %d", w.Code)
	}
	if w = consoleRequest(h, "POST", link+"/delete", editor, url.Values{"confirm": {"on"}}); w.Code != http.StatusSeeOther ||
		w.Header().Get("Location") != "/app/o/acme/evidence" {
		t.Errorf("delete: %d %q", w.Code, w.Header().Get("Location"))
	}
	if w = consoleRequest(h, "GET", link, editor, nil); w.Code != http.StatusNotFound {
		t.Errorf("deleted item: %d, want 404", w.Code)
	}
	// Filters: a bad window is the user's mistake.
	if w = consoleRequest(h, "GET", "/app/o/acme/evidence?expiring=1000", editor, nil); w.Code != http.StatusBadRequest {
		t.Errorf("expiring=1000: %d, want 400", w.Code)
	}
	if w = consoleRequest(h, "GET", "/app/o/acme/evidence?expired=1", editor, nil); w.Code != 200 || strings.Contains(w.Body.String(), loc) {
		t.Errorf("expired=1: %d, or lists a current item", w.Code)
	}
}

// The console's automated checks: an editor adds one against a server the
// operator allows, runs it now and sees it passing with its run; a bad
// target is shown again with the message; guests add none; a pushed check
// has no "Run now" and says how results come.
func TestEvidenceConsoleChecks(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("up")) }))
	defer site.Close()
	a := openApp(t, func(c *app.Config) { c.CheckAllow = "127.0.0.1/32" })
	h := a.Web.Handler()
	ctx := context.Background()
	o, err := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	cookies := map[identity.Role]string{}
	for _, role := range []identity.Role{identity.Manager, identity.Guest} {
		email := string(role) + "@acme.example"
		if _, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: email, Name: "Acme " + string(role), Password: walkPassword}, role); err != nil {
			t.Fatal(err)
		}
		if cookies[role], _, err = a.Identity.SignIn(ctx, email, walkPassword, identity.Client{}); err != nil {
			t.Fatal(err)
		}
	}
	editor := cookies[identity.Manager]
	ctl, err := a.Controls.Create(ctx, o.ID, control.Input{Title: "Status page", Status: control.Implemented})
	if err != nil {
		t.Fatal(err)
	}

	// The list offers the form to editors only.
	if body := consoleRequest(h, "GET", "/app/o/acme/evidence", editor, nil).Body.String(); !strings.Contains(body, "Add an automated check") ||
		!strings.Contains(body, `action="/app/o/acme/evidence/checks"`) {
		t.Errorf("list: no check form for an editor")
	}
	if body := consoleRequest(h, "GET", "/app/o/acme/evidence", cookies[identity.Guest], nil).Body.String(); strings.Contains(body, "/evidence/checks") {
		t.Errorf("list: a guest sees the check form")
	}

	// Created: 303 to its page, which says its first run is queued.
	w := consoleRequest(h, "POST", "/app/o/acme/evidence/checks", editor, url.Values{"check_kind": {"http_up"}, "target": {site.URL + "/"},
		"title": {"Status page answers"}, "interval_minutes": {"5"}, "visibility": {"private"}, "control_ids": {ctl.ID}})
	item := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !regexp.MustCompile(`^/app/o/acme/evidence/[0-9A-Za-z_-]+$`).MatchString(item) {
		t.Fatalf("create a check: %d to %q\n%s", w.Code, item, w.Body)
	}
	body := consoleRequest(h, "GET", item, editor, nil).Body.String()
	for _, want := range []string{"Status page answers", "first run is queued", "pending", site.URL + "/", "every 5 minutes",
		"<code>status_ok</code>", `action="` + item + `/run"`, "Run now", "No run yet.", "/app/o/acme/controls/" + ctl.ID} {
		if !strings.Contains(body, want) {
			t.Errorf("new check's page: no %q", want)
		}
	}
	if body := consoleRequest(h, "GET", item, cookies[identity.Guest], nil).Body.String(); strings.Contains(body, "Run now") {
		t.Errorf("a guest sees Run now")
	}

	// Run now: 303 back; passing, with the run in the table.
	if w = consoleRequest(h, "POST", item+"/run", editor, url.Values{}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != item {
		t.Fatalf("run now: %d to %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	body = consoleRequest(h, "GET", item, editor, nil).Body.String()
	for _, want := range []string{`<span class="state st-verified">`, "passing", `<table class="runs" aria-labelledby="runs-title">`,
		`<span class="run-result r-passed">`, "changed", "all assertions passed"} {
		if !strings.Contains(body, want) {
			t.Errorf("page after the run: no %q", want)
		}
	}
	if strings.Contains(body, "first run is queued") {
		t.Errorf("page after the run still says the first run is queued")
	}
	if w = consoleRequest(h, "POST", item+"/run", cookies[identity.Guest], url.Values{}); w.Code != http.StatusForbidden {
		t.Errorf("guest runs the check: %d, want 403", w.Code)
	}

	// A bad target: 400, the list again with the message and what was typed.
	w = consoleRequest(h, "POST", "/app/o/acme/evidence/checks", editor, url.Values{"check_kind": {"http_up"}, "target": {"ftp://x"},
		"title": {"FTP up"}, "interval_minutes": {"30"}, "visibility": {"private"}})
	body = w.Body.String()
	for _, want := range []string{"the URL must start with https:// or http://", `value="ftp://x"`, `value="FTP up"`, `value="30"`,
		`<details class="card" open>`, "<h1>Evidence</h1>"} {
		if w.Code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("bad target: %d, no %q", w.Code, want)
		}
	}
	if w = consoleRequest(h, "POST", "/app/o/acme/evidence/checks", editor, url.Values{"check_kind": {"tls"}, "target": {"example.com"},
		"interval_minutes": {"often"}}); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "number of minutes") {
		t.Errorf("interval not a number: %d", w.Code)
	}
	// Guests add no check.
	if w = consoleRequest(h, "POST", "/app/o/acme/evidence/checks", cookies[identity.Guest], url.Values{"check_kind": {"http_up"},
		"target": {site.URL + "/"}}); w.Code != http.StatusForbidden {
		t.Errorf("guest adds a check: %d, want 403", w.Code)
	}

	// A pushed check: no button, the way results come; running it is refused.
	res, err := a.Evidence.Push(ctx, o.ID, evidence.PushInput{Check: "dependency-scan", Passed: false, Summary: "2 critical"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pushed := "/app/o/acme/evidence/" + res.Check.ID
	body = consoleRequest(h, "GET", pushed, editor, nil).Body.String()
	for _, want := range []string{"POST /api/v1/evidence/push", "evidence:push", "failing", "2 critical", `<span class="run-result r-failed">`} {
		if !strings.Contains(body, want) {
			t.Errorf("pushed check's page: no %q", want)
		}
	}
	if strings.Contains(body, "Run now") {
		t.Errorf("pushed check's page offers Run now")
	}
	if w = consoleRequest(h, "POST", pushed+"/run", editor, url.Values{}); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Evident does not run it") {
		t.Errorf("run a pushed check: %d", w.Code)
	}
}
