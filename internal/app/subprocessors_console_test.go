package app_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// The subprocessors console: an editor adds one through the form and lands
// on its page; a bad country code shows the form again with what was typed;
// the Art. 30 register downloads as an attachment; guests change nothing.
func TestSubprocessorsConsole(t *testing.T) {
	a := openApp(t, nil)
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
	values := url.Values{"name": {"Northwind Hosting"}, "purpose": {"Hosts the application"}, "category": {"hosting"},
		"data_categories": {"contact details\naccount data"}, "processing_countries": {"fr, de"}, "storage_countries": {"FR"},
		"transfer_mechanism": {"not_applicable"}, "dpa_status": {"signed"}, "status": {"active"}, "visibility": {"public"},
		"since": {"2025-01-15"}, "parent_id": {""}}

	w := consoleRequest(h, "POST", "/app/o/acme/subprocessors", editor, values)
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !regexp.MustCompile(`^/app/o/acme/subprocessors/[0-9A-Za-z_-]+$`).MatchString(loc) {
		t.Fatalf("create: %d to %q, want 303 to the item page\n%s", w.Code, loc, w.Body)
	}
	w = consoleRequest(h, "GET", loc, editor, nil)
	for _, want := range []string{"Northwind Hosting", "Hosts the application", "DE", "contact details", "2025-01-15"} {
		if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("item page: %d, no %q", w.Code, want)
		}
	}
	if w = consoleRequest(h, "GET", "/app/o/acme/subprocessors", editor, nil); w.Code != 200 || !strings.Contains(w.Body.String(), loc) {
		t.Errorf("list: %d, no link to %s", w.Code, loc)
	}

	// A bad country: the list page again, 400, with what was typed.
	bad := url.Values{}
	for k, v := range values {
		bad[k] = v
	}
	bad.Set("name", "Typed Mail Relay")
	bad.Set("processing_countries", "France")
	w = consoleRequest(h, "POST", "/app/o/acme/subprocessors", editor, bad)
	if body := w.Body.String(); w.Code != http.StatusBadRequest || !strings.Contains(body, `value="Typed Mail Relay"`) ||
		!strings.Contains(body, "country code") {
		t.Errorf("bad country: %d, want 400 with the typed name and the message\n%s", w.Code, body)
	}

	// The Art. 30 register: an attachment naming the subprocessor.
	w = consoleRequest(h, "GET", "/app/o/acme/subprocessors/register-art30.csv", cookies[identity.Guest], nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment") || !strings.Contains(w.Body.String(), "Northwind Hosting") {
		t.Errorf("register: %d %q %q\n%s", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"), w.Body)
	}

	// A subcontractor: its parent cannot go while it is there.
	child := url.Values{"name": {"Relay Mail"}, "purpose": {"Sends e-mail"}, "parent_id": {strings.TrimPrefix(loc, "/app/o/acme/subprocessors/")}}
	if w = consoleRequest(h, "POST", "/app/o/acme/subprocessors", editor, child); w.Code != http.StatusSeeOther {
		t.Fatalf("create the subcontractor: %d\n%s", w.Code, w.Body)
	}
	if w = consoleRequest(h, "GET", "/app/o/acme/subprocessors", editor, nil); !strings.Contains(w.Body.String(), "subcontractor of Northwind Hosting") {
		t.Errorf("list: the subcontractor does not show its parent")
	}
	w = consoleRequest(h, "POST", loc+"/delete", editor, url.Values{"confirm": {"yes"}})
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "subcontractors") {
		t.Errorf("delete a parent: %d, want 409 with the reason", w.Code)
	}

	// Guests read but do not change.
	if w = consoleRequest(h, "POST", "/app/o/acme/subprocessors", cookies[identity.Guest], values); w.Code != http.StatusForbidden {
		t.Errorf("guest create: %d, want 403", w.Code)
	}
	if w = consoleRequest(h, "POST", loc+"/delete", cookies[identity.Guest], url.Values{"confirm": {"yes"}}); w.Code != http.StatusForbidden {
		t.Errorf("guest delete: %d, want 403", w.Code)
	}
}
