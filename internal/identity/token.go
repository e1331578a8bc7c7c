package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// API tokens look like evd_<8 hex prefix>_<secret>. The prefix is stored and
// shown so a token can be recognised; only the SHA-256 of the whole token is
// stored.
const (
	tokenScheme        = "evd_"
	DefaultTokenExpiry = 90 * 24 * time.Hour
	MaxTokenExpiry     = 366 * 24 * time.Hour
)

// APIToken is a token's record (never the token itself).
type APIToken struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"-"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	Prefix     string     `json:"prefix"`
	Scope      string     `json:"scope,omitempty" doc:"evidence:push: the token may only push evidence."`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// NewToken is what creating a token takes.
type NewToken struct {
	OrgID     string
	UserID    string // the owner
	Name      string
	Role      Role
	ExpiresIn time.Duration // default 90 days, at most 366
	// NotAfter, when set, is the latest expiry allowed: a token made with
	// another token expires no later than that one.
	NotAfter time.Time
	// Scope, when set, narrows the token below its role (ScopePush).
	Scope string
}

// ScopePush is the scope of tokens that may only push evidence: what a CI
// job holds, so that a leaked one cannot read or change anything else.
const ScopePush = "evidence:push"

// CreateToken creates an API token for the owner in the organisation with a
// role no higher than the owner's, and returns it once.
func (s *Service) CreateToken(ctx context.Context, in NewToken) (*APIToken, string, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || !utf8.ValidString(in.Name) || len([]rune(in.Name)) > 100 || strings.IndexFunc(in.Name, unicode.IsControl) >= 0 {
		return nil, "", apperr.Field("name", "give the token a name of 1 to 100 characters")
	}
	if _, err := ParseRole(string(in.Role)); err != nil {
		return nil, "", err
	}
	if in.Scope != "" && in.Scope != ScopePush {
		return nil, "", apperr.Field("scope", "scope %q is not %s (or none)", in.Scope, ScopePush)
	}
	if in.Scope == ScopePush && !Allowed(in.Role, EvidencePush) {
		return nil, "", apperr.Field("role", "a token that pushes evidence needs the role manager or admin")
	}
	if in.ExpiresIn == 0 {
		in.ExpiresIn = DefaultTokenExpiry
	}
	if in.ExpiresIn < time.Hour || in.ExpiresIn > MaxTokenExpiry {
		return nil, "", apperr.Field("expires_in_days", "a token lives between one hour and 366 days")
	}
	now := s.clock.Now()
	if !in.NotAfter.IsZero() && now.Add(in.ExpiresIn).After(in.NotAfter) {
		return nil, "", apperr.Field("expires_in_days", "a token made with another token cannot outlive it (that one expires %s)", in.NotAfter.UTC().Format(time.RFC3339))
	}
	owner, err := s.RoleIn(ctx, in.OrgID, in.UserID)
	if err != nil {
		return nil, "", err
	}
	if !owner.AtLeast(in.Role) {
		return nil, "", apperr.Field("role", "a token cannot have a higher role (%s) than its owner (%s)", in.Role, owner)
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	prefix := hex.EncodeToString(b)
	secret := tokenScheme + prefix + "_" + newToken()
	t := &APIToken{ID: db.NewID(now), OrgID: in.OrgID, UserID: in.UserID, Name: in.Name, Role: in.Role, Prefix: tokenScheme + prefix,
		Scope: in.Scope, CreatedAt: now, ExpiresAt: now.Add(in.ExpiresIn)}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO api_tokens (id, org_id, user_id, name, role, prefix, token_hash, created_at, expires_at, scope)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			t.ID, t.OrgID, t.UserID, t.Name, string(t.Role), t.Prefix, hashToken(secret), clock.Micros(now), clock.Micros(t.ExpiresAt),
			t.Scope); err != nil {
			return apperr.Wrap(err, "create token")
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: t.OrgID, Action: "token.create", TargetType: "token", TargetID: t.ID,
			Fields: map[string]any{"owner": t.UserID, "token_name": t.Name, "role": string(t.Role), "prefix": t.Prefix, "expires_at": clock.Micros(t.ExpiresAt), "scope": t.Scope}})
	})
	if err != nil {
		return nil, "", err
	}
	return t, secret, nil
}

// TokenPrincipal is who an API request acts as.
type TokenPrincipal struct {
	Token *APIToken
	User  *User
	// Role is the lower of the token's role and its owner's current role.
	Role Role
}

// ErrBadToken is the one answer to a missing, unknown, revoked or expired
// token.
var ErrBadToken = apperr.New(apperr.Unauthorized, "a valid API token is required: Authorization: Bearer evd_…")

// AuthenticateToken resolves a bearer token.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (*TokenPrincipal, error) {
	if !strings.HasPrefix(secret, tokenScheme) {
		return nil, ErrBadToken
	}
	now := s.clock.Now()
	var t APIToken
	var created, expires int64
	var lastUsed *int64
	var memberRole string
	err := s.db.Read.QueryRowContext(ctx, `
		SELECT t.id, t.org_id, t.user_id, t.name, t.role, t.prefix, t.created_at, t.expires_at, t.last_used_at, m.role, t.scope
		FROM api_tokens t JOIN memberships m ON m.org_id = t.org_id AND m.user_id = t.user_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL`, hashToken(secret)).
		Scan(&t.ID, &t.OrgID, &t.UserID, &t.Name, &t.Role, &t.Prefix, &created, &expires, &lastUsed, &memberRole, &t.Scope)
	if isNoRows(err) {
		return nil, ErrBadToken
	}
	if err != nil {
		return nil, apperr.Wrap(err, "read token")
	}
	t.CreatedAt, t.ExpiresAt = clock.FromMicros(created), clock.FromMicros(expires)
	if !now.Before(t.ExpiresAt) {
		return nil, ErrBadToken
	}
	u, err := s.UserByID(ctx, t.UserID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, ErrBadToken
	}
	if err != nil {
		return nil, err
	}
	if lastUsed == nil || now.Sub(clock.FromMicros(*lastUsed)) > time.Minute {
		if _, err := s.db.Write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, clock.Micros(now), t.ID); err != nil {
			return nil, apperr.Wrap(err, "record token use")
		}
	}
	return &TokenPrincipal{Token: &t, User: u, Role: Lower(t.Role, Role(memberRole))}, nil
}

// Tokens lists the organisation's live tokens, of one owner or (ownerID
// empty) of everyone, newest first.
func (s *Service) Tokens(ctx context.Context, orgID, ownerID string) ([]APIToken, error) {
	rows, err := s.db.Read.QueryContext(ctx, `
		SELECT id, org_id, user_id, name, role, prefix, created_at, expires_at, last_used_at, scope FROM api_tokens
		WHERE org_id = $1 AND ($2 = '' OR user_id = $2) AND revoked_at IS NULL AND expires_at > $3
		ORDER BY created_at DESC, id DESC`, orgID, ownerID, clock.Micros(s.clock.Now()))
	if err != nil {
		return nil, apperr.Wrap(err, "list tokens")
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var t APIToken
		var created, expires int64
		var lastUsed *int64
		if err := rows.Scan(&t.ID, &t.OrgID, &t.UserID, &t.Name, &t.Role, &t.Prefix, &created, &expires, &lastUsed, &t.Scope); err != nil {
			return nil, apperr.Wrap(err, "list tokens")
		}
		t.CreatedAt, t.ExpiresAt = clock.FromMicros(created), clock.FromMicros(expires)
		if lastUsed != nil {
			lu := clock.FromMicros(*lastUsed)
			t.LastUsedAt = &lu
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token of the organisation; with ownerID set, only
// if that user owns it.
func (s *Service) RevokeToken(ctx context.Context, orgID, ownerID, id string) error {
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE api_tokens SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND ($4 = '' OR user_id = $4) AND revoked_at IS NULL`,
			clock.Micros(s.clock.Now()), orgID, id, ownerID)
		if err != nil {
			return apperr.Wrap(err, "revoke token")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such token")
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "token.revoke", TargetType: "token", TargetID: id})
	})
}
