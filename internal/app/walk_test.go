package app_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/access"
	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/measure"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/subprocessor"
	"github.com/evident-isms/evident/internal/subscriber"
	"github.com/evident-isms/evident/internal/webhook"
)

const walkPassword = "correct horse battery staple"

// tenant is one organisation with a member of every role, each signed in on
// the console and holding an API token of their role, and one of each kind
// of resource a route can name.
type tenant struct {
	org      *org.Org
	cookies  map[identity.Role]string
	tokens   map[identity.Role]string
	params   map[string]string // path wildcard → an identifier of this tenant
	secrets  []string          // strings that must never appear in another tenant's answers
	targetID string
}

func newTenant(t *testing.T, a *app.App, slug string) *tenant {
	t.Helper()
	ctx := context.Background()
	o, err := a.Orgs.Create(ctx, org.CreateInput{Slug: slug, Name: "Org " + slug})
	if err != nil {
		t.Fatal(err)
	}
	tn := &tenant{org: o, cookies: map[identity.Role]string{}, tokens: map[identity.Role]string{}, params: map[string]string{"slug": o.Slug}}
	tn.secrets = append(tn.secrets, o.ID, "Org "+slug)
	client := identity.Client{IP: netip.MustParseAddr("192.0.2.10"), UserAgent: "walk"}
	var admin *identity.User
	for _, role := range identity.Roles {
		email := string(role) + "@" + slug + ".example"
		u, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: email, Name: slug + " " + string(role), Password: walkPassword}, role)
		if err != nil {
			t.Fatal(err)
		}
		if role == identity.Admin {
			admin = u
		}
		cookie, _, err := a.Identity.SignIn(ctx, email, walkPassword, client)
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "walk", Role: role})
		if err != nil {
			t.Fatal(err)
		}
		tn.cookies[role], tn.tokens[role] = cookie, secret
		tn.secrets = append(tn.secrets, email, u.ID)
	}
	// Targets that routes may change or remove, apart from the callers.
	target, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: "target@" + slug + ".example", Password: walkPassword}, identity.Member)
	if err != nil {
		t.Fatal(err)
	}
	_, targetSession, err := a.Identity.SignIn(ctx, "target@"+slug+".example", walkPassword, client)
	if err != nil {
		t.Fatal(err)
	}
	inv, _, err := a.Identity.Invite(ctx, o.ID, o.Name, admin.ID, "invitee@"+slug+".example", identity.Guest)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: target.ID, Name: "target", Role: identity.Member})
	if err != nil {
		t.Fatal(err)
	}
	// A control linked to a requirement of an adopted framework.
	if _, err := a.Controls.Adopt(ctx, o.ID, catalog.CSF20, control.AdoptOptions{}); err != nil {
		t.Fatal(err)
	}
	ctl, err := a.Controls.Create(ctx, o.ID, control.Input{Title: "Control of " + slug, Status: control.Implemented})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Controls.Link(ctx, o.ID, ctl.ID, catalog.CSF20, "GV.OC-01"); err != nil {
		t.Fatal(err)
	}
	tn.params["control"], tn.params["framework"], tn.params["ref"] = ctl.ID, catalog.CSF20, "GV.OC-01"
	tn.secrets = append(tn.secrets, ctl.ID, "Control of "+slug)
	// Restricted evidence: only roles reading confidential content see it.
	ev, err := a.Evidence.Create(ctx, o.ID, evidence.Input{Kind: evidence.Note, Title: "Evidence of " + slug,
		Visibility: evidence.Restricted, ControlIDs: []string{ctl.ID}})
	if err != nil {
		t.Fatal(err)
	}
	tn.params["evidence"] = ev.ID
	ms, err := a.Measures.Create(ctx, o.ID, measure.Input{Category: "backups", Title: "Measure of " + slug, ControlIDs: []string{ctl.ID}})
	if err != nil {
		t.Fatal(err)
	}
	tn.params["measure"] = ms.ID
	tn.params["entity"] = "measure" // translation routes walk with the measure
	sp, err := a.Subprocessors.Create(ctx, o.ID, subprocessor.Input{Name: "Subprocessor of " + slug, Purpose: "hosting"}, subprocessor.Terms{})
	if err != nil {
		t.Fatal(err)
	}
	tn.params["subprocessor"] = sp.ID
	// The public subprocessor gave a change notice; a subscriber follows them.
	notices, err := a.Subprocessors.Notices(ctx, o.ID, 1)
	if err != nil || len(notices) != 1 {
		t.Fatalf("notice of the subprocessor: %v %v", notices, err)
	}
	if err := a.Subscribers.Subscribe(ctx, o.ID, subscriber.Request{Email: "subscriber@" + slug + ".example",
		Topics: subscriber.Topics, Client: client}); err != nil {
		t.Fatal(err)
	}
	subs, err := a.Subscribers.List(ctx, o.ID)
	if err != nil || len(subs) != 1 {
		t.Fatalf("subscriber: %v %v", subs, err)
	}
	tn.params["notice"], tn.params["subscriber"] = notices[0].ID, subs[0].ID
	// A visitor asked for the restricted evidence.
	if err := a.Access.Request(ctx, o.ID, access.Input{EvidenceID: ev.ID, Name: "Visitor of " + slug, Email: "visitor@" + slug + ".example",
		Client: "192.0.2.10"}); err != nil {
		t.Fatal(err)
	}
	reqs, err := a.Access.List(ctx, o.ID)
	if err != nil || len(reqs) != 1 {
		t.Fatalf("access request: %v %v", reqs, err)
	}
	tn.params["access_request"] = reqs[0].ID
	tn.secrets = append(tn.secrets, reqs[0].ID, "Visitor of "+slug, "visitor@"+slug+".example")
	tn.secrets = append(tn.secrets, "subscriber@"+slug+".example", subs[0].ID)
	cert, err := a.Profile.CreateCertification(ctx, o.ID, org.CertificationInput{Kind: org.ISO27001, Name: "Certification of " + slug,
		CertificateNumber: "IS " + slug, CertificationBody: "Body of " + slug, ReportEvidenceID: ev.ID})
	if err != nil {
		t.Fatal(err)
	}
	road, err := a.Profile.CreateRoadmapItem(ctx, o.ID, org.RoadmapInput{Title: "Roadmap item of " + slug})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Profile.Set(ctx, o.ID, org.Profile{HostingProvider: "Host of " + slug}); err != nil {
		t.Fatal(err)
	}
	if err := a.Profile.SetGDPR(ctx, o.ID, "32", "Commitment of "+slug); err != nil {
		t.Fatal(err)
	}
	tn.params["certification"], tn.params["roadmap"], tn.params["article"] = cert.ID, road.ID, "32"
	tn.secrets = append(tn.secrets, cert.ID, "Certification of "+slug, road.ID, "Roadmap item of "+slug, "Host of "+slug,
		"Commitment of "+slug)
	tn.secrets = append(tn.secrets, sp.ID, "Subprocessor of "+slug)
	tn.secrets = append(tn.secrets, ms.ID, "Measure of "+slug)
	tn.secrets = append(tn.secrets, ev.ID, "Evidence of "+slug)
	// A webhook endpoint with a message in its delivery log.
	hook, _, err := a.Webhooks.Create(ctx, o.ID, webhook.Input{URL: "https://hooks." + slug + ".example/in", Description: "Webhook of " + slug,
		Topics: webhook.Topics, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := a.Webhooks.SendTest(ctx, o.ID, hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	tn.params["webhook"], tn.params["message"] = hook.ID, msg.ID
	tn.secrets = append(tn.secrets, hook.ID, msg.ID, "hooks."+slug+".example", "Webhook of "+slug)
	tn.targetID = target.ID
	tn.params["user"], tn.params["user_id"] = target.ID, target.ID
	tn.params["session"] = targetSession.ID
	tn.params["invitation"], tn.params["token"] = inv.ID, tok.ID
	tn.secrets = append(tn.secrets, "target@"+slug+".example", "invitee@"+slug+".example", target.ID, inv.ID, tok.ID, tok.Prefix, targetSession.ID)
	return tn
}

// fill puts a tenant's identifiers into a route pattern. {id} names what
// the route is about: a session, an invitation, a control, a certification,
// a roadmap item or a token.
func (tn *tenant) fill(pattern string) string {
	p := strings.ReplaceAll(pattern, "{$}", "")
	idKind := "token"
	switch {
	case strings.Contains(p, "/notices/"), strings.Contains(p, "/subprocessor-notices/"):
		idKind = "notice"
	case strings.Contains(p, "/access-requests/"):
		idKind = "access_request"
	case strings.Contains(p, "/subscribers/"):
		idKind = "subscriber"
	case strings.Contains(p, "/sessions/"):
		idKind = "session"
	case strings.Contains(p, "/invitations/"):
		idKind = "invitation"
	case strings.Contains(p, "/controls/"):
		idKind = "control"
	case strings.Contains(p, "/frameworks/"):
		idKind = "framework"
	case strings.Contains(p, "/evidence/"), strings.Contains(p, "/checks/"):
		idKind = "evidence"
	case strings.Contains(p, "/measures/"):
		idKind = "measure"
	case strings.Contains(p, "/subprocessors/"):
		idKind = "subprocessor"
	case strings.Contains(p, "/certifications/"):
		idKind = "certification"
	case strings.Contains(p, "/roadmap/"):
		idKind = "roadmap"
	case strings.Contains(p, "/webhooks/"):
		idKind = "webhook"
	case strings.Contains(p, "/translations/"):
		idKind = "measure"
	}
	p = strings.ReplaceAll(p, "{id}", tn.params[idKind])
	for k, v := range tn.params {
		p = strings.ReplaceAll(p, "{"+k+"}", v)
	}
	return p
}

// Valid request bodies, so that answers are about who calls, not about
// what they sent.
const formBody = "role=guest&email=new%40example.com&name=walk&expires_in_days=30&title=walk&framework=nist-csf-2.0&ref=GV.OC-02" +
	"&field=title&lang=fr&text=walk&applicable=yes&confirm=yes&status=planned&visibility=private&notice_days=30"

func apiBody(path string) string {
	switch {
	case strings.HasSuffix(path, "/links"):
		return `{"framework_id": "nist-csf-2.0", "ref": "GV.OC-02"}`
	case strings.Contains(path, "/translations"):
		return `{"field": "title", "lang": "fr", "text": "walk"}`
	case strings.Contains(path, "/controls"):
		return `{"title": "walk"}`
	case strings.Contains(path, "/evidence"):
		return `{"kind": "note", "title": "walk"}`
	case strings.HasSuffix(path, "/subprocessor-notice-settings"):
		return `{"notice_days": 30}`
	case strings.Contains(path, "/subprocessors"):
		return `{"name": "walk", "purpose": "walk"}`
	case strings.Contains(path, "/webhooks"):
		return `{"url": "https://example.com/hook", "topics": ["subprocessors"]}`
	case strings.Contains(path, "/measures"):
		return `{"category": "backups", "title": "walk"}`
	case strings.Contains(path, "/certifications"):
		return `{"kind": "pentest", "name": "walk", "firm": "walk", "tested_on": "2026-11-01"}`
	case strings.Contains(path, "/roadmap"):
		return `{"title": "walk"}`
	case strings.Contains(path, "/gdpr/"):
		return `{"text": "walk"}`
	case strings.HasSuffix(path, "/profile"):
		return `{"hosting_provider": "walk", "preferred_languages": ["en"]}`
	case strings.HasSuffix(path, "/checks"):
		return `{"check_kind": "http_up", "target": "https://example.com/"}`
	case strings.Contains(path, "/adoptions"):
		return `{"framework_id": "iso-27001-2022", "from_library": false}`
	case strings.Contains(path, "/applicability"):
		return `{"framework_id": "nist-csf-2.0", "ref": "GV.OC-03", "applicable": true}`
	case strings.Contains(path, "/mappings"):
		return `{"from_framework": "nist-csf-2.0", "from_ref": "GV.OC-01", "to_framework": "nist-csf-2.0", "to_ref": "GV.OC-02", "relation": "related"}`
	case strings.Contains(path, "/invitations"):
		return `{"email": "new@example.com", "role": "guest"}`
	case strings.Contains(path, "/tokens"):
		return `{"name": "walk", "role": "guest"}`
	default:
		return `{"role": "guest"}`
	}
}

func call(h http.Handler, method, path, cookie, bearer string) (int, string, string) {
	var body io.Reader
	if method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut {
		body = strings.NewReader(formBody)
		if strings.HasPrefix(path, "/api/") {
			body = strings.NewReader(apiBody(path))
		}
	}
	r := httptest.NewRequest(method, path, body)
	if body != nil && strings.HasPrefix(path, "/api/") {
		r.Header.Set("Content-Type", "application/json")
	} else if body != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: "evident_session", Value: cookie})
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String(), w.Header().Get("Location")
}

// The route walk of invariant 1: every route that is not public is called
// anonymously, with the wrong kind of credential, by every role of one
// organisation on its own identifiers and on another organisation's. It
// fails on a route without a permission, on a role allowed what the matrix
// denies or denied what it allows, and on any answer that shows the other
// organisation's data.
func TestRouteWalk(t *testing.T) {
	a := openApp(t, nil)
	h := a.Web.Handler()
	ta, tb := newTenant(t, a, "org-a"), newTenant(t, a, "org-b")

	known := map[identity.Permission]bool{identity.Public: true, identity.Account: true, identity.Metrics: true}
	for _, p := range identity.OrgPermissions {
		known[p] = true
	}
	walked := 0
	for _, rt := range a.Web.Router.Routes() {
		if !known[rt.Permission] {
			t.Errorf("%s %s: permission %q is not a known permission", rt.Method, rt.Pattern, rt.Permission)
			continue
		}
		if rt.Permission == identity.Public || rt.Permission == identity.Metrics {
			continue
		}
		walked++
		api := strings.HasPrefix(rt.Pattern, "/api/")
		own, other := ta.fill(rt.Pattern), tb.fill(rt.Pattern)
		name := rt.Method + " " + rt.Pattern

		// Anonymous, and with the other kind of credential: refused.
		for _, cred := range []struct{ cookie, bearer string }{{"", ""}, {"", ta.tokens[identity.Admin]}, {ta.cookies[identity.Admin], ""}} {
			if api && cred.bearer != "" || !api && cred.cookie != "" {
				continue
			}
			status, _, loc := call(h, rt.Method, own, cred.cookie, cred.bearer)
			if api && status != http.StatusUnauthorized || !api && (status != http.StatusSeeOther || !strings.HasPrefix(loc, "/app/login")) {
				t.Errorf("%s without a valid credential of its kind: %d %s", name, status, loc)
			}
		}

		for _, role := range identity.Roles {
			cookie, bearer := ta.cookies[role], ""
			if api {
				cookie, bearer = "", ta.tokens[role]
			}
			// Another organisation's identifiers: nothing of it, ever.
			if other != own {
				status, body, _ := call(h, rt.Method, other, cookie, bearer)
				if status != http.StatusNotFound && status != http.StatusForbidden {
					t.Errorf("%s as %s of org-a on org-b's identifiers (%s): %d, want 404", name, role, other, status)
				}
				leak(t, name, role, other, body, tb)
			}
			// Its own organisation: what the matrix says.
			status, body, loc := call(h, rt.Method, own, cookie, bearer)
			leak(t, name, role, own, body, tb)
			allowed := rt.Permission == identity.Account || identity.Allowed(role, rt.Permission)
			switch {
			case allowed && (status == http.StatusUnauthorized || status == http.StatusForbidden || strings.HasPrefix(loc, "/app/login")):
				t.Errorf("%s as %s: %d, but the matrix allows %s", name, role, status, rt.Permission)
			case !allowed && status != http.StatusForbidden:
				t.Errorf("%s as %s: %d, but the matrix denies %s (want 403)", name, role, status, rt.Permission)
			case status >= 500:
				t.Errorf("%s as %s: %d", name, role, status)
			}
		}
	}
	if walked < 20 {
		t.Fatalf("walked only %d routes", walked)
	}
	t.Logf("walked %d routes × %d roles", walked, len(identity.Roles))
}

// leak fails on any of the other tenant's identifiers in an answer, except
// those the caller sent in the path (pages may repeat their own address).
func leak(t *testing.T, route string, role identity.Role, path, body string, other *tenant) {
	t.Helper()
	for _, s := range other.secrets {
		if strings.Contains(body, s) && !strings.Contains(path, s) {
			t.Errorf("%s as %s of org-a: the answer shows org-b's %q", route, role, s)
		}
	}
}
