// Package org owns organisations: the tenants of an Evident instance.
package org

import (
	"context"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // time zones must resolve on machines without a zoneinfo database
	"unicode"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// Org is an organisation.
type Org struct {
	ID       string
	Slug     string
	Name     string
	TimeZone string // IANA name; calendar dates of the organisation are read in it
	// RequireTOTP makes every member enrol a second factor before using
	// the organisation's console.
	RequireTOTP bool
	// AuditRetentionDays is how long the personal data of the audit log is
	// kept; 0 means the default of 13 months.
	AuditRetentionDays int
	// PublicSite publishes the organisation's trust center; until then
	// only its members see it, in the console's preview.
	PublicSite bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Location returns the organisation's time zone.
func (o Org) Location() *time.Location {
	loc, err := time.LoadLocation(o.TimeZone)
	if err != nil {
		return time.UTC // zones are validated on write; an old tzdata is the only way here
	}
	return loc
}

// Service creates and reads organisations.
type Service struct {
	db    *db.DB
	clock clock.Clock
	audit *audit.Log
}

// NewService returns the organisation service.
func NewService(d *db.DB, c clock.Clock, a *audit.Log) *Service {
	return &Service{db: d, clock: c, audit: a}
}

// CreateInput is what creating an organisation takes.
type CreateInput struct {
	Slug     string
	Name     string
	TimeZone string // default UTC
}

// Slug rules: 3 to 63 lower-case letters, digits and hyphens, starting and
// ending with a letter or digit (so it is also a valid DNS label).
var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

// NormaliseSlug is how slugs are compared and stored: trimmed, lower case.
func NormaliseSlug(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateSlug checks a slug as typed, after normalisation; the message
// quotes it as typed.
func ValidateSlug(typed string) error {
	if !slugPattern.MatchString(NormaliseSlug(typed)) {
		return apperr.Field("slug", "slug %q is invalid: use 3 to 63 lower-case letters, digits and hyphens, starting and ending with a letter or digit", strings.TrimSpace(typed))
	}
	return nil
}

const maxNameRunes = 200

func validateName(name string) error {
	if name == "" {
		return apperr.Field("name", "name is required")
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxNameRunes {
		return apperr.Field("name", "name must be at most %d characters of text", maxNameRunes)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return apperr.Field("name", "name must not contain control characters")
		}
	}
	return nil
}

// ValidateTimeZone checks an IANA time zone name.
func ValidateTimeZone(tz string) error {
	if tz == "" || tz == "Local" {
		return apperr.Field("time_zone", "time zone %q is not an IANA time zone such as Europe/Paris or UTC", tz)
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return apperr.Field("time_zone", "time zone %q is not an IANA time zone such as Europe/Paris or UTC", tz)
	}
	return nil
}

// Create validates in and creates the organisation.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Org, error) {
	o := &Org{Slug: NormaliseSlug(in.Slug), Name: strings.TrimSpace(in.Name), TimeZone: strings.TrimSpace(in.TimeZone)}
	if o.TimeZone == "" {
		o.TimeZone = "UTC"
	}
	if err := ValidateSlug(in.Slug); err != nil {
		return nil, err
	}
	if err := validateName(o.Name); err != nil {
		return nil, err
	}
	if err := ValidateTimeZone(o.TimeZone); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	o.ID, o.CreatedAt, o.UpdatedAt = db.NewID(now), now, now
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := insert(ctx, tx, o); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: o.ID, Action: "org.create", TargetType: "org", TargetID: o.ID,
			Fields: map[string]any{"slug": o.Slug, "org_name": o.Name, "time_zone": o.TimeZone}})
	})
	if db.IsUniqueViolation(err) {
		return nil, &apperr.Error{Code: apperr.Conflict, Field: "slug", Message: "an organisation with slug \"" + o.Slug + "\" already exists"}
	}
	if err != nil {
		return nil, apperr.Wrap(err, "create organisation")
	}
	return o, nil
}

// List returns every live organisation, by slug.
func (s *Service) List(ctx context.Context) ([]Org, error) {
	orgs, err := list(ctx, s.db.Read)
	if err != nil {
		return nil, apperr.Wrap(err, "list organisations")
	}
	return orgs, nil
}

// ByID returns the live organisation with the id.
func (s *Service) ByID(ctx context.Context, id string) (*Org, error) {
	return byID(ctx, s.db.Read, id)
}

// Settings are what an organisation's admins change on its settings page.
type Settings struct {
	RequireTOTP        bool
	AuditRetentionDays int // 0: the default; else 30 to 3650
	PublicSite         bool
}

// Bounds of the audit personal-data retention an organisation may choose.
const (
	MinAuditRetentionDays = 30
	MaxAuditRetentionDays = 3650
)

// SetSettings changes the organisation's settings.
func (s *Service) SetSettings(ctx context.Context, id string, set Settings) error {
	if set.AuditRetentionDays != 0 && (set.AuditRetentionDays < MinAuditRetentionDays || set.AuditRetentionDays > MaxAuditRetentionDays) {
		return apperr.Field("audit_retention_days", "keep audit personal data between %d and %d days, or 0 for the default of 13 months",
			MinAuditRetentionDays, MaxAuditRetentionDays)
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := setSettings(ctx, tx, id, set, s.clock.Now()); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: id, Action: "org.settings_change", TargetType: "org", TargetID: id,
			Fields: map[string]any{"require_totp": set.RequireTOTP, "audit_retention_days": set.AuditRetentionDays,
				"public_site": set.PublicSite}})
	})
}

// BySlug returns the live organisation with the slug.
func (s *Service) BySlug(ctx context.Context, slug string) (*Org, error) {
	o, err := bySlug(ctx, s.db.Read, NormaliseSlug(slug))
	if err != nil {
		return nil, err
	}
	return o, nil
}
