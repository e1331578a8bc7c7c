package app_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// TestProfileAPI sets the profile, adds a certification, a roadmap item and
// a GDPR commitment through the API and reads them back; a bad body is a
// 400 naming the field.
func TestProfileAPI(t *testing.T) {
	do := newAPIClient(t, openApp(t, nil), identity.Manager).do
	if w := do("GET", "/api/v1/profile", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"hosting_regions":[]`) {
		t.Fatalf("empty profile: %d %s", w.Code, w.Body)
	}
	w := do("PUT", "/api/v1/profile", `{"hosting_provider":"Scaleway","hosting_regions":["fr-par"],"security_email":"security@acme.example",
		"security_url":"https://acme.example/security","preferred_languages":["en","fr"]}`)
	if w.Code != 200 {
		t.Fatalf("set profile: %d %s", w.Code, w.Body)
	}
	var p org.Profile
	if w := do("GET", "/api/v1/profile", ""); w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &p) != nil ||
		p.HostingProvider != "Scaleway" || len(p.PreferredLanguages) != 2 || p.SecurityEmail != "security@acme.example" {
		t.Fatalf("profile read back: %d %+v", w.Code, p)
	}
	w = do("PUT", "/api/v1/profile", `{"security_url":"http://acme.example/security"}`)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "security_url") {
		t.Fatalf("http security URL: %d %s", w.Code, w.Body)
	}
	if w := do("PUT", "/api/v1/profile", `{"preferred_languages":["english please"]}`); w.Code != 400 {
		t.Fatalf("bad language: %d %s", w.Code, w.Body)
	}

	w = do("POST", "/api/v1/certifications", `{"kind":"soc2","name":"SOC 2 Type 2","soc2_type":"2","period_start":"2025-01-01",
		"period_end":"2025-12-31","audit_firm":"Audit & Co","opinion":"unqualified","public":true}`)
	if w.Code != 201 {
		t.Fatalf("create certification: %d %s", w.Code, w.Body)
	}
	var c org.Certification
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || c.ID == "" || c.SOC2Type != "2" || !c.Public {
		t.Fatalf("created: %+v %v", c, err)
	}
	if w := do("POST", "/api/v1/certifications", `{"kind":"soc2","name":"No firm","soc2_type":"2","period_start":"2025-01-01","period_end":"2025-12-31"}`); w.Code != 400 ||
		!strings.Contains(w.Body.String(), "audit_firm") {
		t.Fatalf("SOC 2 without a firm: %d %s", w.Code, w.Body)
	}
	if w := do("PUT", "/api/v1/certifications/"+c.ID, `{"kind":"soc2","name":"SOC 2 Type 2","soc2_type":"2","period_start":"2025-01-01",
		"period_end":"2025-12-31","audit_firm":"Audit & Co","exceptions":1}`); w.Code != 200 || !strings.Contains(w.Body.String(), `"exceptions":1`) {
		t.Fatalf("update certification: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/api/v1/certifications", ""); w.Code != 200 || !strings.Contains(w.Body.String(), c.ID) {
		t.Fatalf("list certifications: %d %s", w.Code, w.Body)
	}
	if w := do("DELETE", "/api/v1/certifications/"+c.ID, ""); w.Code != 204 {
		t.Fatalf("delete certification: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/api/v1/certifications/"+c.ID, ""); w.Code != 404 {
		t.Fatalf("deleted certification: %d", w.Code)
	}

	if w := do("POST", "/api/v1/roadmap", `{"title":"SSO everywhere","target":"2027 Q2","status":"in_progress","public":true}`); w.Code != 201 {
		t.Fatalf("roadmap item: %d %s", w.Code, w.Body)
	}
	if w := do("POST", "/api/v1/roadmap", `{"title":"x","status":"someday"}`); w.Code != 400 && w.Code != 422 {
		t.Fatalf("roadmap status: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/api/v1/roadmap", ""); w.Code != 200 || !strings.Contains(w.Body.String(), "SSO everywhere") {
		t.Fatalf("roadmap: %d %s", w.Code, w.Body)
	}

	if w := do("PUT", "/api/v1/gdpr/33-34", `{"text":"Customers hear of a breach within 24 hours."}`); w.Code != 200 ||
		!strings.Contains(w.Body.String(), "Breach notification") {
		t.Fatalf("GDPR commitment: %d %s", w.Code, w.Body)
	}
	if w := do("PUT", "/api/v1/gdpr/33-34", `{"text":""}`); w.Code != 200 || strings.TrimSpace(w.Body.String()) != "[]" {
		t.Fatalf("GDPR commitment cleared: %d %s", w.Code, w.Body)
	}
	if w := do("PUT", "/api/v1/gdpr/99", `{"text":"x"}`); w.Code != 400 && w.Code != 422 {
		t.Fatalf("unknown article: %d %s", w.Code, w.Body)
	}
}
