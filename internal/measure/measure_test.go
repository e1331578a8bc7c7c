package measure

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/org"
)

func TestMeasures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
		if err != nil {
			t.Fatal(err)
		}
		clk := clock.NewSettable(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
		a := audit.New(d, clk, k)
		cat := catalog.NewService(d, clk, a)
		controls := control.NewService(d, clk, a, cat)
		s := NewService(d, clk, a, controls)
		orgs := org.NewService(d, clk, a)
		acme, _ := orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
		other, _ := orgs.Create(ctx, org.CreateInput{Slug: "other", Name: "Other"})
		tls, _ := controls.Create(ctx, acme.ID, control.Input{Title: "TLS everywhere", Status: control.Implemented, Visibility: control.Public})
		secret, _ := controls.Create(ctx, acme.ID, control.Input{Title: "Secret internal control", Visibility: control.Private})
		theirs, _ := controls.Create(ctx, other.ID, control.Input{Title: "Theirs"})

		m, err := s.Create(ctx, acme.ID, Input{Category: "encryption_in_transit", Title: "TLS 1.2 or newer", Visibility: control.Public,
			Description: "Every public endpoint refuses TLS 1.0 and 1.1.", ControlIDs: []string{tls.ID, secret.ID}})
		if err != nil || len(m.Controls) != 2 || m.Controls[1].State != control.Unevidenced {
			t.Fatalf("create: %+v %v", m, err)
		}
		if _, err := s.Create(ctx, acme.ID, Input{Category: Custom, Custom: "Clean desk", Title: "Screens lock after 5 minutes",
			Visibility: control.Public}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, acme.ID, Input{Category: "backups", Title: "Internal only"}); err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]Input{
			"unknown category":    {Category: "magic", Title: "x"},
			"custom without name": {Category: Custom, Title: "x"},
			"no title":            {Category: "backups"},
			"other's control":     {Category: "backups", Title: "x", ControlIDs: []string{theirs.ID}},
			"NUL":                 {Category: "backups", Title: "a\x00"},
		} {
			if _, err := s.Create(ctx, acme.ID, in); apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := s.Update(ctx, other.ID, m.ID, Input{Category: "backups", Title: "x"}); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("update from the other organisation: %v", err)
		}
		public, err := s.List(ctx, acme.ID, true)
		if err != nil || len(public) != 2 || public[0].Category != "encryption_in_transit" || len(public[0].Controls) != 1 {
			t.Fatalf("public list (annex order, private controls left out): %+v %v", public, err)
		}
		md := string(AnnexMarkdown("Acme", public, clk.Now()))
		for _, want := range []string{"## Encryption in transit", "### TLS 1.2 or newer", "TLS everywhere: unevidenced", "## Clean desk", "2026-11-23"} {
			if !strings.Contains(md, want) {
				t.Errorf("annex lacks %q:\n%s", want, md)
			}
		}
		if strings.Contains(md, "Internal only") || strings.Contains(md, "Secret internal control") {
			t.Fatalf("the annex shows private content:\n%s", md)
		}
		if err := s.Delete(ctx, acme.ID, m.ID); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action LIKE 'measure.%'`).Scan(&n); err != nil || n != 4 {
			t.Fatalf("audited measure changes: %d %v", n, err)
		}
	})
}
