package org_test

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

var ctx = context.Background()

func TestCreate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newService(t, d)
		tests := []struct {
			name  string
			in    org.CreateInput
			code  apperr.Code // "" for success
			field string
		}{
			{"minimal", org.CreateInput{Slug: "acme", Name: "Acme"}, "", ""},
			{"normalised slug and zone", org.CreateInput{Slug: "  Beta-Co ", Name: " Beta ", TimeZone: "Europe/Paris"}, "", ""},
			{"duplicate slug", org.CreateInput{Slug: "acme", Name: "Other"}, apperr.Conflict, "slug"},
			{"duplicate slug in another case", org.CreateInput{Slug: "ACME", Name: "Other"}, apperr.Conflict, "slug"},
			{"short slug", org.CreateInput{Slug: "ab", Name: "X"}, apperr.Invalid, "slug"},
			{"long slug", org.CreateInput{Slug: "a123456789012345678901234567890123456789012345678901234567890123", Name: "X"}, apperr.Invalid, "slug"},
			{"leading hyphen", org.CreateInput{Slug: "-abc", Name: "X"}, apperr.Invalid, "slug"},
			{"trailing hyphen", org.CreateInput{Slug: "abc-", Name: "X"}, apperr.Invalid, "slug"},
			{"underscore", org.CreateInput{Slug: "a_bc", Name: "X"}, apperr.Invalid, "slug"},
			{"unicode", org.CreateInput{Slug: "café", Name: "X"}, apperr.Invalid, "slug"},
			{"no name", org.CreateInput{Slug: "noname", Name: "  "}, apperr.Invalid, "name"},
			{"control character", org.CreateInput{Slug: "ctrl", Name: "a\x00b"}, apperr.Invalid, "name"},
			{"bad zone", org.CreateInput{Slug: "zone", Name: "Z", TimeZone: "Mars/Olympus"}, apperr.Invalid, "time_zone"},
			{"local zone", org.CreateInput{Slug: "zone", Name: "Z", TimeZone: "Local"}, apperr.Invalid, "time_zone"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				o, err := s.Create(ctx, tt.in)
				if tt.code == "" {
					if err != nil {
						t.Fatal(err)
					}
					if o.ID == "" || o.CreatedAt.IsZero() {
						t.Fatalf("created %+v", o)
					}
					return
				}
				if apperr.CodeOf(err) != tt.code || apperr.FieldOf(err) != tt.field {
					t.Fatalf("error %v (code %s, field %q), want code %s on field %q", err, apperr.CodeOf(err), apperr.FieldOf(err), tt.code, tt.field)
				}
			})
		}

		orgs, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(orgs) != 2 || orgs[0].Slug != "acme" || orgs[1].Slug != "beta-co" || orgs[1].Name != "Beta" || orgs[1].TimeZone != "Europe/Paris" {
			t.Fatalf("list: %+v", orgs)
		}
		if orgs[0].TimeZone != "UTC" || orgs[1].Location().String() != "Europe/Paris" {
			t.Fatalf("zones: %s, %s", orgs[0].TimeZone, orgs[1].Location())
		}
		if o, err := s.BySlug(ctx, "Beta-Co"); err != nil || o.Name != "Beta" {
			t.Fatalf("BySlug: %+v, %v", o, err)
		}
		if _, err := s.BySlug(ctx, "nope"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("BySlug of a missing slug: %v", err)
		}
	})
}

func TestDeletedOrgFreesItsSlug(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newService(t, d)
		if _, err := s.Create(ctx, org.CreateInput{Slug: "gone", Name: "Gone"}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write.ExecContext(ctx, `UPDATE orgs SET deleted_at = 1 WHERE slug = 'gone'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, org.CreateInput{Slug: "gone", Name: "New"}); err != nil {
			t.Fatalf("slug of a deleted organisation: %v", err)
		}
		if _, err := s.BySlug(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
	})
}

func newService(t *testing.T, d *db.DB) *org.Service {
	t.Helper()
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	return org.NewService(d, clk, audit.New(d, clk, k))
}

func TestSetSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newService(t, d)
		o, err := s.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			days int
			ok   bool
		}{{0, true}, {29, false}, {30, true}, {3650, true}, {3651, false}, {-1, false}} {
			err := s.SetSettings(ctx, o.ID, org.Settings{RequireTOTP: true, AuditRetentionDays: tc.days})
			if (err == nil) != tc.ok || (err != nil && apperr.FieldOf(err) != "audit_retention_days") {
				t.Errorf("%d days: %v", tc.days, err)
			}
		}
		got, _ := s.ByID(ctx, o.ID)
		if !got.RequireTOTP || got.AuditRetentionDays != 3650 {
			t.Fatalf("saved settings: %+v", got)
		}
		if err := s.SetSettings(ctx, "no-such-org", org.Settings{}); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("unknown organisation: %v", err)
		}
		var changes int
		_ = d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE chain = $1 AND action = 'org.settings_change'`, o.ID).Scan(&changes)
		if changes != 3 {
			t.Fatalf("%d settings changes in the audit log, want 3", changes)
		}
	})
}
