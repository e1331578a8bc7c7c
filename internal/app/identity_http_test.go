package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// /api/v1/me answers 401 with a problem document without a token, with a
// revoked one and with an expired one, and who the token is with a good one.
func TestMeNeedsALiveToken(t *testing.T) {
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	a := openAppClock(t, clk, nil)
	h := a.Web.Handler()
	ctx := context.Background()
	o, _ := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	u, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: "a@acme.example", Password: walkPassword}, identity.Admin)
	if err != nil {
		t.Fatal(err)
	}
	_, good, _ := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "good", Role: identity.Member})
	revokedTok, revoked, _ := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "revoked", Role: identity.Member})
	if err := a.Identity.RevokeToken(ctx, o.ID, "", revokedTok.ID); err != nil {
		t.Fatal(err)
	}
	_, shortLived, _ := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "short", Role: identity.Member, ExpiresIn: time.Hour})

	me := func(token string) (int, string, map[string]any) {
		r := httptest.NewRequest("GET", "/api/v1/me", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		return w.Code, w.Header().Get("Content-Type"), body
	}
	if status, _, body := me(good); status != 200 || body["role"] != "member" {
		t.Fatalf("good token: %d %v", status, body)
	}
	clk.Advance(2 * time.Hour)
	for name, token := range map[string]string{"no token": "", "revoked": revoked, "expired": shortLived, "garbage": "evd_nope"} {
		status, ctype, body := me(token)
		if status != http.StatusUnauthorized || ctype != "application/problem+json" || body["code"] != "unauthorized" || body["status"] != float64(401) {
			t.Errorf("%s: %d %s %v, want 401 problem+json", name, status, ctype, body)
		}
	}
	// API answers are never cached.
	meReq := httptest.NewRequest("GET", "/api/v1/me", nil)
	meReq.Header.Set("Authorization", "Bearer "+good)
	meRec := httptest.NewRecorder()
	h.ServeHTTP(meRec, meReq)
	if got := meRec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("API answer Cache-Control %q, want no-store", got)
	}
	// An organisation that requires 2FA refuses tokens of owners without it.
	if err := a.Orgs.SetSettings(ctx, o.ID, org.Settings{RequireTOTP: true}); err != nil {
		t.Fatal(err)
	}
	if status, ctype, body := me(good); status != http.StatusForbidden || ctype != "application/problem+json" {
		t.Fatalf("token of an owner without 2FA where 2FA is required: %d %v", status, body)
	}
	if err := a.Orgs.SetSettings(ctx, o.ID, org.Settings{}); err != nil {
		t.Fatal(err)
	}
	// A session cookie is no credential for the API.
	cookie, _, _ := a.Identity.SignIn(ctx, "a@acme.example", walkPassword, identity.Client{})
	r := httptest.NewRequest("GET", "/api/v1/me", nil)
	r.AddCookie(&http.Cookie{Name: "evident_session", Value: cookie})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("API with a cookie: %d, want 401", w.Code)
	}
}

// Over HTTP, repeated wrong passwords end in 429 with Retry-After, and the
// form answers an unknown address exactly like a known one.
func TestLoginRateLimitOverHTTP(t *testing.T) {
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	a := openAppClock(t, clk, nil)
	h := a.Web.Handler()
	ctx := context.Background()
	o, _ := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	if _, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: "a@acme.example", Password: walkPassword}, identity.Admin); err != nil {
		t.Fatal(err)
	}
	post := func(email, pw, ip string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/app/login", strings.NewReader(url.Values{"email": {email}, "password": {pw}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.RemoteAddr = ip + ":4000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	statuses := func(email, ip string) []int {
		var out []int
		for i := 0; i < 30; i++ {
			out = append(out, post(email, "wrong password!", ip).Code)
		}
		return out
	}
	known, unknown := statuses("a@acme.example", "203.0.113.1"), statuses("nobody@acme.example", "203.0.113.2")
	if known[0] != http.StatusUnauthorized || known[29] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v: want 401 first and 429 at the end", known)
	}
	for i := range known {
		if known[i] != unknown[i] {
			t.Fatalf("unknown address answered differently:\n known   %v\n unknown %v", known, unknown)
		}
	}
	w := post("a@acme.example", walkPassword, "203.0.113.3")
	retry, _ := strconv.Atoi(w.Header().Get("Retry-After"))
	if w.Code != http.StatusTooManyRequests || retry <= 0 {
		t.Fatalf("right password while blocked: %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	clk.Advance(time.Duration(retry) * time.Second)
	if w := post("a@acme.example", walkPassword, "203.0.113.3"); w.Code != http.StatusSeeOther || len(w.Result().Cookies()) == 0 {
		t.Fatalf("right password after the block: %d", w.Code)
	}
}

// Admins read the audit log through the API, filtered and paged; the
// events name the token that acted and the request it came from.
func TestAuditEventsAPI(t *testing.T) {
	a := openApp(t, nil)
	h := a.Web.Handler()
	ctx := context.Background()
	o, _ := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	u, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: "a@acme.example", Password: walkPassword}, identity.Admin)
	if err != nil {
		t.Fatal(err)
	}
	adminTok, admin, _ := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "admin", Role: identity.Admin})
	_, guest, _ := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "guest", Role: identity.Guest})
	call := func(method, path, token, body string) (*httptest.ResponseRecorder, map[string]any) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w, out
	}
	w, _ := call("POST", "/api/v1/tokens", admin, `{"name":"made by api","role":"member","expires_in_days":30}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create token: %d %s", w.Code, w.Body)
	}
	requestID := w.Header().Get("X-Request-Id")
	w, body := call("GET", "/api/v1/audit-events?action=token.&limit=1", admin, "")
	items, _ := body["items"].([]any)
	if w.Code != 200 || len(items) != 1 || body["next_cursor"] == nil {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	first := items[0].(map[string]any)
	actor := first["actor"].(map[string]any)
	if first["action"] != "token.create" || actor["type"] != "token" || actor["id"] != adminTok.ID || first["request_id"] != requestID {
		t.Fatalf("newest token event: %v (request %s)", first, requestID)
	}
	next := strconv.FormatFloat(body["next_cursor"].(float64), 'f', 0, 64)
	_, body = call("GET", "/api/v1/audit-events?action=token.&cursor="+next, admin, "")
	if items, _ := body["items"].([]any); len(items) != 2 || body["next_cursor"] != nil {
		t.Fatalf("second page: %v", body)
	}
	for _, bad := range []string{"from=yesterday", "cursor=-1", "limit=1000", "from=2026-12-01&to=2026-11-01", "target_id=x"} {
		if w, body := call("GET", "/api/v1/audit-events?"+bad, admin, ""); w.Code < 400 || w.Code >= 500 || body["detail"] == nil {
			t.Errorf("%s: %d %s, want a 4xx problem", bad, w.Code, w.Body)
		}
	}
	if w, _ := call("GET", "/api/v1/audit-events", guest, ""); w.Code != http.StatusForbidden {
		t.Fatalf("guest reading the audit log: %d", w.Code)
	}
}

// TestMemberRoleAPI changes a member's role through the API: the path
// parameter must reach the service (an unexported embedded struct once
// hid it from huma, and every call changed nobody).
func TestMemberRoleAPI(t *testing.T) {
	a := openApp(t, nil)
	h := a.Web.Handler()
	ctx := context.Background()
	o, _ := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	admin, _, _ := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: "a@acme.example", Password: walkPassword}, identity.Admin)
	other, _, _ := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: "b@acme.example", Password: walkPassword}, identity.Manager)
	_, tok, _ := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: admin.ID, Name: "t", Role: identity.Admin})
	r := httptest.NewRequest("PATCH", "/api/v1/members/"+other.ID, strings.NewReader(`{"role":"guest"}`))
	r.Header.Set("Authorization", "Bearer "+tok)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code >= 300 {
		t.Fatalf("role change: %d %s", w.Code, w.Body)
	}
	members, _ := a.Identity.Members(ctx, o.ID)
	for _, m := range members {
		if m.UserID == other.ID && m.Role != identity.Guest {
			t.Fatalf("role after the change: %s", m.Role)
		}
	}
}
