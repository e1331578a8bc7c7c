package translation_test

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
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/measure"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/subprocessor"
	"github.com/evident-isms/evident/internal/translation"
)

// fixture is two organisations, each with one row of every entity.
type fixture struct {
	svc   *translation.Service
	audit *audit.Log
	acme  string
	other string
	ids   map[string]map[string]string // org → entity → entity_id
	// deleted is a measure of acme that was deleted.
	deleted string
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewSettable(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	a := audit.New(d, clk, k)
	controls := control.NewService(d, clk, a, catalog.NewService(d, clk, a))
	measures := measure.NewService(d, clk, a, controls)
	subs := subprocessor.NewService(d, clk, a)
	items := evidence.NewService(d, clk, a, evidence.Config{})
	orgs := org.NewService(d, clk, a)
	profile := org.NewProfileService(d, clk, a)
	f := &fixture{svc: translation.NewService(d, clk, a), audit: a, ids: map[string]map[string]string{}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, slug := range []string{"acme", "other"} {
		o, err := orgs.Create(ctx, org.CreateInput{Slug: slug, Name: slug})
		must(err)
		ids := map[string]string{"gdpr": "32", "profile": o.ID}
		c, err := controls.Create(ctx, o.ID, control.Input{Title: "Access reviews of " + slug})
		must(err)
		ids["control"] = c.ID
		m, err := measures.Create(ctx, o.ID, measure.Input{Category: "backups", Title: "Daily backups of " + slug})
		must(err)
		ids["measure"] = m.ID
		it, err := items.Create(ctx, o.ID, evidence.Input{Kind: evidence.Link, Title: "Backup report of " + slug,
			URL: "https://" + slug + ".example/backups", Visibility: evidence.Public})
		must(err)
		ids["evidence"] = it.ID
		sp, err := subs.Create(ctx, o.ID, subprocessor.Input{Name: "Host of " + slug, Purpose: "Hosting", Function: "Delivery"}, subprocessor.Terms{})
		must(err)
		ids["subprocessor"] = sp.ID
		cert, err := profile.CreateCertification(ctx, o.ID, org.CertificationInput{Kind: org.PenTest, Name: "Pen test of " + slug,
			Firm: "Testers", TestedOn: "2026-10-01", Scope: "The web application"})
		must(err)
		ids["certification"] = cert.ID
		road, err := profile.CreateRoadmapItem(ctx, o.ID, org.RoadmapInput{Title: "SOC 2 for " + slug, Description: "Type 2 next year"})
		must(err)
		ids["roadmap"] = road.ID
		must(profile.SetGDPR(ctx, o.ID, "32", "Encryption at rest and in transit"))
		_, err = profile.Set(ctx, o.ID, org.Profile{Architecture: "Two regions, one database"})
		must(err)
		f.ids[slug] = ids
		if slug == "acme" {
			f.acme = o.ID
			gone, err := measures.Create(ctx, o.ID, measure.Input{Category: "backups", Title: "Deleted"})
			must(err)
			must(measures.Delete(ctx, o.ID, gone.ID))
			f.deleted = gone.ID
		} else {
			f.other = o.ID
		}
	}
	return f
}

func find(ts []translation.Translation, field, lang string) (string, bool) {
	for _, t := range ts {
		if t.Field == field && t.Lang == lang {
			return t.Text, true
		}
	}
	return "", false
}

// Every field of every entity can be set, replaced, looked up and removed.
func TestSetReplaceRemove(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		for _, name := range translation.Entities() {
			fields, _ := translation.Fields(name)
			id := f.ids["acme"][name]
			for _, field := range fields {
				t.Run(name+"/"+field.Name, func(t *testing.T) {
					if err := f.svc.Set(ctx, f.acme, name, id, field.Name, "fr", "  Première version "); err != nil {
						t.Fatalf("set: %v", err)
					}
					if err := f.svc.Set(ctx, f.acme, name, id, field.Name, "fr", "Seconde version"); err != nil {
						t.Fatalf("replace: %v", err)
					}
					ts, err := f.svc.List(ctx, f.acme, name, id)
					if text, ok := find(ts, field.Name, "fr"); err != nil || !ok || text != "Seconde version" {
						t.Fatalf("list after replace: %+v %v", ts, err)
					}
					m, err := f.svc.Lookup(ctx, f.acme, "fr", name)
					if err != nil || translation.Pick(m, id, field.Name, "original") != "Seconde version" {
						t.Fatalf("lookup: %v %v", m, err)
					}
					if m, _ := f.svc.Lookup(ctx, f.acme, "en", name); translation.Pick(m, id, field.Name, "original") != "original" {
						t.Fatalf("an English lookup shows the French text: %v", m)
					}
					if err := f.svc.Set(ctx, f.acme, name, id, field.Name, "fr", "  "); err != nil {
						t.Fatalf("remove: %v", err)
					}
					ts, _ = f.svc.List(ctx, f.acme, name, id)
					if _, ok := find(ts, field.Name, "fr"); ok {
						t.Fatalf("still there after removal: %+v", ts)
					}
					// Removing what is not there is no mistake.
					if err := f.svc.Set(ctx, f.acme, name, id, field.Name, "en", ""); err != nil {
						t.Fatalf("remove a missing one: %v", err)
					}
				})
			}
		}
	})
}

func TestRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		acme, other := f.ids["acme"], f.ids["other"]
		for _, c := range []struct {
			name                      string
			entity, id, field, lang   string
			text                      string
			code                      apperr.Code
			errField, messageContains string
		}{
			{"unknown entity", "invoice", acme["measure"], "title", "fr", "x", apperr.Invalid, "entity", "control, evidence, gdpr, measure"},
			{"unknown field", "measure", acme["measure"], "category", "fr", "x", apperr.Invalid, "field", "title, description"},
			{"a field of another entity", "subprocessor", acme["subprocessor"], "title", "fr", "x", apperr.Invalid, "field", "purpose, function"},
			{"unknown language", "measure", acme["measure"], "title", "de", "x", apperr.Invalid, "lang", "en, fr"},
			{"too long a title", "measure", acme["measure"], "title", "fr", strings.Repeat("é", 201), apperr.Invalid, "text", "200"},
			{"too long a purpose", "subprocessor", acme["subprocessor"], "purpose", "fr", strings.Repeat("x", 2001), apperr.Invalid, "text", "2000"},
			{"control characters", "roadmap", acme["roadmap"], "title", "fr", "a\x00b", apperr.Invalid, "text", ""},
			{"another organisation's measure", "measure", other["measure"], "title", "fr", "x", apperr.NotFound, "", "measure"},
			{"another organisation's control", "control", other["control"], "title", "fr", "x", apperr.NotFound, "", ""},
			{"another organisation's certification", "certification", other["certification"], "name", "fr", "x", apperr.NotFound, "", ""},
			{"another organisation's roadmap item", "roadmap", other["roadmap"], "title", "fr", "x", apperr.NotFound, "", ""},
			{"another organisation's subprocessor", "subprocessor", other["subprocessor"], "purpose", "fr", "x", apperr.NotFound, "", ""},
			{"another organisation's profile", "profile", other["profile"], "architecture", "fr", "x", apperr.NotFound, "", ""},
			{"a deleted measure", "measure", f.deleted, "title", "fr", "x", apperr.NotFound, "", ""},
			{"an article without commitment", "gdpr", "15", "text", "fr", "x", apperr.NotFound, "", ""},
			{"no such row", "measure", "nope", "title", "fr", "x", apperr.NotFound, "", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				err := f.svc.Set(ctx, f.acme, c.entity, c.id, c.field, c.lang, c.text)
				if apperr.CodeOf(err) != c.code || apperr.FieldOf(err) != c.errField || !strings.Contains(apperr.MessageOf(err), c.messageContains) {
					t.Fatalf("got %v (code %s, field %q)", err, apperr.CodeOf(err), apperr.FieldOf(err))
				}
				// Reading answers the same for rows that are not the organisation's.
				if c.code == apperr.NotFound {
					if _, err := f.svc.List(ctx, f.acme, c.entity, c.id); apperr.CodeOf(err) != apperr.NotFound {
						t.Fatalf("list: %v", err)
					}
					if _, err := f.svc.Item(ctx, f.acme, c.entity, c.id); apperr.CodeOf(err) != apperr.NotFound {
						t.Fatalf("item: %v", err)
					}
				}
			})
		}
		if _, err := f.svc.Lookup(ctx, f.acme, "de", "measure"); apperr.FieldOf(err) != "lang" {
			t.Fatalf("lookup in an unknown language: %v", err)
		}
		if _, err := f.svc.Lookup(ctx, f.acme, "fr", "invoice"); apperr.FieldOf(err) != "entity" {
			t.Fatalf("lookup of an unknown entity: %v", err)
		}
	})
}

// Lookup answers only the organisation's translations, even for an entity
// id of another organisation; a deleted row's translations stay its own.
func TestLookupIsolation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		mine, theirs := f.ids["acme"]["measure"], f.ids["other"]["measure"]
		for _, s := range []struct{ org, id, text string }{{f.acme, mine, "Sauvegardes d'acme"}, {f.other, theirs, "Sauvegardes d'other"}} {
			if err := f.svc.Set(ctx, s.org, "measure", s.id, "title", "fr", s.text); err != nil {
				t.Fatal(err)
			}
		}
		m, err := f.svc.Lookup(ctx, f.acme, "fr", "measure")
		if err != nil || len(m) != 1 || translation.Pick(m, mine, "title", "") != "Sauvegardes d'acme" {
			t.Fatalf("acme's lookup: %v %v", m, err)
		}
		if got := translation.Pick(m, theirs, "title", "original"); got != "original" {
			t.Fatalf("acme's lookup shows other's translation: %q", got)
		}
		// Another entity with the same id answers nothing.
		if m, _ := f.svc.Lookup(ctx, f.acme, "fr", "control"); len(m) != 0 {
			t.Fatalf("control lookup: %v", m)
		}
		m, _ = f.svc.Lookup(ctx, f.other, "fr", "measure")
		if len(m) != 1 || m[theirs]["title"] != "Sauvegardes d'other" {
			t.Fatalf("other's lookup: %v", m)
		}
	})
}

// Every change is in the organisation's audit chain, aimed at the row.
func TestAudited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		id := f.ids["acme"]["subprocessor"]
		if err := f.svc.Set(ctx, f.acme, "subprocessor", id, "purpose", "fr", "Hébergement"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Set(ctx, f.acme, "subprocessor", id, "purpose", "fr", ""); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Set(ctx, f.acme, "profile", f.acme, "architecture", "en", "Two regions"); err != nil {
			t.Fatal(err)
		}
		items, _, err := f.audit.List(ctx, f.acme, audit.Filter{Action: "translation.set", TargetType: "subprocessor", TargetID: id})
		if err != nil || len(items) != 2 {
			t.Fatalf("audit of the subprocessor: %+v %v", items, err)
		}
		// Newest first: the removal, then the translation.
		if items[0].Fields["text"] != "" || items[1].Fields["text"] != "Hébergement" || items[1].Fields["field"] != "purpose" ||
			items[1].Fields["lang"] != "fr" {
			t.Fatalf("audit fields: %+v %+v", items[0].Fields, items[1].Fields)
		}
		if items, _, _ := f.audit.List(ctx, f.acme, audit.Filter{Action: "translation.set", TargetType: "org", TargetID: f.acme}); len(items) != 1 {
			t.Fatalf("audit of the profile: %+v", items)
		}
		// A refused change leaves no trace.
		_ = f.svc.Set(ctx, f.acme, "subprocessor", f.ids["other"]["subprocessor"], "purpose", "fr", "x")
		if items, _, _ := f.audit.List(ctx, f.other, audit.Filter{Action: "translation.set"}); len(items) != 0 {
			t.Fatalf("refused change audited: %+v", items)
		}
	})
}

// Item gives the originals a translator works from.
func TestItem(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		for _, c := range []struct {
			entity, name, field, original string
		}{
			{"measure", "Daily backups of acme", "title", "Daily backups of acme"},
			{"certification", "Pen test of acme", "scope", "The web application"},
			{"roadmap", "SOC 2 for acme", "description", "Type 2 next year"},
			{"gdpr", "32", "text", "Encryption at rest and in transit"},
			{"profile", "", "architecture", "Two regions, one database"},
			{"subprocessor", "Host of acme", "function", "Delivery"},
		} {
			it, err := f.svc.Item(ctx, f.acme, c.entity, f.ids["acme"][c.entity])
			if err != nil || it.Name != c.name || it.Original[c.field] != c.original {
				t.Errorf("%s: %+v %v", c.entity, it, err)
			}
		}
	})
}

// The registry's limits are the entities' own, so a translation fits
// wherever the original does.
func TestLimitsMatchTheEntities(t *testing.T) {
	for _, c := range []struct {
		entity, field string
		max           int
	}{
		{"control", "title", control.MaxTitle},
		{"control", "description", control.MaxDescription},
		{"evidence", "title", evidence.MaxTitle},
		{"evidence", "description", evidence.MaxDescription},
		{"measure", "title", measure.MaxTitle},
		{"measure", "description", measure.MaxDescription},
		{"certification", "scope", org.MaxProfileText},
		{"roadmap", "description", org.MaxProfileText},
		{"gdpr", "text", org.MaxCommitmentText},
		{"profile", "architecture", org.MaxProfileText},
	} {
		fields, ok := translation.Fields(c.entity)
		found := false
		for _, f := range fields {
			if f.Name == c.field {
				found = true
				if f.Max != c.max {
					t.Errorf("%s.%s: limit %d, the entity's is %d", c.entity, c.field, f.Max, c.max)
				}
			}
		}
		if !ok || !found {
			t.Errorf("%s.%s is not in the registry", c.entity, c.field)
		}
	}
}

func TestPick(t *testing.T) {
	m := map[string]map[string]string{"a": {"title": "Titre"}}
	for _, c := range []struct{ id, field, want string }{
		{"a", "title", "Titre"}, {"a", "description", "orig"}, {"b", "title", "orig"},
	} {
		if got := translation.Pick(m, c.id, c.field, "orig"); got != c.want {
			t.Errorf("Pick(%s, %s) = %q, want %q", c.id, c.field, got, c.want)
		}
	}
	if got := translation.Pick(nil, "a", "title", "orig"); got != "orig" {
		t.Errorf("Pick on no lookup = %q", got)
	}
}
