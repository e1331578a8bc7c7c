package identity

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/mail"
)

// InvitationValidity is how long an invitation link works.
const InvitationValidity = 7 * 24 * time.Hour

// Invitation is an offer to join an organisation with a role.
type Invitation struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"-"`
	OrgName   string    `json:"-"`
	Email     string    `json:"email"`
	Role      Role      `json:"role"`
	InvitedBy string    `json:"invited_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Invite creates an invitation and mails its link. inviterID is the admin
// sending it. The link is returned only when no SMTP server is configured
// (the message is then held and the admin must pass the link on); when mail
// goes out, only the invitee's mailbox gets the link, so an inviter cannot
// open an account in someone else's name.
func (s *Service) Invite(ctx context.Context, orgID, orgName, inviterID, email string, role Role) (*Invitation, string, error) {
	email = strings.TrimSpace(email)
	if err := CheckEmail(email); err != nil {
		return nil, "", err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, "", err
	}
	now := s.clock.Now()
	inv := &Invitation{ID: db.NewID(now), OrgID: orgID, OrgName: orgName, Email: email, Role: role, InvitedBy: inviterID,
		CreatedAt: now, ExpiresAt: now.Add(InvitationValidity)}
	token := newToken()
	link := s.baseURL + "/app/invite/" + token
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var already int
		if err := tx.QueryRowContext(ctx, `
			SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.org_id = $1 AND u.email_norm = $2 AND u.deleted_at IS NULL`, orgID, NormaliseEmail(email)).Scan(&already); err != nil {
			return apperr.Wrap(err, "check membership")
		}
		if already > 0 {
			return apperr.Field("email", "%s is already a member", email)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO invitations (id, org_id, email, email_norm, role, token_hash, invited_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			inv.ID, orgID, email, NormaliseEmail(email), string(role), hashToken(token), inviterID, clock.Micros(now), clock.Micros(inv.ExpiresAt)); err != nil {
			return apperr.Wrap(err, "create invitation")
		}
		if err := s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "invitation.create", TargetType: "invitation", TargetID: inv.ID,
			Fields: map[string]any{"email": email, "role": string(role)}}); err != nil {
			return err
		}
		_, err := s.mail.Enqueue(ctx, tx, mail.Message{OrgID: orgID, To: email, Subject: "You are invited to " + oneLine(orgName) + " on Evident",
			Text: fmt.Sprintf("You are invited to join %s on Evident as %s.\n\nOpen this link within 7 days to accept:\n%s\n", orgName, role, link)})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	if s.mail.Sends() {
		link = ""
	}
	return inv, link, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

var errBadInvitation = apperr.New(apperr.NotFound, "This invitation is unknown, used, revoked or expired. Ask for a new one.")

// InvitationByToken returns the open invitation a link names. Clients that
// try many unknown links are rate limited.
func (s *Service) InvitationByToken(ctx context.Context, token string, c Client) (*Invitation, error) {
	var inv *Invitation
	err := s.guardLink(ctx, c, func() (err error) {
		inv, err = s.invitationByToken(ctx, token)
		return err
	})
	return inv, err
}

func (s *Service) invitationByToken(ctx context.Context, token string) (*Invitation, error) {
	var inv Invitation
	var created, expires int64
	err := s.db.Read.QueryRowContext(ctx, `
		SELECT i.id, i.org_id, o.name, i.email, i.role, i.invited_by, i.created_at, i.expires_at
		FROM invitations i JOIN orgs o ON o.id = i.org_id
		WHERE i.token_hash = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND o.deleted_at IS NULL`, hashToken(token)).
		Scan(&inv.ID, &inv.OrgID, &inv.OrgName, &inv.Email, &inv.Role, &inv.InvitedBy, &created, &expires)
	if isNoRows(err) {
		return nil, errBadInvitation
	}
	if err != nil {
		return nil, apperr.Wrap(err, "read invitation")
	}
	inv.CreatedAt, inv.ExpiresAt = clock.FromMicros(created), clock.FromMicros(expires)
	if !s.clock.Now().Before(inv.ExpiresAt) {
		return nil, errBadInvitation
	}
	return &inv, nil
}

// AcceptInvitation makes the signed-in user a member. The invitation was
// sent to one address: only the account with that address may accept it.
func (s *Service) AcceptInvitation(ctx context.Context, token, userID string) (*Invitation, error) {
	inv, err := s.invitationByToken(ctx, token)
	if err != nil {
		return nil, err
	}
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if NormaliseEmail(u.Email) != NormaliseEmail(inv.Email) {
		return nil, apperr.New(apperr.Forbidden, "this invitation was sent to another e-mail address: sign in with that account")
	}
	return inv, s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := s.spendInvitation(ctx, tx, inv); err != nil {
			return err
		}
		return s.addMembership(ctx, tx, inv.OrgID, u.ID, inv.Role)
	})
}

// AcceptInvitationNewAccount creates the invited address's account and its
// membership.
func (s *Service) AcceptInvitationNewAccount(ctx context.Context, token, name, password string) (*Invitation, *User, error) {
	inv, err := s.invitationByToken(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	var u *User
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := s.spendInvitation(ctx, tx, inv); err != nil {
			return err
		}
		if u, err = s.createUser(ctx, tx, NewUser{Email: inv.Email, Name: name, Password: password}); err != nil {
			return err
		}
		return s.addMembership(ctx, tx, inv.OrgID, u.ID, inv.Role)
	})
	return inv, u, err
}

// spendInvitation marks the invitation used. It counts only while whoever
// sent it may still manage members: an admin who was removed or demoted
// cannot bring people in through invitations sent before.
func (s *Service) spendInvitation(ctx context.Context, tx *db.Tx, inv *Invitation) error {
	var inviterRole string
	err := tx.QueryRowContext(ctx, `SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2`, inv.OrgID, inv.InvitedBy).Scan(&inviterRole)
	if isNoRows(err) || (err == nil && !Allowed(Role(inviterRole), MembersManage)) {
		return errBadInvitation
	}
	if err != nil {
		return apperr.Wrap(err, "read inviter")
	}
	res, err := tx.ExecContext(ctx, `UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL`,
		clock.Micros(s.clock.Now()), inv.ID)
	if err != nil {
		return apperr.Wrap(err, "accept invitation")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errBadInvitation
	}
	return s.audit.Record(ctx, tx, audit.Event{OrgID: inv.OrgID, Action: "invitation.accept", TargetType: "invitation", TargetID: inv.ID,
		Fields: map[string]any{"role": string(inv.Role)}})
}

// Invitations lists an organisation's open invitations, newest first.
func (s *Service) Invitations(ctx context.Context, orgID string) ([]Invitation, error) {
	rows, err := s.db.Read.QueryContext(ctx, `
		SELECT id, org_id, email, role, invited_by, created_at, expires_at FROM invitations
		WHERE org_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2
		ORDER BY created_at DESC, id DESC`, orgID, clock.Micros(s.clock.Now()))
	if err != nil {
		return nil, apperr.Wrap(err, "list invitations")
	}
	defer rows.Close()
	var out []Invitation
	for rows.Next() {
		var inv Invitation
		var created, expires int64
		if err := rows.Scan(&inv.ID, &inv.OrgID, &inv.Email, &inv.Role, &inv.InvitedBy, &created, &expires); err != nil {
			return nil, apperr.Wrap(err, "list invitations")
		}
		inv.CreatedAt, inv.ExpiresAt = clock.FromMicros(created), clock.FromMicros(expires)
		out = append(out, inv)
	}
	return out, rows.Err()
}

// RevokeInvitation withdraws an open invitation of the organisation.
func (s *Service) RevokeInvitation(ctx context.Context, orgID, id string) error {
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE invitations SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND accepted_at IS NULL AND revoked_at IS NULL`,
			clock.Micros(s.clock.Now()), orgID, id)
		if err != nil {
			return apperr.Wrap(err, "revoke invitation")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such open invitation")
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "invitation.revoke", TargetType: "invitation", TargetID: id})
	})
}
