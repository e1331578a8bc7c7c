package control

import (
	"context"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/valid"
)

// checkRequirement refuses a requirement that is not in scope of an
// adopted framework of the organisation.
func (s *Service) checkRequirement(ctx context.Context, orgID, frameworkID, ref string) (*catalog.Requirement, error) {
	a, err := s.Adoption(ctx, orgID, frameworkID)
	if err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil, apperr.Field("framework_id", "adopt framework %q before linking to its requirements", frameworkID)
		}
		return nil, err
	}
	r, err := s.catalog.Requirement(ctx, frameworkID, ref)
	if err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil, apperr.Field("ref", "framework %s has no requirement %q", frameworkID, ref)
		}
		return nil, err
	}
	if !inScope(*r, a.Baseline) {
		why := "it is a grouping node, not a requirement"
		switch {
		case r.Withdrawn:
			why = "it is withdrawn"
		case r.Assessable:
			why = "it is outside the adopted " + a.Baseline + " baseline"
		}
		return nil, apperr.Field("ref", "requirement %s of %s cannot be used: %s", r.Label, frameworkID, why)
	}
	return r, nil
}

// Link ties a control to a requirement of an adopted framework.
func (s *Service) Link(ctx context.Context, orgID, controlID, frameworkID, ref string) error {
	// The control first: another organisation's control is simply not
	// found, whatever the rest of the request says.
	if _, err := getControl(ctx, s.db.Read, orgID, controlID); err != nil {
		return apperr.Wrap(err, "read control")
	}
	if _, err := s.checkRequirement(ctx, orgID, frameworkID, ref); err != nil {
		return err
	}
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := getControl(ctx, tx, orgID, controlID); err != nil {
			return err
		}
		l := &linker{tx: tx, orgID: orgID, frameworkID: frameworkID, at: clock.Micros(s.clock.Now())}
		if err := l.link(ctx, controlID, ref); err != nil {
			if db.IsForeignKeyViolation(err) { // the framework was removed meanwhile
				return apperr.Field("framework_id", "adopt framework %q before linking to its requirements", frameworkID)
			}
			return err
		}
		if l.created == 0 {
			return nil // linked already: nothing changed, nothing to record
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "control.link", TargetType: "control", TargetID: controlID,
			Fields: map[string]any{"framework_id": frameworkID, "ref": ref}})
	}), "link control")
}

// Unlink removes a link.
func (s *Service) Unlink(ctx context.Context, orgID, controlID, frameworkID, ref string) error {
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM control_requirements WHERE org_id = $1 AND control_id = $2
			AND framework_id = $3 AND requirement_ref = $4`, orgID, controlID, frameworkID, ref)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "the control is not linked to %s %s", frameworkID, ref)
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "control.unlink", TargetType: "control", TargetID: controlID,
			Fields: map[string]any{"framework_id": frameworkID, "ref": ref}})
	}), "unlink control")
}

// SetApplicability marks a requirement applicable, or not applicable with a
// justification.
func (s *Service) SetApplicability(ctx context.Context, orgID, frameworkID, ref string, applicable bool, justification string) error {
	justification = strings.TrimSpace(justification)
	if n := utf8.RuneCountInString(justification); !applicable && (n < 10 || n > MaxJustification || !valid.PlainText(justification)) {
		return apperr.Field("justification", "say why the requirement is not applicable, in 10 to %d characters; the justification is public", MaxJustification)
	}
	if _, err := s.checkRequirement(ctx, orgID, frameworkID, ref); err != nil {
		return err
	}
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if applicable {
			res, err := tx.ExecContext(ctx, `DELETE FROM requirement_exclusions WHERE org_id = $1 AND framework_id = $2 AND requirement_ref = $3`,
				orgID, frameworkID, ref)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // applicable already
			}
			justification = ""
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO requirement_exclusions (org_id, framework_id, requirement_ref, justification, updated_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, framework_id, requirement_ref)
				DO UPDATE SET justification = excluded.justification, updated_at = excluded.updated_at`,
				orgID, frameworkID, ref, justification, clock.Micros(s.clock.Now()))
		}
		if db.IsForeignKeyViolation(err) { // the framework was removed meanwhile
			return apperr.Field("framework_id", "framework %q is not adopted", frameworkID)
		}
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "requirement.applicability", TargetType: "requirement",
			TargetID: frameworkID + "/" + ref, Fields: map[string]any{"applicable": applicable, "justification": justification}})
	}), "set applicability")
}

// ListFilter selects controls.
type ListFilter struct {
	Status      Status
	Visibility  Visibility
	OwnerID     string
	FrameworkID string // linked to a requirement of this framework
	Ref         string // with FrameworkID: linked to this requirement
	State       State  // in this posture state
	Query       string // in the title or description, case-insensitive
	Unlinked    bool   // linked to no requirement
}

// Listed is a control in a list, with its state and links.
type Listed struct {
	Control
	State State `json:"state"`
}

// List returns the organisation's controls that pass the filter, by title.
func (s *Service) List(ctx context.Context, orgID string, f ListFilter) ([]Listed, error) {
	controls, err := liveControls(ctx, s.db.Read, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "list controls")
	}
	links, err := allLinks(ctx, s.db.Read, orgID, "")
	if err != nil {
		return nil, apperr.Wrap(err, "list controls")
	}
	evidence, err := s.evidence.ControlEvidence(ctx, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "read evidence")
	}
	now := s.clock.Now()
	q := strings.ToLower(strings.TrimSpace(f.Query))
	out := []Listed{}
	for id, c := range controls {
		c.Links = links[id]
		if c.Links == nil {
			c.Links = []Link{}
		}
		sortLinks(c.Links)
		state := ControlState(ControlInput{Status: c.Status, Evidence: evidence[id]}, now)
		switch {
		case f.Status != "" && c.Status != f.Status,
			f.Visibility != "" && c.Visibility != f.Visibility,
			f.OwnerID != "" && c.OwnerID != f.OwnerID,
			f.State != "" && state != f.State,
			f.Unlinked && len(c.Links) > 0,
			q != "" && !strings.Contains(strings.ToLower(c.Title), q) && !strings.Contains(strings.ToLower(c.Description), q):
			continue
		}
		if f.FrameworkID != "" {
			found := false
			for _, l := range c.Links {
				found = found || l.FrameworkID == f.FrameworkID && (f.Ref == "" || l.Ref == f.Ref)
			}
			if !found {
				continue
			}
		}
		out = append(out, Listed{Control: *c, State: state})
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := strings.ToLower(out[i].Title), strings.ToLower(out[j].Title); a != b {
			return a < b
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// ParseStatus, ParseVisibility and ParseState check filter values.
func ParseStatus(s string) (Status, error) {
	switch Status(s) {
	case "", Planned, InProgress, Implemented:
		return Status(s), nil
	}
	return "", apperr.Field("status", "status %q is not one of planned, in_progress, implemented", s)
}

func ParseVisibility(s string) (Visibility, error) {
	switch Visibility(s) {
	case "", Public, Private:
		return Visibility(s), nil
	}
	return "", apperr.Field("visibility", "visibility %q is neither public nor private", s)
}

func ParseState(s string) (State, error) {
	if s == "" {
		return "", nil
	}
	for _, st := range ControlStates {
		if string(st) == s {
			return st, nil
		}
	}
	return "", apperr.Field("state", "state %q is not one of failing, not_implemented, stale, unevidenced, evidenced, verified", s)
}
