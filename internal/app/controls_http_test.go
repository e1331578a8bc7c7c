package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// TestControlsAPI drives frameworks, adoption, controls, links,
// applicability, posture and the Statement of Applicability through the
// API, with the bad inputs a client sends.
func TestControlsAPI(t *testing.T) {
	a := openApp(t, nil)
	h := a.Web.Handler()
	ctx := context.Background()
	o, _ := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	u, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: "a@acme.example", Password: walkPassword}, identity.Admin)
	if err != nil {
		t.Fatal(err)
	}
	_, editor, _ := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "editor", Role: identity.Manager})
	_, guest, _ := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "guest", Role: identity.Guest})
	call := func(method, path, token, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	decode := func(w *httptest.ResponseRecorder, v any) {
		t.Helper()
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			t.Fatalf("%s: %v", w.Body, err)
		}
	}

	w := call("GET", "/api/v1/frameworks", guest, "")
	var fws []struct {
		ID    string `json:"id"`
		Count int    `json:"requirements"`
	}
	decode(w, &fws)
	if w.Code != 200 || len(fws) != 5 || fws[4].Count != 1007 {
		t.Fatalf("frameworks: %d %s", w.Code, w.Body)
	}
	w = call("GET", "/api/v1/frameworks/nist-sp-800-53-r5?baseline=LOW", guest, "")
	var tree struct {
		Requirements []struct{ Ref string } `json:"requirements"`
	}
	decode(w, &tree)
	if w.Code != 200 || len(tree.Requirements) < 149 || len(tree.Requirements) > 149+20 {
		t.Fatalf("LOW tree: %d, %d nodes %s", w.Code, len(tree.Requirements), w.Body)
	}
	if w = call("GET", "/api/v1/frameworks/nope", guest, ""); w.Code != 404 {
		t.Fatalf("unknown framework: %d", w.Code)
	}
	if w = call("GET", "/api/v1/library", guest, ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"typical_evidence"`) {
		t.Fatalf("library: %d", w.Code)
	}

	if w = call("POST", "/api/v1/adoptions", guest, `{"framework_id":"iso-27001-2022"}`); w.Code != 403 {
		t.Fatalf("guest adopts: %d", w.Code)
	}
	w = call("POST", "/api/v1/adoptions", editor, `{"framework_id":"iso-27001-2022"}`)
	var adopted struct {
		Created int `json:"controls_created"`
	}
	decode(w, &adopted)
	if w.Code != 201 || adopted.Created < 90 {
		t.Fatalf("adopt: %d %s", w.Code, w.Body)
	}
	for body, want := range map[string]int{
		`{"framework_id":"iso-27001-2022"}`:                      409,
		`{"framework_id":"nope"}`:                                404,
		`{"framework_id":"nist-sp-800-53-r5","baseline":"HUGE"}`: 400,
		`{"framework_id":`:                                       400,
	} {
		if w = call("POST", "/api/v1/adoptions", editor, body); w.Code != want {
			t.Errorf("adopt %s: %d %s, want %d", body, w.Code, w.Body, want)
		}
	}

	w = call("POST", "/api/v1/controls", editor, `{"title":"Quarterly firewall review","status":"implemented","visibility":"public"}`)
	var c struct {
		ID string `json:"id"`
	}
	decode(w, &c)
	if w.Code != 201 || c.ID == "" {
		t.Fatalf("create control: %d %s", w.Code, w.Body)
	}
	for body, want := range map[string]int{
		`{"title":""}`:                              422,
		`{"title":"x","status":"done"}`:             422,
		`{"title":"x","next_review_date":"Monday"}`: 400,
		`{"title":"x","owner_id":"someone"}`:        400,
	} {
		if w = call("POST", "/api/v1/controls", editor, body); w.Code != want {
			t.Errorf("create %s: %d %s, want %d", body, w.Code, w.Body, want)
		}
	}
	if w = call("POST", "/api/v1/controls/"+c.ID+"/links", editor, `{"framework_id":"iso-27001-2022","ref":"A.8.20"}`); w.Code != 204 {
		t.Fatalf("link: %d %s", w.Code, w.Body)
	}
	if w = call("POST", "/api/v1/controls/"+c.ID+"/links", editor, `{"framework_id":"soc2-2017","ref":"CC6.6"}`); w.Code != 400 || !strings.Contains(w.Body.String(), "adopt framework") {
		t.Fatalf("link to a framework not adopted: %d %s", w.Code, w.Body)
	}
	if w = call("PUT", "/api/v1/applicability", editor, `{"framework_id":"iso-27001-2022","ref":"A.7.5","applicable":false}`); w.Code != 400 {
		t.Fatalf("not applicable without justification: %d %s", w.Code, w.Body)
	}
	if w = call("PUT", "/api/v1/applicability", editor, `{"framework_id":"iso-27001-2022","ref":"A.7.5","applicable":false,"justification":"No premises: the company works fully remote."}`); w.Code != 204 {
		t.Fatalf("not applicable: %d %s", w.Code, w.Body)
	}
	if w = call("GET", "/api/v1/controls?status=implemented&framework=iso-27001-2022", guest, ""); w.Code != 200 || !strings.Contains(w.Body.String(), "Quarterly firewall review") {
		t.Fatalf("filtered controls: %d %s", w.Code, w.Body)
	}
	if w = call("GET", "/api/v1/controls?state=great", guest, ""); w.Code != 400 {
		t.Fatalf("bad state filter: %d", w.Code)
	}

	w = call("GET", "/api/v1/posture/iso-27001-2022", guest, "")
	var p struct {
		Counts map[string]int `json:"counts"`
	}
	decode(w, &p)
	if w.Code != 200 || p.Counts["requirements"] != 123 || p.Counts["not_applicable"] != 1 || p.Counts["not_implemented"] != 122 {
		t.Fatalf("posture: %d %v", w.Code, p.Counts)
	}
	w = call("GET", "/api/v1/soa/iso-27001-2022?format=csv", guest, "")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") ||
		!strings.Contains(w.Header().Get("Content-Disposition"), "attachment") ||
		!strings.Contains(w.Body.String(), "iso-27001-2022,A.7.5,") || !strings.Contains(w.Body.String(), "No premises") {
		t.Fatalf("SoA CSV: %d %v %s", w.Code, w.Header(), w.Body.String()[:200])
	}
	if w = call("GET", "/api/v1/soa/soc2-2017", guest, ""); w.Code != 404 {
		t.Fatalf("SoA of a framework not adopted: %d", w.Code)
	}
	if w = call("GET", "/api/v1/openapi.json", "", ""); !strings.Contains(w.Body.String(), "/api/v1/soa/{framework}") {
		t.Fatal("the OpenAPI document lacks the SoA")
	}
	if w = call("DELETE", "/api/v1/controls/"+c.ID, editor, ""); w.Code != 204 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	if w = call("GET", "/api/v1/controls/"+c.ID, guest, ""); w.Code != 404 {
		t.Fatalf("deleted control: %d", w.Code)
	}
	_ = http.StatusOK
}
