package app_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/identity"
)

// TestMeasuresAnnex adds measures through the API and checks that the
// annex PDF's extracted text holds every public measure and no private one.
func TestMeasuresAnnex(t *testing.T) {
	do := newAPIClient(t, openApp(t, nil), identity.Manager).do
	public := []string{"Chiffrement TLS 1.2 ou plus récent", "Backups encrypted with AES-256", "Access reviews every quarter"}
	cats := []string{"encryption_in_transit", "backups", "authorisation"}
	for i, title := range public {
		if w := do("POST", "/api/v1/measures", `{"category":"`+cats[i]+`","title":"`+title+`","visibility":"public"}`); w.Code != 201 {
			t.Fatalf("create %s: %d %s", title, w.Code, w.Body)
		}
	}
	if w := do("POST", "/api/v1/measures", `{"category":"personnel","title":"Internal hiring checklist"}`); w.Code != 201 {
		t.Fatalf("private measure: %d %s", w.Code, w.Body)
	}
	if w := do("POST", "/api/v1/measures", `{"category":"magic","title":"x"}`); w.Code != 400 {
		t.Fatalf("unknown category: %d %s", w.Code, w.Body)
	}
	w := do("GET", "/api/v1/measures/annex?format=pdf", "")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(w.Body.Bytes(), []byte("%PDF-")) {
		t.Fatalf("annex PDF: %d %v", w.Code, w.Header())
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but pdftotext is missing")
		}
		t.Skip("pdftotext is not installed")
	}
	cmd := exec.Command("pdftotext", "-", "-")
	cmd.Stdin = bytes.NewReader(w.Body.Bytes())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, title := range public {
		if !strings.Contains(text, title) {
			t.Errorf("the annex's text lacks %q:\n%s", title, text)
		}
	}
	if strings.Contains(text, "Internal hiring checklist") {
		t.Fatal("the annex shows a private measure")
	}
	if md := do("GET", "/api/v1/measures/annex", ""); md.Code != 200 || !strings.Contains(md.Body.String(), "## Encryption in transit") {
		t.Fatalf("annex Markdown: %d %s", md.Code, md.Body)
	}
}

// TestSubprocessorsAPI adds a subprocessor and reads both registers.
func TestSubprocessorsAPI(t *testing.T) {
	do := newAPIClient(t, openApp(t, nil), identity.Manager).do
	if w := do("POST", "/api/v1/subprocessors", `{"name":"Mail Relay Inc","purpose":"Transactional e-mail","processing_countries":["US"],"transfer_mechanism":"scc","category":"e-mail"}`); w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if w := do("POST", "/api/v1/subprocessors", `{"name":"x","purpose":"x","storage_countries":["Mars"]}`); w.Code != 400 {
		t.Fatalf("bad country: %d %s", w.Code, w.Body)
	}
	w := do("GET", "/api/v1/subprocessors/register?register=dora", "")
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") || !strings.Contains(w.Body.String(), "Mail Relay Inc,,,e-mail,1,,US") {
		t.Fatalf("DORA register: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/api/v1/subprocessors/register", ""); w.Code != 200 || !strings.Contains(w.Body.String(), "Transactional e-mail") {
		t.Fatalf("Art. 30 register: %d %s", w.Code, w.Body)
	}
}
