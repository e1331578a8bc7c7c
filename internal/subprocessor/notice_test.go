package subprocessor

import (
	"context"
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

// recorder stands for the subscribers and the webhooks: it records what it
// was told, and can fail to prove a notice is all-or-nothing with its change.
type recorder struct {
	announced []string
	published []string
	fail      bool
}

func (r *recorder) Announce(_ context.Context, tx *db.Tx, _, topic, ref string) error {
	if tx == nil {
		panic("announced outside the change's transaction")
	}
	if r.fail {
		return apperr.New(apperr.Invalid, "refused")
	}
	r.announced = append(r.announced, topic+":"+ref)
	return nil
}

func (r *recorder) Publish(_ context.Context, tx *db.Tx, _, topic, eventType string, data any) error {
	if tx == nil {
		panic("published outside the change's transaction")
	}
	n := data.(*Notice)
	r.published = append(r.published, topic+":"+eventType+":"+n.ID)
	return nil
}

func TestChangeNotices(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
		if err != nil {
			t.Fatal(err)
		}
		// 23:30 UTC is already the next day in Paris: dates are the organisation's.
		clk := clock.NewSettable(time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC))
		a := audit.New(d, clk, k)
		s := NewService(d, clk, a)
		rec := &recorder{}
		s.SetNotifiers(rec, rec)
		orgs := org.NewService(d, clk, a)
		acme, err := orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme", TimeZone: "Europe/Paris"})
		if err != nil {
			t.Fatal(err)
		}
		// Each change happens a minute after the one before, so the
		// newest notice comes first.
		notices := func() []Notice {
			t.Helper()
			clk.Advance(time.Minute)
			list, err := s.Notices(ctx, acme.ID, 100)
			if err != nil {
				t.Fatal(err)
			}
			return list
		}

		// A private subprocessor gives no notice.
		priv, err := s.Create(ctx, acme.ID, Input{Name: "Internal Tool", Purpose: "x", Visibility: "private"}, Terms{})
		if err != nil || len(notices()) != 0 {
			t.Fatalf("private creation: %v, %d notices", err, len(notices()))
		}

		// A public one: added, effective after the default 30 days, counted in Paris.
		host, err := s.Create(ctx, acme.ID, Input{Name: "Cloud Host", Purpose: "Hosting", ProcessingCountries: []string{"FR"}}, Terms{})
		if err != nil {
			t.Fatal(err)
		}
		list := notices()
		if len(list) != 1 || list[0].Change != Added || list[0].EffectiveOn != "2026-12-24" || list[0].NoticeDays != 30 ||
			list[0].SubprocessorName != "Cloud Host" || list[0].ShortReason != "" {
			t.Fatalf("added notice: %+v", list)
		}
		if len(rec.announced) != 1 || rec.announced[0] != "subprocessors:"+list[0].ID ||
			len(rec.published) != 1 || rec.published[0] != "subprocessors:subprocessor.notice.created:"+list[0].ID {
			t.Fatalf("sent on: %v %v", rec.announced, rec.published)
		}

		// A shorter notice needs a reason; a date in the past is refused;
		// neither changes anything.
		changed := Input{Name: "Cloud Host", Purpose: "Hosting and backups", ProcessingCountries: []string{"FR", "DE"}}
		for name, tc := range map[string]struct {
			terms Terms
			field string
		}{
			"short without reason": {Terms{EffectiveOn: "2026-12-01"}, "notice_reason"},
			"in the past":          {Terms{EffectiveOn: "2026-11-23", Reason: "urgent"}, "notice_effective_on"},
			"not a date":           {Terms{EffectiveOn: "next week"}, "notice_effective_on"},
		} {
			if _, err := s.Update(ctx, acme.ID, host.ID, changed, tc.terms); apperr.FieldOf(err) != tc.field {
				t.Errorf("%s: %v, want an error on %s", name, err, tc.field)
			}
		}
		if got, _ := s.Get(ctx, acme.ID, host.ID); got.Purpose != "Hosting" || len(notices()) != 1 {
			t.Fatalf("a refused change was stored: %+v, %d notices", got, len(notices()))
		}

		// With a reason, a short notice is recorded, and each change listed.
		if _, err := s.Update(ctx, acme.ID, host.ID, changed, Terms{EffectiveOn: "2026-12-01", Reason: "The old provider closes its region"}); err != nil {
			t.Fatal(err)
		}
		n := notices()[0]
		if n.Change != Changed || n.EffectiveOn != "2026-12-01" || n.ShortReason != "The old provider closes its region" ||
			len(n.Changes) != 2 || n.Changes[0] != (FieldChange{"purpose", "Hosting", "Hosting and backups"}) ||
			n.Changes[1] != (FieldChange{"processing_countries", "FR", "DE, FR"}) {
			t.Fatalf("changed notice: %+v", n)
		}
		// A reason given for a full notice is not recorded: it would mislead.
		changed.Website = "https://host.example"
		if _, err := s.Update(ctx, acme.ID, host.ID, changed, Terms{Reason: "no reason needed"}); err != nil {
			t.Fatal(err)
		}
		if n := notices()[0]; n.ShortReason != "" || n.EffectiveOn != "2026-12-24" {
			t.Fatalf("full notice: %+v", n)
		}
		// Saving without a visible change gives no notice.
		if _, err := s.Update(ctx, acme.ID, host.ID, changed, Terms{}); err != nil || len(notices()) != 3 {
			t.Fatalf("no change: %v, %d notices", err, len(notices()))
		}

		// Visibility: private → public is an addition, public → private a removal.
		if _, err := s.Update(ctx, acme.ID, priv.ID, Input{Name: "Internal Tool", Purpose: "x"}, Terms{}); err != nil || notices()[0].Change != Added {
			t.Fatalf("made public: %v %+v", err, notices()[0])
		}
		if _, err := s.Update(ctx, acme.ID, priv.ID, Input{Name: "Internal Tool", Purpose: "x", Visibility: "private"}, Terms{}); err != nil || notices()[0].Change != Removed {
			t.Fatalf("made private: %v %+v", err, notices()[0])
		}

		// The notice period is the organisation's; deleting a public one is a removal.
		if err := s.SetNoticeDays(ctx, acme.ID, 366); apperr.FieldOf(err) != "notice_days" {
			t.Fatalf("a period of 366 days: %v", err)
		}
		if err := s.SetNoticeDays(ctx, acme.ID, 60); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, acme.ID, host.ID, Terms{}); err != nil {
			t.Fatal(err)
		}
		removal := notices()[0]
		if removal.Change != Removed || removal.NoticeDays != 60 || removal.EffectiveOn != "2027-01-23" || removal.SubprocessorName != "Cloud Host" {
			t.Fatalf("removal: %+v", removal)
		}

		// A failing announcement undoes the change with its notice.
		rec.fail = true
		if _, err := s.Create(ctx, acme.ID, Input{Name: "Mailer", Purpose: "e-mail"}, Terms{}); err == nil {
			t.Fatal("created although the announcement failed")
		}
		rec.fail = false
		if all, _ := s.List(ctx, acme.ID, false); len(all) != 1 || len(notices()) != 6 {
			t.Fatalf("after a failed announcement: %d subprocessors, %d notices", len(all), len(notices()))
		}

		// Objections: recorded once per address (again replaces the reason),
		// counted on the notice, listed per notice.
		if err := s.Object(ctx, acme.ID, removal.ID, "cto@customer.example", "We need them"); err != nil {
			t.Fatal(err)
		}
		if err := s.Object(ctx, acme.ID, removal.ID, "cto@customer.example", "We really need them"); err != nil {
			t.Fatal(err)
		}
		if err := s.Object(ctx, acme.ID, "nope", "cto@customer.example", ""); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("objection to an unknown notice: %v", err)
		}
		objs, err := s.Objections(ctx, acme.ID, removal.ID)
		if err != nil || len(objs) != 1 || objs[0].Reason != "We really need them" {
			t.Fatalf("objections: %+v %v", objs, err)
		}
		if got, _ := s.GetNotice(ctx, acme.ID, removal.ID); got.Objections != 1 {
			t.Fatalf("objection count: %+v", got)
		}
		other, _ := orgs.Create(ctx, org.CreateInput{Slug: "other", Name: "Other"})
		if _, err := s.GetNotice(ctx, other.ID, removal.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("another organisation's notice: %v", err)
		}
		var audited int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'notice.create'`).Scan(&audited); err != nil || audited != 6 {
			t.Fatalf("audited notices: %d %v", audited, err)
		}
	})
}

// Changed values read as words where the field has them.
func TestValueLabel(t *testing.T) {
	for _, tt := range []struct{ lang, field, v, want string }{
		{"fr", "transfer_mechanism", "scc", "clauses contractuelles types"},
		{"en", "status", "planned", "planned"},
		{"fr", "status", "removed", "retiré"},
		{"fr", "purpose", "Hosting", "Hosting"},
		{"fr", "transfer_mechanism", "", ""},
	} {
		if got := ValueLabel(tt.lang, tt.field, tt.v); got != tt.want {
			t.Errorf("ValueLabel(%s, %s, %q) = %q, want %q", tt.lang, tt.field, tt.v, got, tt.want)
		}
	}
}
