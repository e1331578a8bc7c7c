package app_test

import (
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// multipartBody streams fields, then a file of header followed by size
// zero bytes, without holding it in memory.
func multipartBody(t *testing.T, fields map[string]string, filename string, header []byte, size int64) (io.Reader, string) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for k, v := range fields {
			_ = mw.WriteField(k, v)
		}
		fw, err := mw.CreateFormFile("file", filename)
		if err == nil {
			_, err = fw.Write(header)
		}
		if err == nil {
			_, err = io.CopyN(fw, zeros{}, size)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, mw.FormDataContentType()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func blobFiles(t *testing.T, dir string) int {
	n := 0
	_ = filepath.Walk(filepath.Join(dir, "blobs", "orgs"), func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// TestEvidenceAPI uploads, refuses and downloads files, and pushes results
// with a token that may do nothing else.
func TestEvidenceAPI(t *testing.T) {
	dataDir := t.TempDir()
	a := openApp(t, func(c *app.Config) { c.DataDir = dataDir })
	h := a.Web.Handler()
	ctx := context.Background()
	o, _ := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	u, _, err := a.Identity.CreateMember(ctx, o.ID, identity.NewUser{Email: "a@acme.example", Password: walkPassword}, identity.Admin)
	if err != nil {
		t.Fatal(err)
	}
	_, editor, _ := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "editor", Role: identity.Manager})
	_, member, _ := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "member", Role: identity.Member})
	_, pusher, err := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: "ci", Role: identity.Manager, Scope: identity.ScopePush})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, token, contentType string, body io.Reader) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, body)
		r.Header.Set("Authorization", "Bearer "+token)
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	pdf := []byte("%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n")

	body, ct := multipartBody(t, map[string]string{"title": "Pen test report", "visibility": "private"}, "report.pdf", pdf, 0)
	w := do("POST", "/api/v1/evidence/files", editor, ct, body)
	var item struct {
		ID   string `json:"id"`
		File struct {
			MediaType string `json:"media_type"`
		} `json:"file"`
	}
	if w.Code != 201 || json.Unmarshal(w.Body.Bytes(), &item) != nil || item.File.MediaType != "application/pdf" {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	// 60 MB against the default 50 MB limit: 413, nothing stored; 20 MB
	// pass (the 1 MiB default of other routes does not apply).
	body, ct = multipartBody(t, map[string]string{"title": "Too big"}, "big.pdf", pdf, 60<<20)
	if w = do("POST", "/api/v1/evidence/files", editor, ct, body); w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "50 MB") {
		t.Fatalf("60 MB upload: %d %s", w.Code, w.Body)
	}
	body, ct = multipartBody(t, map[string]string{"title": "Scan export"}, "scan.pdf", pdf, 20<<20)
	if w = do("POST", "/api/v1/evidence/files", editor, ct, body); w.Code != 201 {
		t.Fatalf("20 MB upload: %d %s", w.Code, w.Body)
	}
	body, ct = multipartBody(t, map[string]string{"title": "Sneaky"}, "report.pdf", []byte("<!doctype html><html><script>x</script>"), 0)
	if w = do("POST", "/api/v1/evidence/files", editor, ct, body); w.Code != 400 || !strings.Contains(w.Body.String(), "HTML") {
		t.Fatalf("HTML named .pdf: %d %s", w.Code, w.Body)
	}
	if n := blobFiles(t, dataDir); n != 2 {
		t.Fatalf("%d blobs after two accepted and two refused uploads", n)
	}
	w = do("GET", "/api/v1/evidence/"+item.ID+"/file", member, "", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/pdf" || !strings.HasPrefix(w.Header().Get("Content-Disposition"), "attachment") ||
		w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Body.String() != string(pdf) {
		t.Fatalf("download: %d %v", w.Code, w.Header())
	}

	if w = do("GET", "/api/v1/evidence/"+item.ID+"/history", member, "", nil); w.Code != 200 || !strings.Contains(w.Body.String(), `"action":"evidence.create"`) {
		t.Fatalf("history: %d %s", w.Code, w.Body)
	}

	// Pushes: the scoped token pushes and does nothing else; a member
	// cannot push.
	push := `{"check":"dependency-scan","passed":false,"summary":"2 critical","measured":{"critical":"2"}}`
	if w = do("POST", "/api/v1/evidence/push", pusher, "application/json", strings.NewReader(push)); w.Code != 200 || !strings.Contains(w.Body.String(), `"created":true`) {
		t.Fatalf("push: %d %s", w.Code, w.Body)
	}
	if w = do("GET", "/api/v1/evidence", pusher, "", nil); w.Code != 403 {
		t.Fatalf("push token reading evidence: %d", w.Code)
	}
	if w = do("POST", "/api/v1/evidence/push", member, "application/json", strings.NewReader(push)); w.Code != 403 {
		t.Fatalf("member pushing: %d", w.Code)
	}
	if w = do("POST", "/api/v1/evidence/push", pusher, "application/json", strings.NewReader(`{"check":"x"}`)); w.Code != 400 {
		t.Fatalf("push without passed: %d %s", w.Code, w.Body)
	}
	body, ct = multipartBody(t, map[string]string{"check": "restore-test", "passed": "true", "measured.rto_minutes": "42"}, "restore.csv",
		[]byte("step,minutes\nrestore,42\n"), 0)
	if w = do("POST", "/api/v1/evidence/push", pusher, ct, body); w.Code != 200 || !strings.Contains(w.Body.String(), `"media_type":"text/csv`) {
		t.Fatalf("push with a file: %d %s", w.Code, w.Body)
	}
	if w = do("GET", "/api/v1/evidence?kind=check", editor, "", nil); w.Code != 200 || strings.Count(w.Body.String(), `"kind":"check"`) != 2 {
		t.Fatalf("checks after pushes: %d %s", w.Code, w.Body)
	}
}
