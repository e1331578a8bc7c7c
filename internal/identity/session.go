package identity

import (
	"context"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// Session is a signed-in browser.
type Session struct {
	ID         string
	UserID     string
	MFAPending bool // the password was right; the second factor is still due
	ClientIP   string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// ErrWrongCredentials is the one answer to a failed sign-in, whether the
// account exists or not.
var ErrWrongCredentials = apperr.New(apperr.Unauthorized, "The e-mail address or the password is wrong.")

// SignIn checks an e-mail and password and opens a session. Both the
// account and the client address are rate limited; an unknown e-mail is
// limited, hashed and answered exactly like a known one.
func (s *Service) SignIn(ctx context.Context, email, password string, c Client) (token string, sess *Session, err error) {
	acct := RateKey("signin-account", NormaliseEmail(email))
	addr := RateKey("signin-address", c.LimitSubject())
	if wait, err := s.Limiter.Blocked(ctx, acct, addr); err != nil {
		return "", nil, err
	} else if wait > 0 {
		return "", nil, TooManyAttempts(wait)
	}
	u, err := s.UserByEmail(ctx, s.db.Read, email)
	if err != nil {
		return "", nil, err
	}
	hash := dummyHash()
	if u != nil {
		hash = u.passwordHash
	}
	if ok := VerifyPassword(hash, password); !ok || u == nil {
		if err := s.Limiter.Fail(ctx, acct, AccountLimit); err != nil {
			return "", nil, err
		}
		if err := s.Limiter.Fail(ctx, addr, AddressLimit); err != nil {
			return "", nil, err
		}
		// Known and unknown addresses leave the same trace: the address
		// tried, as a commitment.
		if err := s.record(ctx, audit.Event{Action: "user.sign_in_failed", Actor: audit.System("sign-in"), TargetType: "user",
			Personal: map[string]string{"email": strings.TrimSpace(email)}}); err != nil {
			return "", nil, err
		}
		return "", nil, ErrWrongCredentials
	}
	if err := s.Limiter.Reset(ctx, acct); err != nil {
		return "", nil, err
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if token, sess, err = s.openSession(ctx, tx, u.ID, u.TOTPEnabled, c); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "user.sign_in", Actor: asUser(u.ID), TargetType: "session", TargetID: sess.ID,
			Fields: map[string]any{"second_factor_pending": u.TOTPEnabled}})
	})
	return token, sess, err
}

func (s *Service) openSession(ctx context.Context, tx *db.Tx, userID string, mfaPending bool, c Client) (string, *Session, error) {
	now := s.clock.Now()
	token := newToken()
	sess := &Session{ID: db.NewID(now), UserID: userID, MFAPending: mfaPending, ClientIP: c.ip(), UserAgent: c.userAgent(),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.SessionAbsolute)}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO sessions (id, token_hash, user_id, mfa_pending, client_ip, user_agent, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`,
		sess.ID, hashToken(token), userID, mfaPending, sess.ClientIP, sess.UserAgent, clock.Micros(now), clock.Micros(sess.ExpiresAt))
	if err != nil {
		return "", nil, apperr.Wrap(err, "open session")
	}
	return token, sess, nil
}

// rotateSession replaces a session by a new one with a new token (after the
// second factor, a password change or enrolment): a token seen before the
// privilege changed is worth nothing after.
func (s *Service) rotateSession(ctx context.Context, tx *db.Tx, old *Session, c Client) (string, *Session, error) {
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2`, clock.Micros(s.clock.Now()), old.ID); err != nil {
		return "", nil, apperr.Wrap(err, "rotate session")
	}
	token, sess, err := s.openSession(ctx, tx, old.UserID, false, c)
	if err == nil {
		sess.ExpiresAt = old.ExpiresAt // rotation does not extend the absolute limit
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET expires_at = $1 WHERE id = $2`, clock.Micros(old.ExpiresAt), sess.ID)
	}
	return token, sess, apperr.Wrap(err, "rotate session")
}

const sessionColumns = `id, user_id, mfa_pending, client_ip, user_agent, created_at, last_seen_at, expires_at`

func scanSession(row interface{ Scan(...any) error }) (*Session, error) {
	var s Session
	var created, seen, expires int64
	if err := row.Scan(&s.ID, &s.UserID, &s.MFAPending, &s.ClientIP, &s.UserAgent, &created, &seen, &expires); err != nil {
		return nil, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = clock.FromMicros(created), clock.FromMicros(seen), clock.FromMicros(expires)
	return &s, nil
}

// ErrNoSession means the cookie names no live session.
var ErrNoSession = apperr.New(apperr.Unauthorized, "Please sign in.")

// SessionByToken returns the live session a cookie names and its user, and
// records the activity. Idle, expired, revoked and unknown sessions are all
// ErrNoSession.
func (s *Service) SessionByToken(ctx context.Context, token string) (*Session, *User, error) {
	if token == "" {
		return nil, nil, ErrNoSession
	}
	now := s.clock.Now()
	sess, err := scanSession(s.db.Read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL`, hashToken(token)))
	if isNoRows(err) {
		return nil, nil, ErrNoSession
	}
	if err != nil {
		return nil, nil, apperr.Wrap(err, "read session")
	}
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(s.SessionIdle)) {
		return nil, nil, ErrNoSession
	}
	u, err := s.UserByID(ctx, sess.UserID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, nil, ErrNoSession
	}
	if err != nil {
		return nil, nil, err
	}
	// Writing on every request would make SQLite's one writer the
	// bottleneck; a minute's precision is enough for the idle limit.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if _, err := s.db.Write.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, clock.Micros(now), sess.ID); err != nil {
			return nil, nil, apperr.Wrap(err, "touch session")
		}
		sess.LastSeenAt = now
	}
	return sess, u, nil
}

// SignOut ends the session a cookie names.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		var id, userID string
		err := tx.QueryRowContext(ctx, `
			UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL RETURNING id, user_id`,
			clock.Micros(s.clock.Now()), hashToken(token)).Scan(&id, &userID)
		if isNoRows(err) {
			return nil // already ended: signing out again is no error
		}
		if err != nil {
			return apperr.Wrap(err, "sign out")
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "user.sign_out", Actor: asUser(userID), TargetType: "session", TargetID: id})
	})
}

// Sessions lists a user's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, userID string) ([]Session, error) {
	now := s.clock.Now()
	rows, err := s.db.Read.QueryContext(ctx, `
		SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND last_seen_at > $3
		ORDER BY created_at DESC, id DESC`, userID, clock.Micros(now), clock.Micros(now.Add(-s.SessionIdle)))
	if err != nil {
		return nil, apperr.Wrap(err, "list sessions")
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, apperr.Wrap(err, "list sessions")
		}
		out = append(out, *sess)
	}
	return out, rows.Err()
}

// RevokeSession ends one of the user's own sessions.
func (s *Service) RevokeSession(ctx context.Context, userID, sessionID string) error {
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL`,
			clock.Micros(s.clock.Now()), sessionID, userID)
		if err != nil {
			return apperr.Wrap(err, "revoke session")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such session")
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "session.revoke", TargetType: "session", TargetID: sessionID})
	})
}
