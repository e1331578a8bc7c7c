package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/access"
	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// accessOrg is an organisation with a member of every role, signed in on
// the console and holding an API token of their role, and one access
// request for a restricted document.
type accessOrg struct {
	org       *org.Org
	cookies   map[identity.Role]string
	tokens    map[identity.Role]string
	requestID string
}

func newAccessOrg(t *testing.T, a *app.App, slug string) *accessOrg {
	t.Helper()
	ctx := context.Background()
	o, err := a.Orgs.Create(ctx, org.CreateInput{Slug: slug, Name: "Org " + slug})
	if err != nil {
		t.Fatal(err)
	}
	ao := &accessOrg{org: o, cookies: map[identity.Role]string{}, tokens: map[identity.Role]string{}}
	for _, role := range identity.Roles {
		email := string(role) + "@" + slug + ".example"
		u, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: email, Name: slug + " " + string(role), Password: walkPassword}, role)
		if err != nil {
			t.Fatal(err)
		}
		if ao.cookies[role], _, err = a.Identity.SignIn(ctx, email, walkPassword, identity.Client{}); err != nil {
			t.Fatal(err)
		}
		if _, ao.tokens[role], err = a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "t", Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := a.Evidence.Create(ctx, o.ID, evidence.Input{Kind: evidence.Note, Title: "Pen test report of " + slug, Visibility: evidence.Restricted})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Access.Request(ctx, o.ID, access.Input{EvidenceID: ev.ID, Name: "Visitor of " + slug, Email: "visitor@customer-of-" + slug + ".example",
		Company: "Customer of " + slug, Reason: "Vendor review", Lang: "fr", Client: "192.0.2.20"}); err != nil {
		t.Fatal(err)
	}
	list, err := a.Access.List(ctx, o.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("requests: %+v %v", list, err)
	}
	ao.requestID = list[0].ID
	return ao
}

func apiRequest(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// The console page lists requests to those who read confidential content;
// those who publish mark them handled and delete them; no one reaches
// another organisation's.
func TestAccessRequestsConsole(t *testing.T) {
	a := openApp(t, nil)
	h := a.Web.Handler()
	acme, other := newAccessOrg(t, a, "acme"), newAccessOrg(t, a, "other")
	page := "/app/o/acme/access-requests"

	for role, want := range map[identity.Role]int{identity.Admin: 200, identity.Manager: 200, identity.Member: 403, identity.Guest: 403} {
		w := consoleRequest(h, "GET", page, acme.cookies[role], nil)
		if w.Code != want {
			t.Errorf("page as %s: %d, want %d", role, w.Code, want)
			continue
		}
		body := w.Body.String()
		if want != 200 {
			if strings.Contains(body, "Visitor of acme") {
				t.Errorf("page as %s shows the request", role)
			}
			continue
		}
		for _, s := range []string{"Visitor of acme", "visitor@customer-of-acme.example", "Customer of acme", "Vendor review",
			"Pen test report of acme", "Français", "1 request, 1 open", "Mark handled", "/access-requests/" + acme.requestID + "/handled"} {
			if !strings.Contains(body, s) {
				t.Errorf("page as %s lacks %q", role, s)
			}
		}
		if strings.Contains(body, "of other") {
			t.Errorf("page as %s shows the other organisation's request", role)
		}
	}

	// Members and guests cannot handle or delete; another organisation's
	// request is not found through acme's pages.
	for _, action := range []string{"handled", "delete"} {
		for _, role := range []identity.Role{identity.Member, identity.Guest} {
			if w := consoleRequest(h, "POST", page+"/"+acme.requestID+"/"+action, acme.cookies[role], nil); w.Code != 403 {
				t.Errorf("%s as %s: %d, want 403", action, role, w.Code)
			}
		}
		if w := consoleRequest(h, "POST", page+"/"+other.requestID+"/"+action, acme.cookies[identity.Admin], nil); w.Code != 404 {
			t.Errorf("%s of another organisation's request: %d, want 404", action, w.Code)
		}
	}

	w := consoleRequest(h, "POST", page+"/"+acme.requestID+"/handled", acme.cookies[identity.Manager], nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != page+"?done=handled" {
		t.Fatalf("mark handled: %d %q", w.Code, w.Header().Get("Location"))
	}
	body := consoleRequest(h, "GET", page+"?done=handled", acme.cookies[identity.Admin], nil).Body.String()
	for _, s := range []string{"Request marked handled.", "1 request, 0 open", "by acme manager"} {
		if !strings.Contains(body, s) {
			t.Errorf("after marking handled, the page lacks %q", s)
		}
	}
	if strings.Contains(body, "/handled\"") {
		t.Errorf("a handled request still offers Mark handled")
	}
	w = consoleRequest(h, "POST", page+"/"+acme.requestID+"/delete", acme.cookies[identity.Admin], nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != page+"?done=deleted" {
		t.Fatalf("delete: %d %q", w.Code, w.Header().Get("Location"))
	}
	body = consoleRequest(h, "GET", page+"?done=deleted", acme.cookies[identity.Admin], nil).Body.String()
	if !strings.Contains(body, "Request deleted.") || strings.Contains(body, "Visitor of acme") || !strings.Contains(body, "No request yet") {
		t.Errorf("after deleting, the page shows:\n%s", body)
	}
	if list, _ := a.Access.List(context.Background(), other.org.ID); len(list) != 1 || list[0].State != access.Open {
		t.Errorf("the other organisation's request changed: %+v", list)
	}
}

// The API: listing needs confidential.read, handling and deleting
// content.publish, as in the console; another organisation's identifiers
// are not found.
func TestAccessRequestsAPI(t *testing.T) {
	a := openApp(t, nil)
	h := a.Web.Handler()
	acme, other := newAccessOrg(t, a, "acme"), newAccessOrg(t, a, "other")
	list := "/api/v1/access-requests"
	one := list + "/" + acme.requestID

	for role, want := range map[identity.Role]int{identity.Admin: 200, identity.Manager: 200, identity.Member: 403, identity.Guest: 403} {
		w := apiRequest(h, "GET", list, acme.tokens[role])
		if w.Code != want {
			t.Errorf("list as %s: %d, want %d\n%s", role, w.Code, want, w.Body)
		}
		if want == 200 {
			var got []access.Request
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got) != 1 || got[0].ID != acme.requestID ||
				got[0].Email != "visitor@customer-of-acme.example" || got[0].EvidenceTitle != "Pen test report of acme" || got[0].State != "open" {
				t.Errorf("list as %s: %v %s", role, err, w.Body)
			}
		}
	}
	for _, role := range []identity.Role{identity.Member, identity.Guest} {
		if w := apiRequest(h, "POST", one+"/handled", acme.tokens[role]); w.Code != 403 {
			t.Errorf("handle as %s: %d, want 403", role, w.Code)
		}
		if w := apiRequest(h, "DELETE", one, acme.tokens[role]); w.Code != 403 {
			t.Errorf("delete as %s: %d, want 403", role, w.Code)
		}
	}
	if w := apiRequest(h, "POST", list+"/"+other.requestID+"/handled", acme.tokens[identity.Admin]); w.Code != 404 {
		t.Errorf("handle another organisation's request: %d, want 404", w.Code)
	}
	if w := apiRequest(h, "DELETE", list+"/"+other.requestID, acme.tokens[identity.Admin]); w.Code != 404 {
		t.Errorf("delete another organisation's request: %d, want 404", w.Code)
	}

	if w := apiRequest(h, "POST", one+"/handled", acme.tokens[identity.Manager]); w.Code != 204 {
		t.Fatalf("handle: %d %s", w.Code, w.Body)
	}
	w := apiRequest(h, "GET", list, acme.tokens[identity.Admin])
	var got []access.Request
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got) != 1 || got[0].State != "handled" || got[0].HandledAt == nil ||
		got[0].HandledBy == "" || got[0].HandledByName != "acme manager" {
		t.Fatalf("after handling: %v %s", err, w.Body)
	}
	if w := apiRequest(h, "DELETE", one, acme.tokens[identity.Manager]); w.Code != 204 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	if w := apiRequest(h, "DELETE", one, acme.tokens[identity.Manager]); w.Code != 404 {
		t.Fatalf("delete again: %d %s", w.Code, w.Body)
	}
	if w := apiRequest(h, "GET", list, acme.tokens[identity.Admin]); w.Code != 200 || strings.TrimSpace(w.Body.String()) != "[]" {
		t.Fatalf("after deleting: %d %s", w.Code, w.Body)
	}
	if got, _ := a.Access.List(context.Background(), other.org.ID); len(got) != 1 || got[0].State != access.Open {
		t.Errorf("the other organisation's request changed: %+v", got)
	}

	// The operations are in the OpenAPI document with their permissions.
	spec := apiRequest(h, "GET", "/api/v1/openapi.json", "").Body.String()
	for _, s := range []string{"list-access-requests", "mark-access-request-handled", "delete-access-request"} {
		if !strings.Contains(spec, s) {
			t.Errorf("the OpenAPI document lacks %s", s)
		}
	}
}
