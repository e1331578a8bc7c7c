package control

import (
	"context"
	"slices"
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

// Relations an organisation may give its own mappings: from is equivalent
// to, narrower than (subset) or broader than (superset) to. "related" is
// shown but never used to link controls when a framework is adopted.
var Relations = []string{"equivalent", "subset", "superset", "related"}

// MappingInput is a mapping an organisation adds between two requirements
// of the catalog.
type MappingInput struct {
	FromFramework, FromRef, ToFramework, ToRef, Relation, Note string
}

// AddMapping records one of the organisation's own mappings.
func (s *Service) AddMapping(ctx context.Context, orgID string, in MappingInput) error {
	in.Note = strings.TrimSpace(in.Note)
	if !slices.Contains(Relations, in.Relation) {
		return apperr.Field("relation", "relation %q is not one of %s", in.Relation, strings.Join(Relations, ", "))
	}
	if utf8.RuneCountInString(in.Note) > MaxJustification || !valid.PlainText(in.Note) {
		return apperr.Field("note", "the note is at most %d characters", MaxJustification)
	}
	if in.FromFramework == in.ToFramework && in.FromRef == in.ToRef {
		return apperr.Field("to_ref", "a requirement is not mapped to itself")
	}
	for _, side := range []struct{ field, fw, ref string }{{"from_ref", in.FromFramework, in.FromRef}, {"to_ref", in.ToFramework, in.ToRef}} {
		r, err := s.catalog.Requirement(ctx, side.fw, side.ref)
		if err != nil {
			if apperr.CodeOf(err) == apperr.NotFound {
				return apperr.Field(side.field, "%s", apperr.MessageOf(err))
			}
			return err
		}
		if !r.Assessable || r.Withdrawn {
			return apperr.Field(side.field, "%s %s is not a requirement that can be mapped", side.fw, r.Label)
		}
	}
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO org_mappings (org_id, from_framework, from_ref, to_framework, to_ref, relation, note, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, orgID, in.FromFramework, in.FromRef, in.ToFramework, in.ToRef, in.Relation, in.Note,
			clock.Micros(s.clock.Now()))
		if db.IsUniqueViolation(err) {
			return apperr.New(apperr.Conflict, "this mapping exists already")
		}
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "mapping.create", TargetType: "mapping",
			TargetID: in.FromFramework + "/" + in.FromRef + "->" + in.ToFramework + "/" + in.ToRef,
			Fields:   map[string]any{"relation": in.Relation, "note": in.Note}})
	}), "add mapping")
}

// RemoveMapping deletes one of the organisation's own mappings.
func (s *Service) RemoveMapping(ctx context.Context, orgID string, in MappingInput) error {
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM org_mappings WHERE org_id = $1 AND from_framework = $2 AND from_ref = $3
			AND to_framework = $4 AND to_ref = $5`, orgID, in.FromFramework, in.FromRef, in.ToFramework, in.ToRef)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such mapping")
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "mapping.delete", TargetType: "mapping",
			TargetID: in.FromFramework + "/" + in.FromRef + "->" + in.ToFramework + "/" + in.ToRef})
	}), "remove mapping")
}

// Mappings returns NIST's and the organisation's mappings touching a
// requirement, or all of a framework's when ref is empty.
func (s *Service) Mappings(ctx context.Context, orgID, frameworkID, ref string) ([]catalog.Mapping, error) {
	out, err := s.catalog.BuiltinMappings(ctx, frameworkID, ref)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT from_framework, from_ref, to_framework, to_ref, relation, note FROM org_mappings
		WHERE org_id = $1 AND ((from_framework = $2 AND ($3 = '' OR from_ref = $3)) OR (to_framework = $2 AND ($3 = '' OR to_ref = $3)))`,
		orgID, frameworkID, ref)
	if err != nil {
		return nil, apperr.Wrap(err, "read mappings")
	}
	defer rows.Close()
	for rows.Next() {
		m := catalog.Mapping{Source: "org"}
		if err := rows.Scan(&m.FromFramework, &m.FromRef, &m.ToFramework, &m.ToRef, &m.Relation, &m.Note); err != nil {
			return nil, apperr.Wrap(err, "read mappings")
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	if out == nil {
		out = []catalog.Mapping{}
	}
	return out, apperr.Wrap(rows.Err(), "read mappings")
}
