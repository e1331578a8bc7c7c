// Package evidence owns what turns a claim into a fact: evidence items
// (files, links, self-attested notes, independent attestations, and later
// checks and policy versions), their validity capped per kind, their
// visibility, their links to controls, and the blob store holding files. It
// gives the posture engine the evidence of each control.
package evidence

import (
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/blob"
	"github.com/evident-isms/evident/internal/check"
	"github.com/evident-isms/evident/internal/clamav"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/job"
	"github.com/evident-isms/evident/internal/valid"
)

// Kind is the kind of an evidence item.
type Kind string

const (
	File          Kind = "file"           // an uploaded document or screenshot
	Link          Kind = "link"           // a URL to where the evidence lives
	Note          Kind = "note"           // a self-attestation by someone of the organisation
	Attestation   Kind = "attestation"    // by an independent party, with its name and firm
	Check         Kind = "check"          // an automated check (runs re-verify it)
	PolicyVersion Kind = "policy_version" // a published policy version
)

// Visibility says who may see an item.
type Visibility string

const (
	Public     Visibility = "public"     // may appear on the trust center
	Private    Visibility = "private"    // members of the organisation
	Restricted Visibility = "restricted" // those who read confidential content; downloads are audited
)

// AssuranceOf says how strongly a kind of evidence supports a claim.
func AssuranceOf(k Kind) control.Assurance {
	switch k {
	case Note:
		return control.SelfAttested
	case Attestation:
		return control.Independent
	case Check:
		return control.Automated
	}
	return control.Documented
}

// MaxValidity caps how long an item of a kind stays current after the date
// it was collected (DESIGN.md invariant 2): documented evidence and
// independent attestations at most 12 months, self-attested notes at most 3.
func MaxValidity(k Kind) (years, months int) {
	if k == Note {
		return 0, 3
	}
	return 1, 0
}

// Scan states of files.
const (
	NotScanned  = "not_scanned" // no virus scanner is configured
	Clean       = "clean"
	Quarantined = "quarantined" // infected, or the scanner failed: never served, never counted
)

// Evidence is one evidence item.
type Evidence struct {
	ID           string     `json:"id"`
	Kind         Kind       `json:"kind" enum:"file,link,note,attestation,check,policy_version"`
	Title        string     `json:"title"`
	Description  string     `json:"description"`
	CollectedOn  string     `json:"collected_on" doc:"The date the uploader says it was collected (YYYY-MM-DD)."`
	UploadedAt   time.Time  `json:"uploaded_at" doc:"When it was uploaded, recorded by Evident."`
	ValidUntil   string     `json:"valid_until" doc:"The last day it is current (YYYY-MM-DD, organisation's time zone)."`
	Current      bool       `json:"current"`
	Assurance    string     `json:"assurance" enum:"self_attested,documented,automated,independent"`
	Visibility   Visibility `json:"visibility" enum:"public,private,restricted"`
	OwnerID      string     `json:"owner_id,omitempty"`
	URL          string     `json:"url,omitempty"`
	AttestorName string     `json:"attestor_name,omitempty"`
	AttestorFirm string     `json:"attestor_firm,omitempty"`
	File         *FileInfo  `json:"file,omitempty"`
	Check        *CheckInfo `json:"check,omitempty"`
	ControlIDs   []string   `json:"control_ids"`
	CreatedBy    string     `json:"created_by"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// FileInfo describes an item's file.
type FileInfo struct {
	SHA256     string `json:"sha256"`
	Size       int64  `json:"size"`
	MediaType  string `json:"media_type"`
	Filename   string `json:"filename"`
	ScanState  string `json:"scan_state" enum:"not_scanned,clean,quarantined"`
	ScanDetail string `json:"scan_detail,omitempty"`
}

// Input is what a user sets on an item.
type Input struct {
	Kind         Kind
	Title        string
	Description  string
	CollectedOn  string // default: today
	ValidUntil   string // default: the cap of the kind
	Visibility   Visibility
	OwnerID      string
	URL          string
	AttestorName string
	AttestorFirm string
	ControlIDs   []string
}

// Limits of user-written fields.
const (
	MaxTitle       = 200
	MaxDescription = 10000
	MaxURL         = 2048
	MaxName        = 200
	MaxControls    = 200
)

// Service changes and reads evidence.
type Service struct {
	db       *db.DB
	clock    clock.Clock
	audit    *audit.Log
	blobs    blob.Store
	scanner  *clamav.Client // nil: files are stored as not scanned
	maxBytes int64
	runner   *check.Runner // nil until SetChecks
	queue    *job.Queue
	log      *slog.Logger
}

// Config configures the service.
type Config struct {
	Blobs    blob.Store
	Scanner  *clamav.Client
	MaxBytes int64        // upload limit; default DefaultMaxBytes
	Log      *slog.Logger // where scanner failures go; default slog.Default()
}

// DefaultMaxBytes is the default upload limit.
const DefaultMaxBytes = 50 << 20

// NewService returns the evidence service.
func NewService(d *db.DB, c clock.Clock, a *audit.Log, cfg Config) *Service {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{db: d, clock: c, audit: a, blobs: cfg.Blobs, scanner: cfg.Scanner, maxBytes: cfg.MaxBytes, log: cfg.Log}
}

// MaxBytes is the upload limit.
func (s *Service) MaxBytes() int64 { return s.maxBytes }

// validate checks and normalises an item's fields for the organisation's
// time zone. Files keep their kind; the caller sets it.
func (in *Input) validate(now time.Time, loc *time.Location) error {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	in.URL = strings.TrimSpace(in.URL)
	in.AttestorName = strings.TrimSpace(in.AttestorName)
	in.AttestorFirm = strings.TrimSpace(in.AttestorFirm)
	in.OwnerID = strings.TrimSpace(in.OwnerID)
	switch in.Kind {
	case File, Link, Note, Attestation:
	case Check, PolicyVersion:
		return apperr.Field("kind", "%s evidence is created by its own feature, not here", in.Kind)
	default:
		return apperr.Field("kind", "kind %q is not one of file, link, note, attestation", in.Kind)
	}
	switch {
	case in.Title == "" || utf8.RuneCountInString(in.Title) > MaxTitle || !valid.PlainText(in.Title):
		return apperr.Field("title", "evidence needs a title of 1 to %d characters", MaxTitle)
	case utf8.RuneCountInString(in.Description) > MaxDescription || !valid.PlainText(in.Description):
		return apperr.Field("description", "the description is text of at most %d characters", MaxDescription)
	case len(in.ControlIDs) > MaxControls:
		return apperr.Field("control_ids", "an item links to at most %d controls", MaxControls)
	}
	if in.Visibility == "" {
		in.Visibility = Private
	}
	switch in.Visibility {
	case Public, Private, Restricted:
	default:
		return apperr.Field("visibility", "visibility %q is not one of public, private, restricted", in.Visibility)
	}
	switch in.Kind {
	case Link:
		if err := checkURL(in.URL); err != nil {
			return err
		}
	case Attestation:
		if in.AttestorName == "" || in.AttestorFirm == "" || utf8.RuneCountInString(in.AttestorName) > MaxName ||
			utf8.RuneCountInString(in.AttestorFirm) > MaxName || !valid.PlainText(in.AttestorName+in.AttestorFirm) {
			return apperr.Field("attestor_name", "an attestation names the independent person and firm (each 1 to %d characters)", MaxName)
		}
	}
	if in.Kind != Link {
		in.URL = ""
	}
	if in.Kind != Attestation {
		in.AttestorName, in.AttestorFirm = "", ""
	}
	today := clock.DateIn(now, loc)
	if in.CollectedOn == "" {
		in.CollectedOn = today
	}
	collected, err := clock.ParseDate(in.CollectedOn, loc)
	if err != nil {
		return apperr.Field("collected_on", "the collection date %q is not a date such as 2026-11-23", in.CollectedOn)
	}
	if in.CollectedOn > today {
		return apperr.Field("collected_on", "the collection date %s is in the future", in.CollectedOn)
	}
	years, months := MaxValidity(in.Kind)
	limit := clock.DateIn(collected.AddDate(years, months, 0), loc)
	if in.ValidUntil == "" {
		in.ValidUntil = limit
	}
	if _, err := clock.ParseDate(in.ValidUntil, loc); err != nil {
		return apperr.Field("valid_until", "the end of validity %q is not a date such as 2027-11-23", in.ValidUntil)
	}
	switch {
	case in.ValidUntil < in.CollectedOn:
		return apperr.Field("valid_until", "the end of validity comes before the collection date")
	case in.ValidUntil > limit:
		what := "documented evidence and attestations stay current at most 12 months"
		if in.Kind == Note {
			what = "self-attested notes stay current at most 3 months"
		}
		return apperr.Field("valid_until", "%s after collection: at most until %s", what, limit)
	}
	return nil
}

func checkURL(raw string) error {
	if raw == "" || len(raw) > MaxURL || !valid.PlainText(raw) {
		return apperr.Field("url", "a link needs a URL of at most %d characters", MaxURL)
	}
	lower := strings.ToLower(raw)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return apperr.Field("url", "the link must start with https:// or http://")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return apperr.Field("url", "the link may not contain spaces")
	}
	return nil
}

// ValidUntilInstant is the end of an item's last valid day in the
// organisation's time zone.
func ValidUntilInstant(date string, loc *time.Location) time.Time {
	d, err := clock.ParseDate(date, loc)
	if err != nil {
		return time.Time{} // never valid
	}
	return d.AddDate(0, 0, 1)
}
