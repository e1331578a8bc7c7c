// Package control owns what an organisation does about its requirements:
// the frameworks it adopts, its controls and their links to requirements,
// which requirements it marks not applicable and why, its own mappings, and
// the posture engine that computes how far it has got (DESIGN.md invariant
// 2). Translations of its public texts live in package translation.
package control

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/valid"
)

// Status is what the organisation says about a control's implementation.
type Status string

const (
	Planned     Status = "planned"
	InProgress  Status = "in_progress"
	Implemented Status = "implemented"
)

// Visibility says whether a control may appear on the public trust center.
type Visibility string

const (
	Public  Visibility = "public"
	Private Visibility = "private"
)

// Control is one control of an organisation.
type Control struct {
	ID                 string     `json:"id"`
	LibraryKey         string     `json:"library_key,omitempty" doc:"The library practice it came from."`
	Title              string     `json:"title"`
	Description        string     `json:"description"`
	OwnerID            string     `json:"owner_id,omitempty"`
	Status             Status     `json:"status" enum:"planned,in_progress,implemented"`
	Visibility         Visibility `json:"visibility" enum:"public,private"`
	ReviewIntervalDays int        `json:"review_interval_days"`
	NextReviewDate     string     `json:"next_review_date,omitempty" doc:"YYYY-MM-DD in the organisation's time zone."`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	Links              []Link     `json:"links"`
}

// Link ties a control to a requirement of an adopted framework.
type Link struct {
	FrameworkID string `json:"framework_id"`
	Ref         string `json:"ref"`
}

// Input is what a user sets on a control.
type Input struct {
	Title              string
	Description        string
	OwnerID            string
	Status             Status
	Visibility         Visibility
	ReviewIntervalDays int
	NextReviewDate     string
}

// Limits of user-written fields.
const (
	MaxTitle         = 200
	MaxDescription   = 10000
	MaxJustification = 2000
	MaxReviewDays    = 1096 // three years
)

// EvidenceSource gives the posture engine the evidence linked to each
// control of an organisation. The evidence package provides it; until then
// no control has evidence, so implemented controls are unevidenced.
type EvidenceSource interface {
	ControlEvidence(ctx context.Context, orgID string) (map[string][]EvidenceItem, error)
}

type noEvidence struct{}

func (noEvidence) ControlEvidence(context.Context, string) (map[string][]EvidenceItem, error) {
	return nil, nil
}

// Service changes and reads controls and computes posture.
type Service struct {
	db       *db.DB
	clock    clock.Clock
	audit    *audit.Log
	catalog  *catalog.Service
	evidence EvidenceSource
}

// NewService returns the control service, with no evidence source.
func NewService(d *db.DB, c clock.Clock, a *audit.Log, cat *catalog.Service) *Service {
	return &Service{db: d, clock: c, audit: a, catalog: cat, evidence: noEvidence{}}
}

// SetEvidenceSource plugs in where evidence comes from.
func (s *Service) SetEvidenceSource(src EvidenceSource) { s.evidence = src }

// validate checks and normalises a control's fields; loc is the
// organisation's time zone for the review date.
func (in *Input) validate() error {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	in.OwnerID = strings.TrimSpace(in.OwnerID)
	in.NextReviewDate = strings.TrimSpace(in.NextReviewDate)
	switch {
	case in.Title == "" || utf8.RuneCountInString(in.Title) > MaxTitle || !valid.PlainText(in.Title):
		return apperr.Field("title", "a control needs a title of 1 to %d characters, without control characters", MaxTitle)
	case utf8.RuneCountInString(in.Description) > MaxDescription || !valid.PlainText(in.Description):
		return apperr.Field("description", "the description is text of at most %d characters", MaxDescription)
	}
	if in.Status == "" {
		in.Status = Planned
	}
	switch in.Status {
	case Planned, InProgress, Implemented:
	default:
		return apperr.Field("status", "status %q is not one of planned, in_progress, implemented", in.Status)
	}
	if in.Visibility == "" {
		in.Visibility = Private
	}
	if in.Visibility != Public && in.Visibility != Private {
		return apperr.Field("visibility", "visibility %q is neither public nor private", in.Visibility)
	}
	if in.ReviewIntervalDays == 0 {
		in.ReviewIntervalDays = 365
	}
	if in.ReviewIntervalDays < 1 || in.ReviewIntervalDays > MaxReviewDays {
		return apperr.Field("review_interval_days", "the review interval is 1 to %d days", MaxReviewDays)
	}
	if in.NextReviewDate != "" {
		if _, err := clock.ParseDate(in.NextReviewDate, time.UTC); err != nil {
			return apperr.Field("next_review_date", "the next review date %q is not a date such as 2027-01-31", in.NextReviewDate)
		}
	}
	return nil
}

// Create adds a control of the organisation's own.
func (s *Service) Create(ctx context.Context, orgID string, in Input) (*Control, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	c := &Control{ID: db.NewID(now), Title: in.Title, Description: in.Description, OwnerID: in.OwnerID, Status: in.Status,
		Visibility: in.Visibility, ReviewIntervalDays: in.ReviewIntervalDays, NextReviewDate: in.NextReviewDate,
		CreatedAt: now, UpdatedAt: now, Links: []Link{}}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := checkOwner(ctx, tx, orgID, c.OwnerID); err != nil {
			return err
		}
		if err := insertControl(ctx, tx, orgID, c); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "control.create", TargetType: "control", TargetID: c.ID,
			Fields: controlFields(c)})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "create control")
	}
	return c, nil
}

// Update changes a control's fields.
func (s *Service) Update(ctx context.Context, orgID, id string, in Input) (*Control, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var c *Control
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		old, err := getControl(ctx, tx, orgID, id)
		if err != nil {
			return err
		}
		if err := checkOwner(ctx, tx, orgID, in.OwnerID); err != nil {
			return err
		}
		c = &Control{ID: old.ID, LibraryKey: old.LibraryKey, Title: in.Title, Description: in.Description, OwnerID: in.OwnerID,
			Status: in.Status, Visibility: in.Visibility, ReviewIntervalDays: in.ReviewIntervalDays,
			NextReviewDate: in.NextReviewDate, CreatedAt: old.CreatedAt, UpdatedAt: s.clock.Now()}
		changed := changedFields(old, c)
		if len(changed) == 0 {
			c = old
			return nil
		}
		if err := updateControl(ctx, tx, orgID, c); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "control.update", TargetType: "control", TargetID: id,
			Fields: changed})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "update control")
	}
	return s.Get(ctx, orgID, c.ID)
}

// Delete removes a control and its links.
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		c, err := getControl(ctx, tx, orgID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM control_requirements WHERE org_id = $1 AND control_id = $2`, orgID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM translations WHERE org_id = $1 AND entity = 'control' AND entity_id = $2`, orgID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE controls SET deleted_at = $3 WHERE org_id = $1 AND id = $2`,
			orgID, id, clock.Micros(s.clock.Now())); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "control.delete", TargetType: "control", TargetID: id,
			Fields: map[string]any{"title": c.Title}})
	}), "delete control")
}

// Get returns one live control with its links.
func (s *Service) Get(ctx context.Context, orgID, id string) (*Control, error) {
	c, err := getControl(ctx, s.db.Read, orgID, id)
	if err != nil {
		return nil, apperr.Wrap(err, "read control")
	}
	links, err := linksOf(ctx, s.db.Read, orgID, id)
	if err != nil {
		return nil, apperr.Wrap(err, "read control")
	}
	c.Links = links
	return c, nil
}

func controlFields(c *Control) map[string]any {
	return map[string]any{"title": c.Title, "description": c.Description, "owner_id": c.OwnerID, "status": string(c.Status),
		"visibility": string(c.Visibility), "review_interval_days": c.ReviewIntervalDays, "next_review_date": c.NextReviewDate,
		"library_key": c.LibraryKey}
}

// changedFields lists the fields that differ, with their new values.
func changedFields(old, c *Control) map[string]any {
	before, after := controlFields(old), controlFields(c)
	out := map[string]any{}
	for k, v := range after {
		if before[k] != v {
			out[k] = v
		}
	}
	return out
}

// checkOwner refuses an owner who is not a member of the organisation.
func checkOwner(ctx context.Context, q db.Querier, orgID, userID string) error {
	if userID == "" {
		return nil
	}
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 AND m.user_id = $2 AND u.deleted_at IS NULL`, orgID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.Field("owner_id", "the owner must be a member of the organisation")
	}
	return err
}
