package evidence

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/blob"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/org"
)

var start = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

type fixture struct {
	d        *db.DB
	clk      *clock.Settable
	evidence *Service
	controls *control.Service
	blobDir  string
	org      string
	other    string
}

func newFixture(t testing.TB, d *db.DB, maxBytes int64) *fixture {
	t.Helper()
	ctx := context.Background()
	k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewSettable(start)
	a := audit.New(d, clk, k)
	f := &fixture{d: d, clk: clk, blobDir: t.TempDir()}
	store, err := blob.NewFileStore(f.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	f.evidence = NewService(d, clk, a, Config{Blobs: store, MaxBytes: maxBytes})
	cat := catalog.NewService(d, clk, a)
	if err := cat.SyncBuiltins(ctx); err != nil {
		t.Fatal(err)
	}
	f.controls = control.NewService(d, clk, a, cat)
	f.controls.SetEvidenceSource(f.evidence)
	orgs := org.NewService(d, clk, a)
	for i, slug := range []string{"acme", "other"} {
		o, err := orgs.Create(ctx, org.CreateInput{Slug: slug, Name: slug, TimeZone: "Europe/Paris"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.org = o.ID
		} else {
			f.other = o.ID
		}
	}
	return f
}

// blobCount counts the files of the blob store.
func (f *fixture) blobCount(t testing.TB) int {
	t.Helper()
	n := 0
	_ = filepath.Walk(f.blobDir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n++
		}
		return nil
	})
	return n
}

var pdf = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

func TestValidity(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Paris")
	cases := []struct {
		name string
		in   Input
		want string // field of the error, or "" for valid
		end  string // the valid_until it gets
	}{
		{"note defaults to 3 months", Input{Kind: Note, Title: "x", CollectedOn: "2026-11-01"}, "", "2027-02-01"},
		{"document defaults to 12 months", Input{Kind: Link, Title: "x", URL: "https://x.example", CollectedOn: "2026-11-01"}, "", "2027-11-01"},
		{"note capped", Input{Kind: Note, Title: "x", CollectedOn: "2026-11-01", ValidUntil: "2027-02-02"}, "valid_until", ""},
		{"document capped", Input{Kind: Link, Title: "x", URL: "https://x.example", CollectedOn: "2026-11-01", ValidUntil: "2027-11-02"}, "valid_until", ""},
		{"collected in the future", Input{Kind: Note, Title: "x", CollectedOn: "2026-11-24"}, "collected_on", ""},
		{"ends before collection", Input{Kind: Note, Title: "x", CollectedOn: "2026-11-01", ValidUntil: "2026-10-01"}, "valid_until", ""},
		{"attestation needs its party", Input{Kind: Attestation, Title: "x", AttestorName: "A. Auditor"}, "attestor_name", ""},
		{"link needs http(s)", Input{Kind: Link, Title: "x", URL: "javascript:alert(1)"}, "url", ""},
		{"no title", Input{Kind: Note}, "title", ""},
		{"NUL in a title", Input{Kind: Note, Title: "a\x00b"}, "title", ""},
		{"checks are not made here", Input{Kind: Check, Title: "x"}, "kind", ""},
		{"bad visibility", Input{Kind: Note, Title: "x", Visibility: "secret"}, "visibility", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			err := in.validate(start, loc)
			if c.want == "" && err != nil || c.want != "" && apperr.FieldOf(err) != c.want {
				t.Fatalf("error %v, want field %q", err, c.want)
			}
			if c.end != "" && in.ValidUntil != c.end {
				t.Fatalf("valid until %s, want %s", in.ValidUntil, c.end)
			}
		})
	}
}

func TestUploads(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, 1<<20)
		it, err := f.evidence.Upload(ctx, f.org, Input{Title: "Pen test report"}, "report.pdf", bytes.NewReader(pdf))
		if err != nil || it.File.MediaType != "application/pdf" || it.Assurance != "documented" || !it.Current {
			t.Fatalf("upload: %+v %v", it, err)
		}
		// The same bytes again: a second item, one blob.
		if _, err := f.evidence.Upload(ctx, f.org, Input{Title: "Same report"}, "copy.pdf", bytes.NewReader(pdf)); err != nil {
			t.Fatal(err)
		}
		if n := f.blobCount(t); n != 1 {
			t.Fatalf("%d blobs after the same bytes twice, want 1", n)
		}
		// An HTML page named .pdf is refused, and nothing is stored.
		html := []byte("<!doctype html><html><body><script>alert(1)</script></body></html>")
		if _, err := f.evidence.Upload(ctx, f.org, Input{Title: "x"}, "report.pdf", bytes.NewReader(html)); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("HTML as PDF: %v", err)
		}
		// Text is judged to its end: a script after the first 8 KiB is
		// refused and nothing stored.
		late := strings.Repeat("date,result\n", 1000) + "<script>alert(1)</script>\n"
		if _, err := f.evidence.Upload(ctx, f.org, Input{Title: "x"}, "results.csv", strings.NewReader(late)); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("script after the head: %v", err)
		}
		// Over the limit: too large, nothing stored.
		big := io.MultiReader(bytes.NewReader(pdf), bytes.NewReader(make([]byte, 1<<20)))
		if _, err := f.evidence.Upload(ctx, f.org, Input{Title: "x"}, "big.pdf", big); apperr.CodeOf(err) != apperr.TooLarge {
			t.Fatalf("over the limit: %v", err)
		}
		if n := f.blobCount(t); n != 1 {
			t.Fatalf("%d blobs after refused uploads, want 1", n)
		}
		// Downloads: bytes back; the other organisation finds nothing.
		got, rc, err := f.evidence.Open(ctx, f.org, it.ID, Reader{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(b, pdf) || got.File.Filename != "report.pdf" {
			t.Fatalf("download: %q %+v", b, got.File)
		}
		if _, _, err := f.evidence.Open(ctx, f.other, it.ID, Reader{Restricted: true}); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("download by the other organisation: %v", err)
		}
	})
}

func TestRestrictedAndAudit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, 1<<20)
		it, err := f.evidence.Upload(ctx, f.org, Input{Title: "Board minutes", Visibility: Restricted}, "minutes.pdf", bytes.NewReader(pdf))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.evidence.Get(ctx, f.org, it.ID, Reader{}); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("restricted item seen without the permission: %v", err)
		}
		if list, _ := f.evidence.List(ctx, f.org, Filter{}, Reader{}); len(list) != 0 {
			t.Fatalf("restricted item listed without the permission: %d", len(list))
		}
		_, rc, err := f.evidence.Open(ctx, f.org, it.ID, Reader{Restricted: true})
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		var n int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'evidence.download' AND target = $1`, it.ID).Scan(&n); err != nil || n != 1 {
			t.Fatalf("restricted download audited %d times: %v", n, err)
		}
	})
}

// The states of DESIGN.md invariant 2 from real evidence: expiry makes a
// control stale, self-attested notes leave it unevidenced, documents make it
// evidenced, an independent attestation verifies it.
func TestPostureFromEvidence(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, 1<<20)
		c, err := f.controls.Create(ctx, f.org, control.Input{Title: "Backups", Status: control.Implemented})
		if err != nil {
			t.Fatal(err)
		}
		state := func() control.State {
			t.Helper()
			list, err := f.controls.List(ctx, f.org, control.ListFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return list[0].State
		}
		if s := state(); s != control.Unevidenced {
			t.Fatalf("no evidence: %s", s)
		}
		if _, err := f.evidence.Create(ctx, f.org, Input{Kind: Note, Title: "We back up nightly", ControlIDs: []string{c.ID}}); err != nil {
			t.Fatal(err)
		}
		if s := state(); s != control.Unevidenced {
			t.Fatalf("only a self-attested note: %s", s)
		}
		doc, err := f.evidence.Upload(ctx, f.org, Input{Title: "Restore log", CollectedOn: "2026-11-20", ControlIDs: []string{c.ID}},
			"restore.pdf", bytes.NewReader(pdf))
		if err != nil {
			t.Fatal(err)
		}
		if s := state(); s != control.Evidenced {
			t.Fatalf("a current document: %s", s)
		}
		// Thirteen months on, everything has expired: stale.
		f.clk.Set(start.AddDate(1, 1, 0))
		if s := state(); s != control.Stale {
			t.Fatalf("all evidence expired: %s", s)
		}
		if list, _ := f.evidence.List(ctx, f.org, Filter{Expired: true}, Reader{}); len(list) != 2 {
			t.Fatalf("expired items: %d", len(list))
		}
		if _, err := f.evidence.Create(ctx, f.org, Input{Kind: Attestation, Title: "SOC 2 type II report letter",
			AttestorName: "A. Auditor", AttestorFirm: "Audit & Co", ControlIDs: []string{c.ID}}); err != nil {
			t.Fatal(err)
		}
		if s := state(); s != control.Verified {
			t.Fatalf("a current independent attestation: %s", s)
		}
		// Expiring window: the attestation ends in 12 months, the window
		// of 30 days does not reach it; 400 does.
		if list, _ := f.evidence.List(ctx, f.org, Filter{ExpiringDays: 30}, Reader{}); len(list) != 0 {
			t.Fatalf("expiring within 30 days: %d", len(list))
		}
		if _, err := f.evidence.List(ctx, f.org, Filter{ExpiringDays: 400}, Reader{}); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("window over the maximum: %v", err)
		}
		// Links to another organisation's control are refused.
		if _, err := f.evidence.Update(ctx, f.other, doc.ID, Input{Title: "x"}, Reader{Restricted: true}); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("update from the other organisation: %v", err)
		}
		other, _ := f.controls.Create(ctx, f.other, control.Input{Title: "Theirs"})
		if _, err := f.evidence.Create(ctx, f.org, Input{Kind: Note, Title: "x", ControlIDs: []string{other.ID}}); apperr.FieldOf(err) != "control_ids" {
			t.Fatalf("link to the other organisation's control: %v", err)
		}
		var actions []string
		rows, _ := d.Read.QueryContext(ctx, `SELECT action FROM audit_events WHERE org_id = $1 AND action LIKE 'evidence.%'`, f.org)
		for rows.Next() {
			var a string
			_ = rows.Scan(&a)
			actions = append(actions, a)
		}
		rows.Close()
		if strings.Count(strings.Join(actions, " "), "evidence.create") != 3 {
			t.Fatalf("audit: %v", actions)
		}
	})
}

// The links carry their item's validity for the posture: an update or a
// deletion of the item shows at once.
func TestPostureFollowsUpdates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, 1<<20)
		c, _ := f.controls.Create(ctx, f.org, control.Input{Title: "Backups", Status: control.Implemented})
		state := func() control.State {
			list, _ := f.controls.List(ctx, f.org, control.ListFilter{})
			return list[0].State
		}
		doc, err := f.evidence.Create(ctx, f.org, Input{Kind: Link, Title: "Restore log", URL: "https://wiki.example/restore",
			CollectedOn: "2026-11-20", ControlIDs: []string{c.ID}})
		if err != nil || state() != control.Evidenced {
			t.Fatalf("a current link: %s %v", state(), err)
		}
		if _, err := f.evidence.Update(ctx, f.org, doc.ID, Input{Title: "Restore log", URL: "https://wiki.example/restore",
			ValidUntil: "2026-11-21", ControlIDs: []string{c.ID}}, Reader{}); err != nil {
			t.Fatal(err)
		}
		if s := state(); s != control.Stale {
			t.Fatalf("after shortening its validity into the past: %s", s)
		}
		if err := f.evidence.Delete(ctx, f.org, doc.ID, Reader{}); err != nil {
			t.Fatal(err)
		}
		if s := state(); s != control.Unevidenced {
			t.Fatalf("after deleting the only evidence: %s", s)
		}
	})
}
