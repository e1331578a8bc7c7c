package identity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// Limiter counts failed attempts per key (an account, a client address) in
// the database, so the limit holds across nodes. After Free failures each
// further failure blocks the key for twice as long as the one before,
// starting at one second and capped at MaxBlock. Failures older than Forget
// are forgotten.
type Limiter struct {
	db    *db.DB
	clock clock.Clock
}

// Limits of one kind of attempt.
type Limit struct {
	Free     int
	MaxBlock time.Duration
	Forget   time.Duration
}

// Limits used by the services.
var (
	AccountLimit = Limit{Free: 5, MaxBlock: 15 * time.Minute, Forget: time.Hour}
	AddressLimit = Limit{Free: 20, MaxBlock: 15 * time.Minute, Forget: time.Hour}
	// MailLimit governs requests that send mail (reset links): a few an hour.
	MailLimit = Limit{Free: 3, MaxBlock: 15 * time.Minute, Forget: time.Hour}
)

// RateKey builds a limiter key. The subject (an e-mail, an address) is
// hashed so the table holds no clear personal data.
func RateKey(kind, subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return kind + ":" + hex.EncodeToString(sum[:16])
}

// Blocked returns how long the longest-blocked key still is, or zero.
func (l *Limiter) Blocked(ctx context.Context, keys ...string) (time.Duration, error) {
	now := clock.Micros(l.clock.Now())
	var longest int64
	for _, k := range keys {
		var until int64
		err := l.db.Read.QueryRowContext(ctx, `SELECT blocked_until FROM rate_limits WHERE key = $1`, k).Scan(&until)
		if err != nil && !isNoRows(err) {
			return 0, apperr.Wrap(err, "read rate limit")
		}
		if until-now > longest {
			longest = until - now
		}
	}
	return time.Duration(longest) * time.Microsecond, nil
}

// Fail records a failure for key under limit.
func (l *Limiter) Fail(ctx context.Context, key string, limit Limit) error {
	now := l.clock.Now()
	nowUs := clock.Micros(now)
	forgetBefore := clock.Micros(now.Add(-limit.Forget))
	return l.db.InTx(ctx, func(tx *db.Tx) error {
		var failures int
		err := tx.QueryRowContext(ctx, `
			INSERT INTO rate_limits (key, failures, blocked_until, updated_at) VALUES ($1, 1, 0, $2)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN rate_limits.updated_at < $3 THEN 1 ELSE rate_limits.failures + 1 END,
				updated_at = $2
			RETURNING failures`, key, nowUs, forgetBefore).Scan(&failures)
		if err != nil {
			return apperr.Wrap(err, "record failed attempt")
		}
		if failures < limit.Free {
			return nil
		}
		block := time.Second * time.Duration(math.Pow(2, float64(min(failures-limit.Free, 20))))
		block = min(block, limit.MaxBlock)
		_, err = tx.ExecContext(ctx, `UPDATE rate_limits SET blocked_until = $1 WHERE key = $2`, clock.Micros(now.Add(block)), key)
		return apperr.Wrap(err, "record failed attempt")
	})
}

// Window is a limit of N attempts per fixed window: the first attempt opens
// the window and any attempt beyond N within it is refused until it closes.
// Limit's blocks start at a second and double, which slows guessing but
// bounds no total; a form that sends mail to an address it is given needs a
// bound on the total.
type Window struct {
	N      int
	Length time.Duration
}

// Take counts an attempt on key under w and returns how long until an
// attempt would be allowed: zero when this one is. For these keys the
// blocked_until column holds the end of the current window. Keys of
// windows and of Limits must not be shared.
func (l *Limiter) Take(ctx context.Context, key string, w Window) (time.Duration, error) {
	now := clock.Micros(l.clock.Now())
	var count int
	var end int64
	err := l.db.Write.QueryRowContext(ctx, `
		INSERT INTO rate_limits (key, failures, blocked_until, updated_at) VALUES ($1, 1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN rate_limits.blocked_until <= $3 THEN 1 ELSE rate_limits.failures + 1 END,
			blocked_until = CASE WHEN rate_limits.blocked_until <= $3 THEN excluded.blocked_until ELSE rate_limits.blocked_until END,
			updated_at = $3
		RETURNING failures, blocked_until`, key, now+w.Length.Microseconds(), now).Scan(&count, &end)
	if err != nil {
		return 0, apperr.Wrap(err, "count attempt")
	}
	if count <= w.N {
		return 0, nil
	}
	return time.Duration(end-now) * time.Microsecond, nil
}

// Reset forgets a key's failures (after a success).
func (l *Limiter) Reset(ctx context.Context, key string) error {
	_, err := l.db.Write.ExecContext(ctx, `DELETE FROM rate_limits WHERE key = $1`, key)
	return apperr.Wrap(err, "reset rate limit")
}

// TooMany is the error for a blocked attempt; RetryAfter says when to retry.
type TooMany struct {
	RetryAfter time.Duration
}

func (e *TooMany) Error() string { return "too many attempts" }

// TooManyAttempts wraps TooMany in the application error type.
func TooManyAttempts(wait time.Duration) error {
	return &apperr.Error{Code: apperr.RateLimited, Message: "Too many attempts. Try again later.", Err: &TooMany{RetryAfter: wait}}
}
