package identity

import (
	"context"
	"sort"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// OrgMember is a user with their role in one organisation.
type OrgMember struct {
	UserID      string    `json:"user_id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Role        Role      `json:"role"`
	TOTPEnabled bool      `json:"totp_enabled"`
	Since       time.Time `json:"since"`
}

// RoleIn returns the user's role in the organisation, or a not-found error
// when they are not a member (which callers show as "no such organisation").
func (s *Service) RoleIn(ctx context.Context, orgID, userID string) (Role, error) {
	var role string
	err := s.db.Read.QueryRowContext(ctx, `SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID).Scan(&role)
	if isNoRows(err) {
		return "", apperr.New(apperr.NotFound, "not a member")
	}
	if err != nil {
		return "", apperr.Wrap(err, "read membership")
	}
	return Role(role), nil
}

// Members lists an organisation's members by e-mail.
func (s *Service) Members(ctx context.Context, orgID string) ([]OrgMember, error) {
	rows, err := s.db.Read.QueryContext(ctx, `
		SELECT u.id, u.email, u.name, m.role, COALESCE(u.totp_enabled_at, 0), m.created_at
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 AND u.deleted_at IS NULL`, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "list members")
	}
	defer rows.Close()
	var out []OrgMember
	for rows.Next() {
		var m OrgMember
		var totp, since int64
		if err := rows.Scan(&m.UserID, &m.Email, &m.Name, &m.Role, &totp, &since); err != nil {
			return nil, apperr.Wrap(err, "list members")
		}
		m.TOTPEnabled, m.Since = totp != 0, clock.FromMicros(since)
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return NormaliseEmail(out[i].Email) < NormaliseEmail(out[j].Email) })
	return out, rows.Err()
}

// OrgRole is one of a user's memberships, for the organisation picker.
type OrgRole struct {
	OrgID, Slug, Name string
	Role              Role
}

// MembershipsOf lists the organisations a user belongs to, by slug.
func (s *Service) MembershipsOf(ctx context.Context, userID string) ([]OrgRole, error) {
	rows, err := s.db.Read.QueryContext(ctx, `
		SELECT o.id, o.slug, o.name, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id
		WHERE m.user_id = $1 AND o.deleted_at IS NULL`, userID)
	if err != nil {
		return nil, apperr.Wrap(err, "list memberships")
	}
	defer rows.Close()
	var out []OrgRole
	for rows.Next() {
		var o OrgRole
		if err := rows.Scan(&o.OrgID, &o.Slug, &o.Name, &o.Role); err != nil {
			return nil, apperr.Wrap(err, "list memberships")
		}
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out, rows.Err()
}

// lastAdminGuard refuses to leave an organisation without an admin. It
// locks the organisation's row first: two admins demoting each other at the
// same moment on PostgreSQL would otherwise both see the other one left.
func lastAdminGuard(ctx context.Context, tx *db.Tx, orgID, userID string) error {
	var id string
	if err := tx.QueryRowContext(ctx, `SELECT id FROM orgs WHERE id = $1`+tx.ForUpdate(), orgID).Scan(&id); err != nil && !isNoRows(err) {
		return apperr.Wrap(err, "lock organisation")
	}
	var admins int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'admin' AND user_id <> $2`, orgID, userID).Scan(&admins)
	if err != nil {
		return apperr.Wrap(err, "count admins")
	}
	if admins == 0 {
		return apperr.New(apperr.Conflict, "an organisation needs at least one admin: make someone else admin first")
	}
	return nil
}

// SetRole changes a member's role. Tokens keep their own role, and act with
// the lower of it and the new one.
func (s *Service) SetRole(ctx context.Context, orgID, userID string, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		if role != Admin {
			if err := lastAdminGuard(ctx, tx, orgID, userID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE memberships SET role = $1, updated_at = $2 WHERE org_id = $3 AND user_id = $4`,
			string(role), clock.Micros(s.clock.Now()), orgID, userID)
		if err != nil {
			return apperr.Wrap(err, "change role")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such member")
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "membership.role_change", TargetType: "user", TargetID: userID,
			Fields: map[string]any{"role": string(role)}})
	})
}

// RemoveMember ends a membership; the member's API tokens for the
// organisation go with it.
func (s *Service) RemoveMember(ctx context.Context, orgID, userID string) error {
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := lastAdminGuard(ctx, tx, orgID, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE org_id = $1 AND user_id = $2`, orgID, userID); err != nil {
			return apperr.Wrap(err, "revoke tokens")
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID)
		if err != nil {
			return apperr.Wrap(err, "remove member")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such member")
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "membership.remove", TargetType: "user", TargetID: userID})
	})
}
