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

// ResetValidity is how long a password-reset link works.
const ResetValidity = time.Hour

// RotateSession gives the session a cookie names a new token (after the
// user changed their password or second factor).
func (s *Service) RotateSession(ctx context.Context, token string, c Client) (string, error) {
	sess, _, err := s.SessionByToken(ctx, token)
	if err != nil {
		return "", err
	}
	var newTok string
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		newTok, _, err = s.rotateSession(ctx, tx, sess, c)
		return err
	})
	return newTok, err
}

func (s *Service) createReset(ctx context.Context, tx *db.Tx, userID string) (string, error) {
	now := s.clock.Now()
	token := newToken()
	_, err := tx.ExecContext(ctx, `INSERT INTO password_resets (id, token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		db.NewID(now), hashToken(token), userID, clock.Micros(now), clock.Micros(now.Add(ResetValidity)))
	if err != nil {
		return "", apperr.Wrap(err, "create reset link")
	}
	return s.baseURL + "/app/reset/" + token, nil
}

// RequestReset mails a reset link if the address has an account. The answer
// and its timing are the same either way; requests are rate limited per
// address and per client, so the feature cannot flood a mailbox.
func (s *Service) RequestReset(ctx context.Context, email string, c Client) error {
	acct := RateKey("reset-account", NormaliseEmail(email))
	addr := RateKey("reset-address", c.LimitSubject())
	if wait, err := s.Limiter.Blocked(ctx, acct, addr); err != nil {
		return err
	} else if wait > 0 {
		return TooManyAttempts(wait)
	}
	// Every request counts, successful or not: that is what bounds the mail.
	if err := s.Limiter.Fail(ctx, acct, MailLimit); err != nil {
		return err
	}
	if err := s.Limiter.Fail(ctx, addr, AddressLimit); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		// Recorded whether the address has an account or not; the entry
		// holds the address only as a commitment.
		if err := s.audit.Record(ctx, tx, audit.Event{Action: "user.reset_request", Actor: audit.System("reset"), TargetType: "user",
			Personal: map[string]string{"email": strings.TrimSpace(email)}}); err != nil {
			return err
		}
		u, err := s.UserByEmail(ctx, tx, email)
		if err != nil || u == nil {
			return err
		}
		link, err := s.createReset(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		_, err = s.mail.Enqueue(ctx, tx, mail.Message{To: u.Email, Subject: "Reset your Evident password", Text: fmt.Sprintf(
			"Someone, probably you, asked to reset the password of your Evident account.\n\n"+
				"Open this link within one hour to choose a new password:\n%s\n\n"+
				"The link works once. If you did not ask for it, ignore this message: your password stays as it is.\n", link)})
		return err
	})
}

// ResetLink returns a reset link for the operator to hand over (the CLI),
// without sending mail.
func (s *Service) ResetLink(ctx context.Context, email string) (string, error) {
	var link string
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		u, err := s.UserByEmail(ctx, tx, email)
		if err != nil {
			return err
		}
		if u == nil {
			return apperr.New(apperr.NotFound, "no account with e-mail address %q", email)
		}
		if link, err = s.createReset(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "user.reset_link", TargetType: "user", TargetID: u.ID})
	})
	return link, err
}

var errBadResetLink = apperr.New(apperr.NotFound, "This reset link is unknown, used or expired. Ask for a new one.")

// guardLink runs lookup, a look-up of a link token, for client c: a client
// that keeps presenting unknown links is blocked like a password guesser.
func (s *Service) guardLink(ctx context.Context, c Client, lookup func() error) error {
	key := RateKey("link-address", c.LimitSubject())
	if wait, err := s.Limiter.Blocked(ctx, key); err != nil {
		return err
	} else if wait > 0 {
		return TooManyAttempts(wait)
	}
	err := lookup()
	if apperr.CodeOf(err) == apperr.NotFound {
		if ferr := s.Limiter.Fail(ctx, key, AddressLimit); ferr != nil {
			return ferr
		}
	}
	return err
}

// CheckResetToken tells whether a reset link still works.
func (s *Service) CheckResetToken(ctx context.Context, token string, c Client) error {
	return s.guardLink(ctx, c, func() error { return s.checkResetToken(ctx, token) })
}

func (s *Service) checkResetToken(ctx context.Context, token string) error {
	var expires int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT expires_at FROM password_resets WHERE token_hash = $1 AND used_at IS NULL`, hashToken(token)).Scan(&expires)
	if isNoRows(err) || (err == nil && expires <= clock.Micros(s.clock.Now())) {
		return errBadResetLink
	}
	return apperr.Wrap(err, "read reset link")
}

// ResetPassword sets a new password through a reset link, spends the link,
// and ends every session of the account.
func (s *Service) ResetPassword(ctx context.Context, token, password string, c Client) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	return s.guardLink(ctx, c, func() error { return s.resetPassword(ctx, token, password) })
}

func (s *Service) resetPassword(ctx context.Context, token, password string) error {
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		now := clock.Micros(s.clock.Now())
		var id, userID string
		err := tx.QueryRowContext(ctx, `
			UPDATE password_resets SET used_at = $1
			WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
			RETURNING id, user_id`, now, hashToken(token)).Scan(&id, &userID)
		if isNoRows(err) {
			return errBadResetLink
		}
		if err != nil {
			return apperr.Wrap(err, "use reset link")
		}
		// Other links of the account die with this one.
		if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL`, now, userID); err != nil {
			return apperr.Wrap(err, "spend reset links")
		}
		if err := s.setPassword(ctx, tx, userID, password, ""); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "user.password_reset", Actor: asUser(userID), TargetType: "user", TargetID: userID})
	})
}
