package identity

import (
	"context"
	"database/sql"
	"errors"
	netmail "net/mail"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/mail"
	"github.com/evident-isms/evident/internal/valid"
)

// Service is the identity service.
type Service struct {
	db      *db.DB
	clock   clock.Clock
	keys    *keys.Keys
	mail    *mail.Mailer
	audit   *audit.Log
	baseURL string
	Limiter *Limiter

	// SessionIdle and SessionAbsolute end sessions after inactivity and
	// after sign-in, whatever the activity.
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
}

// NewService returns the identity service. baseURL (scheme and host) is
// where links in e-mails point.
func NewService(d *db.DB, c clock.Clock, k *keys.Keys, m *mail.Mailer, a *audit.Log, baseURL string) *Service {
	return &Service{db: d, clock: c, keys: k, mail: m, audit: a, baseURL: strings.TrimSuffix(baseURL, "/"),
		Limiter: &Limiter{db: d, clock: c}, SessionIdle: 30 * time.Minute, SessionAbsolute: 12 * time.Hour}
}

// Client describes who is calling, for sessions and rate limits.
type Client struct {
	IP        netip.Addr
	UserAgent string
}

func (c Client) ip() string {
	if !c.IP.IsValid() {
		return "unknown"
	}
	return c.IP.String()
}

// LimitSubject is what address rate limits count against: the address
// itself for IPv4, its /64 network for IPv6, since one client usually holds
// a whole /64 and could otherwise step to a fresh address per attempt.
func (c Client) LimitSubject() string {
	if !c.IP.IsValid() {
		return "unknown"
	}
	if ip := c.IP.Unmap(); ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return c.IP.Unmap().String()
}

func (c Client) userAgent() string {
	ua := strings.ToValidUTF8(c.UserAgent, "")
	if len(ua) > 300 {
		ua = ua[:300]
	}
	return ua
}

// User is an account.
type User struct {
	ID          string
	Email       string
	Name        string
	TOTPEnabled bool
	CreatedAt   time.Time

	passwordHash string
	totpSecret   string
	totpLastStep int64
}

const userColumns = `id, email, name, password_hash, totp_secret, COALESCE(totp_enabled_at, 0), totp_last_step, created_at`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var enabled, created int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.passwordHash, &u.totpSecret, &enabled, &u.totpLastStep, &created); err != nil {
		return nil, err
	}
	u.TOTPEnabled = enabled != 0
	u.CreatedAt = clock.FromMicros(created)
	return &u, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// UserByID returns a live user.
func (s *Service) UserByID(ctx context.Context, id string) (*User, error) {
	u, err := scanUser(s.db.Read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 AND deleted_at IS NULL`, id))
	if isNoRows(err) {
		return nil, apperr.New(apperr.NotFound, "no such user")
	}
	return u, apperr.Wrap(err, "read user")
}

// UserByEmail returns the live user with an e-mail address, or nil.
func (s *Service) UserByEmail(ctx context.Context, q db.Querier, email string) (*User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email_norm = $1 AND deleted_at IS NULL`, NormaliseEmail(email)))
	if isNoRows(err) {
		return nil, nil
	}
	return u, apperr.Wrap(err, "read user")
}

// mailable tells whether the mailer will take e as a recipient, so that no
// address accepted here is refused when the first message is written.
func mailable(e string) bool {
	a, err := netmail.ParseAddress(e)
	return err == nil && a.Name == "" && a.Address == e
}

// CheckEmail validates an e-mail address as typed.
func CheckEmail(email string) error {
	e := strings.TrimSpace(email)
	at := strings.LastIndexByte(e, '@')
	if len(e) > 254 || at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n<>\"(),;:[]\\") || !strings.Contains(e[at:], ".") ||
		!valid.PlainText(e) || !mailable(e) {
		return apperr.Field("email", "%q is not an e-mail address", e)
	}
	return nil
}

func checkName(name string) error {
	if !utf8.ValidString(name) {
		return apperr.Field("name", "the name must be valid UTF-8 text")
	}
	if len([]rune(name)) > 200 {
		return apperr.Field("name", "the name must be at most 200 characters")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return apperr.Field("name", "the name must not contain control characters")
		}
	}
	return nil
}

// NewUser is what creating an account takes.
type NewUser struct {
	Email    string
	Name     string
	Password string
}

// createUser inserts a user in tx after checking the input.
func (s *Service) createUser(ctx context.Context, tx *db.Tx, in NewUser) (*User, error) {
	in.Email, in.Name = strings.TrimSpace(in.Email), strings.TrimSpace(in.Name)
	if err := CheckEmail(in.Email); err != nil {
		return nil, err
	}
	if err := checkName(in.Name); err != nil {
		return nil, err
	}
	if err := CheckPassword(in.Password); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	u := &User{ID: db.NewID(now), Email: in.Email, Name: in.Name, CreatedAt: now, passwordHash: HashPassword(in.Password)}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO users (id, email, email_norm, name, password_hash, totp_secret, totp_last_step, password_changed_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, '', 0, $6, $6, $6)`,
		u.ID, u.Email, NormaliseEmail(u.Email), u.Name, u.passwordHash, clock.Micros(now))
	if db.IsUniqueViolation(err) {
		return nil, &apperr.Error{Code: apperr.Conflict, Field: "email", Message: "an account with this e-mail address already exists"}
	}
	if err != nil {
		return nil, apperr.Wrap(err, "create user")
	}
	return u, s.audit.Record(ctx, tx, audit.Event{Action: "user.create", TargetType: "user", TargetID: u.ID,
		Fields: map[string]any{"email": u.Email, "name": u.Name}})
}

// record writes an event that goes with no other change (a failed sign-in,
// say) in a transaction of its own.
func (s *Service) record(ctx context.Context, ev audit.Event) error {
	return s.db.InTx(ctx, func(tx *db.Tx) error { return s.audit.Record(ctx, tx, ev) })
}

// asUser is the actor of events a user causes before any session names
// them (signing in, resetting a password).
func asUser(id string) audit.Actor { return audit.Actor{Type: audit.ActorUser, ID: id} }

// CreateMember creates the account if the e-mail has none (then the
// password is required) and gives it role in the organisation.
func (s *Service) CreateMember(ctx context.Context, orgID string, in NewUser, role Role) (*User, bool, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return nil, false, err
	}
	var u *User
	created := false
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if u, err = s.UserByEmail(ctx, tx, in.Email); err != nil {
			return err
		}
		if u == nil {
			if u, err = s.createUser(ctx, tx, in); err != nil {
				return err
			}
			created = true
		}
		return s.addMembership(ctx, tx, orgID, u.ID, role)
	})
	return u, created, err
}

func (s *Service) addMembership(ctx context.Context, tx *db.Tx, orgID, userID string, role Role) error {
	now := clock.Micros(s.clock.Now())
	_, err := tx.ExecContext(ctx, `INSERT INTO memberships (org_id, user_id, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
		orgID, userID, string(role), now)
	if db.IsUniqueViolation(err) {
		return apperr.New(apperr.Conflict, "this person is already a member of the organisation")
	}
	if db.IsForeignKeyViolation(err) {
		return apperr.New(apperr.NotFound, "no such organisation")
	}
	if err != nil {
		return apperr.Wrap(err, "add membership")
	}
	return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "membership.create", TargetType: "user", TargetID: userID,
		Fields: map[string]any{"role": string(role)}})
}

// ChangePassword sets a new password after checking the current one, and
// ends every other session.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next, keepSessionID string) error {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.confirmPassword(ctx, u, current, "current_password"); err != nil {
		return err
	}
	if err := CheckPassword(next); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := s.setPassword(ctx, tx, userID, next, keepSessionID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "user.password_change", TargetType: "user", TargetID: userID})
	})
}

// confirmPassword checks the password of a signed-in user before a
// sensitive change. Wrong guesses count against the account like sign-in
// failures do, so a stolen session cannot be used to guess the password.
func (s *Service) confirmPassword(ctx context.Context, u *User, password, field string) error {
	key := RateKey("confirm-account", u.ID)
	if wait, err := s.Limiter.Blocked(ctx, key); err != nil {
		return err
	} else if wait > 0 {
		return TooManyAttempts(wait)
	}
	if !VerifyPassword(u.passwordHash, password) {
		if err := s.Limiter.Fail(ctx, key, AccountLimit); err != nil {
			return err
		}
		return apperr.Field(field, "the password is wrong")
	}
	return s.Limiter.Reset(ctx, key)
}

func (s *Service) setPassword(ctx context.Context, tx *db.Tx, userID, pw, keepSessionID string) error {
	now := clock.Micros(s.clock.Now())
	if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3`,
		HashPassword(pw), now, userID); err != nil {
		return apperr.Wrap(err, "set password")
	}
	return endOtherSessions(ctx, tx, userID, keepSessionID, now)
}

// endOtherSessions revokes every session of the user but keepSessionID
// (empty: all of them).
func endOtherSessions(ctx context.Context, tx *db.Tx, userID, keepSessionID string, now int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id <> $3`, now, userID, keepSessionID)
	return apperr.Wrap(err, "end sessions")
}

// HasAccount tells whether an e-mail address has an account.
func (s *Service) HasAccount(ctx context.Context, email string) (bool, error) {
	u, err := s.UserByEmail(ctx, s.db.Read, email)
	return u != nil, err
}
