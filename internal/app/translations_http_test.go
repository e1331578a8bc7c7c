package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/measure"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/subprocessor"
	"github.com/evident-isms/evident/internal/translation"
)

// translatable creates one row of every translatable entity in an
// organisation and returns entity → entity_id.
func translatable(t *testing.T, a *app.App, orgID, name string) map[string]string {
	t.Helper()
	ctx := context.Background()
	ids := map[string]string{"gdpr": "32", "profile": orgID}
	c, err := a.Controls.Create(ctx, orgID, control.Input{Title: "Control of " + name})
	if err != nil {
		t.Fatal(err)
	}
	ids["control"] = c.ID
	m, err := a.Measures.Create(ctx, orgID, measure.Input{Category: "backups", Title: "Measure of " + name})
	if err != nil {
		t.Fatal(err)
	}
	ids["measure"] = m.ID
	it, err := a.Evidence.Create(ctx, orgID, evidence.Input{Kind: evidence.Link, Title: "Evidence of " + name,
		URL: "https://" + name + ".example/evidence", Visibility: evidence.Public})
	if err != nil {
		t.Fatal(err)
	}
	ids["evidence"] = it.ID
	sp, err := a.Subprocessors.Create(ctx, orgID, subprocessor.Input{Name: "Subprocessor of " + name, Purpose: "Hosting"}, subprocessor.Terms{})
	if err != nil {
		t.Fatal(err)
	}
	ids["subprocessor"] = sp.ID
	cert, err := a.Profile.CreateCertification(ctx, orgID, org.CertificationInput{Kind: org.Other, Name: "Certification of " + name})
	if err != nil {
		t.Fatal(err)
	}
	ids["certification"] = cert.ID
	road, err := a.Profile.CreateRoadmapItem(ctx, orgID, org.RoadmapInput{Title: "Roadmap item of " + name})
	if err != nil {
		t.Fatal(err)
	}
	ids["roadmap"] = road.ID
	if err := a.Profile.SetGDPR(ctx, orgID, "32", "Commitment of "+name); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Profile.Set(ctx, orgID, org.Profile{Architecture: "Architecture of " + name}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestTranslationsAPI sets, reads and removes a translation of every entity
// through the API, refuses mistakes with the field at fault, answers 404
// for another organisation's rows and keeps the control endpoints in step.
func TestTranslationsAPI(t *testing.T) {
	a := openApp(t, nil)
	c := newAPIClient(t, a, identity.Manager)
	other, err := a.Orgs.Create(context.Background(), org.CreateInput{Slug: "other", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := translatable(t, a, c.org.ID, "acme"), translatable(t, a, other.ID, "other")

	for _, entity := range translation.Entities() {
		fields, _ := translation.Fields(entity)
		path := "/api/v1/translations/" + entity + "/" + url.PathEscape(mine[entity])
		body := `{"field": "` + fields[0].Name + `", "lang": "fr", "text": "Traduction de ` + entity + `"}`
		if w := c.do("PUT", path, body); w.Code != http.StatusNoContent {
			t.Fatalf("%s: set: %d %s", entity, w.Code, w.Body)
		}
		w := c.do("GET", path, "")
		var got []translation.Translation
		if err := json.Unmarshal(w.Body.Bytes(), &got); w.Code != 200 || err != nil || len(got) != 1 ||
			got[0] != (translation.Translation{Field: fields[0].Name, Lang: "fr", Text: "Traduction de " + entity}) {
			t.Fatalf("%s: list: %d %s", entity, w.Code, w.Body)
		}
		if w := c.do("PUT", path, `{"field": "`+fields[0].Name+`", "lang": "fr", "text": ""}`); w.Code != http.StatusNoContent {
			t.Fatalf("%s: remove: %d %s", entity, w.Code, w.Body)
		}
		if w := c.do("GET", path, ""); w.Code != 200 || strings.TrimSpace(w.Body.String()) != "[]" {
			t.Fatalf("%s: list after removal: %d %s", entity, w.Code, w.Body)
		}
		// Another organisation's row: not found, whether read or written. (A
		// GDPR article is named alike in every organisation: its own.)
		if theirs[entity] == mine[entity] {
			continue
		}
		theirPath := "/api/v1/translations/" + entity + "/" + url.PathEscape(theirs[entity])
		if w := c.do("GET", theirPath, ""); w.Code != http.StatusNotFound {
			t.Errorf("%s: reading other's: %d %s", entity, w.Code, w.Body)
		}
		if w := c.do("PUT", theirPath, body); w.Code != http.StatusNotFound {
			t.Errorf("%s: writing other's: %d %s", entity, w.Code, w.Body)
		}
	}

	measurePath := "/api/v1/translations/measure/" + mine["measure"]
	for _, m := range []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"unknown field", measurePath, `{"field": "category", "lang": "fr", "text": "x"}`, 400, "field"},
		{"too long", measurePath, `{"field": "title", "lang": "fr", "text": "` + strings.Repeat("x", 201) + `"}`, 400, "text"},
		{"unknown language", measurePath, `{"field": "title", "lang": "de", "text": "x"}`, 422, ""},
		{"unknown entity", "/api/v1/translations/invoice/" + mine["measure"], `{"field": "title", "lang": "fr", "text": "x"}`, 422, ""},
	} {
		w := c.do("PUT", m.path, m.body)
		var p struct {
			Field string `json:"field"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		if w.Code != m.status || p.Field != m.field {
			t.Errorf("%s: %d %s", m.name, w.Code, w.Body)
		}
	}

	// A control's own translation routes are gone: the generic ones serve it.
	if w := c.do("GET", "/api/v1/controls/"+mine["control"]+"/translations", ""); w.Code != http.StatusNotFound && w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("old control translation route: %d", w.Code)
	}
}

// TestTranslationsConsole: an editor sees the originals, saves a translation
// and is sent back with a notice; too long a text shows the page again with
// what was typed; a guest reads without forms; the item pages link here.
func TestTranslationsConsole(t *testing.T) {
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
		if _, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: email, Password: walkPassword}, role); err != nil {
			t.Fatal(err)
		}
		if cookies[role], _, err = a.Identity.SignIn(ctx, email, walkPassword, identity.Client{}); err != nil {
			t.Fatal(err)
		}
	}
	editor, guest := cookies[identity.Manager], cookies[identity.Guest]
	ids := translatable(t, a, o.ID, "acme")
	page := "/app/o/acme/translations/subprocessor/" + ids["subprocessor"]

	w := consoleRequest(h, "GET", page, editor, nil)
	if body := w.Body.String(); w.Code != 200 || !strings.Contains(body, "Subprocessor of acme") || !strings.Contains(body, "Hosting") ||
		!strings.Contains(body, `id="tr-purpose-fr"`) || !strings.Contains(body, `id="tr-function-en"`) {
		t.Fatalf("page: %d\n%s", w.Code, body)
	}
	w = consoleRequest(h, "POST", page, editor, url.Values{"field": {"purpose"}, "lang": {"fr"}, "text": {"Hébergement"}})
	if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || loc != page+"?saved=1#tr-purpose-fr" {
		t.Fatalf("save: %d to %q\n%s", w.Code, loc, w.Body)
	}
	if w = consoleRequest(h, "GET", page+"?saved=1", editor, nil); !strings.Contains(w.Body.String(), "Translation saved.") ||
		!strings.Contains(w.Body.String(), ">Hébergement</textarea>") {
		t.Fatalf("after saving: %d\n%s", w.Code, w.Body)
	}
	w = consoleRequest(h, "POST", page, editor, url.Values{"field": {"function"}, "lang": {"en"}, "text": {"Typed " + strings.Repeat("x", 200)}})
	if body := w.Body.String(); w.Code != http.StatusBadRequest || !strings.Contains(body, `value="Typed x`) ||
		!strings.Contains(body, "at most 200 characters") || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("too long: %d\n%s", w.Code, body)
	}
	w = consoleRequest(h, "GET", page, guest, nil)
	if body := w.Body.String(); w.Code != 200 || strings.Contains(body, "<form method=\"post\" action=\""+page) || !strings.Contains(body, "Hébergement") {
		t.Fatalf("guest page: %d\n%s", w.Code, body)
	}
	if w = consoleRequest(h, "POST", page, guest, url.Values{"field": {"purpose"}, "lang": {"fr"}, "text": {"x"}}); w.Code != http.StatusForbidden {
		t.Fatalf("guest save: %d", w.Code)
	}
	if w = consoleRequest(h, "GET", "/app/o/acme/translations/invoice/"+ids["measure"], editor, nil); w.Code != http.StatusNotFound {
		t.Fatalf("unknown entity: %d", w.Code)
	}

	// Each item page links to its translations.
	for item, link := range map[string]string{
		"/app/o/acme/measures/" + ids["measure"]:           "/app/o/acme/translations/measure/" + ids["measure"],
		"/app/o/acme/subprocessors/" + ids["subprocessor"]: page,
		"/app/o/acme/profile":                              "/app/o/acme/translations/certification/" + ids["certification"],
	} {
		if w := consoleRequest(h, "GET", item, editor, nil); w.Code != 200 || !strings.Contains(w.Body.String(), `href="`+link+`"`) {
			t.Errorf("%s: %d, no link to %s", item, w.Code, link)
		}
	}
	body := consoleRequest(h, "GET", "/app/o/acme/profile", guest, nil).Body.String()
	for _, link := range []string{"/translations/roadmap/" + ids["roadmap"], "/translations/gdpr/32", "/translations/profile/" + o.ID} {
		if !strings.Contains(body, `href="/app/o/acme`+link+`"`) {
			t.Errorf("profile page: no link to %s", link)
		}
	}
	for _, entity := range translation.Entities() {
		if w := consoleRequest(h, "GET", "/app/o/acme/translations/"+entity+"/"+ids[entity], guest, nil); w.Code != 200 {
			t.Errorf("%s page: %d", entity, w.Code)
		}
	}
}
