package subprocessor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/org"
)

func TestSubprocessors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
		if err != nil {
			t.Fatal(err)
		}
		clk := clock.NewSettable(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
		a := audit.New(d, clk, k)
		s := NewService(d, clk, a)
		orgs := org.NewService(d, clk, a)
		acme, _ := orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
		other, _ := orgs.Create(ctx, org.CreateInput{Slug: "other", Name: "Other"})

		host, err := s.Create(ctx, acme.ID, Input{Name: "Cloud Host SAS", LEI: "969500abcdefghijkl12", Purpose: "Hosting of the platform",
			Function: "Service delivery", DataCategories: []string{"customer account data", "customer account data"},
			ProcessingCountries: []string{"fr", "DE"}, StorageCountries: []string{"FR"}, TransferMechanism: "adequacy",
			DPAStatus: "signed", DPAURL: "https://host.example/dpa", Category: "hosting", Since: "2024-01-15"}, Terms{})
		if err != nil || host.LEI != "969500ABCDEFGHIJKL12" || len(host.DataCategories) != 1 || host.ProcessingCountries[0] != "DE" {
			t.Fatalf("create: %+v %v", host, err)
		}
		dc, err := s.Create(ctx, acme.ID, Input{Name: "=Data Centre Ltd", Purpose: "Physical hosting", ParentID: host.ID,
			TransferMechanism: "scc", ProcessingCountries: []string{"GB"}, Visibility: "private"}, Terms{})
		if err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]Input{
			"no name":        {Purpose: "x"},
			"bad LEI":        {Name: "x", Purpose: "x", LEI: "123"},
			"bad country":    {Name: "x", Purpose: "x", StorageCountries: []string{"France"}},
			"bad mechanism":  {Name: "x", Purpose: "x", TransferMechanism: "trust us"},
			"bad URL":        {Name: "x", Purpose: "x", Website: "javascript:alert(1)"},
			"other's parent": {Name: "x", Purpose: "x", ParentID: "nope"},
		} {
			if _, err := s.Create(ctx, acme.ID, in, Terms{}); apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := s.Create(ctx, other.ID, Input{Name: "x", Purpose: "x", ParentID: host.ID}, Terms{}); apperr.FieldOf(err) != "parent_id" {
			t.Fatalf("another organisation's parent: %v", err)
		}
		if _, err := s.Update(ctx, acme.ID, host.ID, Input{Name: "Cloud Host SAS", Purpose: "Hosting", ParentID: dc.ID}, Terms{}); apperr.FieldOf(err) != "parent_id" {
			t.Fatalf("a loop in the chain: %v", err)
		}
		if err := s.Delete(ctx, acme.ID, host.ID, Terms{}); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("deleting a subprocessor with subcontractors: %v", err)
		}
		list, _ := s.List(ctx, acme.ID, false)
		if len(list) != 2 || list[0].ID != host.ID || list[1].ID != dc.ID {
			t.Fatalf("chain order: %+v", list)
		}
		if pub, _ := s.List(ctx, acme.ID, true); len(pub) != 1 {
			t.Fatalf("public list: %d", len(pub))
		}
		art30 := string(Art30CSV(list))
		if !strings.Contains(art30, "Cloud Host SAS,969500ABCDEFGHIJKL12,,Hosting of the platform,customer account data,DE FR,FR,adequacy,signed") ||
			!strings.Contains(art30, "'=Data Centre Ltd,,Cloud Host SAS,") {
			t.Fatalf("Art. 30 CSV:\n%s", art30)
		}
		dora := string(DORACSV(list))
		if !strings.Contains(dora, "'=Data Centre Ltd,,,,2,Cloud Host SAS,GB") {
			t.Fatalf("DORA CSV:\n%s", dora)
		}
		var n int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'subprocessor.create'`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("audited creations: %d %v", n, err)
		}
	})
}
