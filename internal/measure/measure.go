// Package measure owns an organisation's technical and organisational
// measures: what a data processing agreement's annex lists (encryption,
// authentication, backups, …), each linked to the controls whose posture
// shows whether it holds, and the annex itself as Markdown and PDF.
package measure

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/valid"
)

// Category is a kind of measure, in the order the annex lists them.
type Category struct {
	Key   string `json:"key"`
	Title string `json:"title"`
}

// Custom is the category of a measure with a category of its own name.
const Custom = "custom"

// Categories are the standard categories, in annex order.
var Categories = []Category{
	{"encryption_in_transit", "Encryption in transit"},
	{"encryption_at_rest", "Encryption at rest"},
	{"authentication", "Authentication"},
	{"authorisation", "Authorisation"},
	{"malware_protection", "Malware protection"},
	{"http_security_headers", "HTTP security headers"},
	{"audit_logging", "Audit logging"},
	{"backups", "Backups"},
	{"data_deletion", "Data deletion"},
	{"logging_monitoring", "Logging and monitoring"},
	{"network_security", "Network security"},
	{"physical_security", "Physical security"},
	{"personnel", "Personnel"},
	{"supplier_management", "Supplier management"},
	{"incident_management", "Incident management"},
	{"business_continuity", "Business continuity"},
}

// CategoryTitle names a category key.
func CategoryTitle(key, custom string) string {
	if key == Custom {
		return custom
	}
	for _, c := range Categories {
		if c.Key == key {
			return c.Title
		}
	}
	return key
}

func categoryRank(key string) int {
	for i, c := range Categories {
		if c.Key == key {
			return i
		}
	}
	return len(Categories)
}

// Measure is one technical or organisational measure.
type Measure struct {
	ID            string                 `json:"id"`
	Category      string                 `json:"category"`
	Custom        string                 `json:"custom_category,omitempty" doc:"The category's name when category is custom."`
	CategoryTitle string                 `json:"category_title"`
	Title         string                 `json:"title"`
	Description   string                 `json:"description"`
	Visibility    control.Visibility     `json:"visibility" enum:"public,private"`
	Controls      []control.ControlBrief `json:"controls" doc:"Linked controls with their posture state now."`
	CreatedAt     time.Time              `json:"created_at"`
	UpdatedAt     time.Time              `json:"updated_at"`
}

// Input is what a user sets on a measure.
type Input struct {
	Category    string
	Custom      string
	Title       string
	Description string
	Visibility  control.Visibility
	ControlIDs  []string
}

// Limits.
const (
	MaxTitle       = 200
	MaxDescription = 10000
	MaxControls    = 100
)

// Service changes and reads measures.
type Service struct {
	db       *db.DB
	clock    clock.Clock
	audit    *audit.Log
	controls *control.Service
}

// NewService returns the measure service; controls gives the posture state
// shown beside each measure.
func NewService(d *db.DB, c clock.Clock, a *audit.Log, controls *control.Service) *Service {
	return &Service{db: d, clock: c, audit: a, controls: controls}
}

func (in *Input) validate() error {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	in.Custom = strings.TrimSpace(in.Custom)
	switch {
	case in.Category == Custom:
		if in.Custom == "" || utf8.RuneCountInString(in.Custom) > 100 || !valid.PlainText(in.Custom) {
			return apperr.Field("custom_category", "a custom category needs a name of 1 to 100 characters")
		}
	case categoryRank(in.Category) == len(Categories):
		return apperr.Field("category", "category %q is not a known category (or custom)", in.Category)
	default:
		in.Custom = ""
	}
	switch {
	case in.Title == "" || utf8.RuneCountInString(in.Title) > MaxTitle || !valid.PlainText(in.Title):
		return apperr.Field("title", "a measure needs a title of 1 to %d characters", MaxTitle)
	case utf8.RuneCountInString(in.Description) > MaxDescription || !valid.PlainText(in.Description):
		return apperr.Field("description", "the description is text of at most %d characters", MaxDescription)
	case len(in.ControlIDs) > MaxControls:
		return apperr.Field("control_ids", "a measure links to at most %d controls", MaxControls)
	}
	if in.Visibility == "" {
		in.Visibility = control.Private
	}
	if in.Visibility != control.Public && in.Visibility != control.Private {
		return apperr.Field("visibility", "visibility %q is neither public nor private", in.Visibility)
	}
	return nil
}

// Create adds a measure.
func (s *Service) Create(ctx context.Context, orgID string, in Input) (*Measure, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	id := db.NewID(now)
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO measures (id, org_id, category, custom, title, description, visibility, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, id, orgID, in.Category, in.Custom, in.Title, in.Description,
			string(in.Visibility), clock.Micros(now)); err != nil {
			return err
		}
		ids, err := s.link(ctx, tx, orgID, id, in.ControlIDs)
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "measure.create", TargetType: "measure", TargetID: id,
			Fields: fields(in, ids)})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "create measure")
	}
	return s.Get(ctx, orgID, id)
}

// Update replaces a measure's fields and links.
func (s *Service) Update(ctx context.Context, orgID, id string, in Input) (*Measure, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE measures SET category = $3, custom = $4, title = $5, description = $6, visibility = $7,
			updated_at = $8 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, orgID, id, in.Category, in.Custom, in.Title,
			in.Description, string(in.Visibility), clock.Micros(s.clock.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such measure")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM measure_controls WHERE org_id = $1 AND measure_id = $2`, orgID, id); err != nil {
			return err
		}
		ids, err := s.link(ctx, tx, orgID, id, in.ControlIDs)
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "measure.update", TargetType: "measure", TargetID: id,
			Fields: fields(in, ids)})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "update measure")
	}
	return s.Get(ctx, orgID, id)
}

// Delete removes a measure.
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM measure_controls WHERE org_id = $1 AND measure_id = $2`, orgID, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE measures SET deleted_at = $3 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
			orgID, id, clock.Micros(s.clock.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such measure")
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "measure.delete", TargetType: "measure", TargetID: id})
	}), "delete measure")
}

func fields(in Input, controlIDs []string) map[string]any {
	return map[string]any{"category": in.Category, "custom_category": in.Custom, "title": in.Title, "description": in.Description,
		"visibility": string(in.Visibility), "control_ids": controlIDs}
}

// link ties a measure to controls of the same organisation.
func (s *Service) link(ctx context.Context, tx *db.Tx, orgID, id string, controlIDs []string) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	for _, c := range controlIDs {
		c = strings.TrimSpace(c)
		if c == "" || seen[c] {
			continue
		}
		seen[c] = true
		if len(c) > 64 || !valid.PlainText(c) {
			return nil, apperr.Field("control_ids", "%q is not a control identifier", c)
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM controls WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, orgID, c).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, apperr.Field("control_ids", "no control %q in this organisation", c)
		}
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO measure_controls (org_id, measure_id, control_id) VALUES ($1, $2, $3)`,
			orgID, id, c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// Get returns one measure.
func (s *Service) Get(ctx context.Context, orgID, id string) (*Measure, error) {
	list, err := s.List(ctx, orgID, false)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == id {
			return &list[i], nil
		}
	}
	return nil, apperr.New(apperr.NotFound, "no such measure")
}

// List returns the organisation's measures (only public ones when asked),
// in annex order: by category, then title; each with its controls' state
// now.
func (s *Service) List(ctx context.Context, orgID string, publicOnly bool) ([]Measure, error) {
	q := `SELECT id, category, custom, title, description, visibility, created_at, updated_at FROM measures
		WHERE org_id = $1 AND deleted_at IS NULL`
	if publicOnly {
		q += ` AND visibility = 'public'`
	}
	rows, err := s.db.Read.QueryContext(ctx, q, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "list measures")
	}
	var out []Measure
	index := map[string]int{}
	for rows.Next() {
		var m Measure
		var vis string
		var created, updated int64
		if err := rows.Scan(&m.ID, &m.Category, &m.Custom, &m.Title, &m.Description, &vis, &created, &updated); err != nil {
			rows.Close()
			return nil, apperr.Wrap(err, "list measures")
		}
		m.Visibility, m.CategoryTitle = control.Visibility(vis), CategoryTitle(m.Category, m.Custom)
		m.CreatedAt, m.UpdatedAt, m.Controls = clock.FromMicros(created), clock.FromMicros(updated), []control.ControlBrief{}
		index[m.ID] = len(out)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, "list measures")
	}
	if len(out) > 0 {
		states, err := s.controls.List(ctx, orgID, control.ListFilter{})
		if err != nil {
			return nil, err
		}
		byID := map[string]control.Listed{}
		for _, c := range states {
			byID[c.ID] = c
		}
		links, err := s.db.Read.QueryContext(ctx, `SELECT measure_id, control_id FROM measure_controls WHERE org_id = $1`, orgID)
		if err != nil {
			return nil, apperr.Wrap(err, "list measures")
		}
		defer links.Close()
		for links.Next() {
			var mid, cid string
			if err := links.Scan(&mid, &cid); err != nil {
				return nil, apperr.Wrap(err, "list measures")
			}
			i, ok := index[mid]
			c, live := byID[cid]
			if !ok || !live {
				continue
			}
			if publicOnly && c.Visibility != control.Public {
				continue // a private control's title stays private
			}
			out[i].Controls = append(out[i].Controls, control.ControlBrief{ID: c.ID, Title: c.Title, Status: c.Status,
				Visibility: c.Visibility, State: c.State})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if categoryRank(a.Category) != categoryRank(b.Category) {
			return categoryRank(a.Category) < categoryRank(b.Category)
		}
		if a.CategoryTitle != b.CategoryTitle {
			return a.CategoryTitle < b.CategoryTitle
		}
		return strings.ToLower(a.Title) < strings.ToLower(b.Title)
	})
	for i := range out {
		sort.Slice(out[i].Controls, func(x, y int) bool { return out[i].Controls[x].Title < out[i].Controls[y].Title })
	}
	if out == nil {
		out = []Measure{}
	}
	return out, nil
}
