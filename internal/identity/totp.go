package identity

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/keys"
)

// TOTP follows RFC 6238: 30-second steps, six digits, SHA-1 (what every
// authenticator app supports), one step of clock skew either way.
const (
	totpPeriod        = 30
	totpSkew          = 1
	recoveryCodeCount = 10
)

var totpColumn = keys.EncryptedColumn{Table: "users", ID: "id", Column: "totp_secret"}

func init() { keys.Encrypted = append(keys.Encrypted, totpColumn) }

// BeginTOTP creates a new secret for the user, not yet active, and returns
// its otpauth:// URI (shown as a QR code and as text).
func (s *Service) BeginTOTP(ctx context.Context, userID string) (string, error) {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return "", err
	}
	if u.TOTPEnabled {
		return "", apperr.New(apperr.Conflict, "two-factor authentication is already on; turn it off first to enrol a new device")
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Evident", AccountName: u.Email, Period: totpPeriod, Rand: rand.Reader})
	if err != nil {
		return "", apperr.Wrap(err, "generate TOTP secret")
	}
	sealed := s.keys.Seal([]byte(key.Secret()), totpColumn.AAD(u.ID))
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = $1, totp_last_step = 0, updated_at = $2 WHERE id = $3`,
			sealed, clock.Micros(s.clock.Now()), u.ID); err != nil {
			return apperr.Wrap(err, "store TOTP secret")
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "user.totp_begin", TargetType: "user", TargetID: u.ID})
	})
	if err != nil {
		return "", err
	}
	return key.URL(), nil
}

// PendingTOTP returns the URI of the secret being enrolled.
func (s *Service) PendingTOTP(ctx context.Context, userID string) (string, error) {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return "", err
	}
	if u.TOTPEnabled || u.totpSecret == "" {
		return "", apperr.New(apperr.NotFound, "no enrolment in progress")
	}
	secret, err := s.secretOf(u)
	if err != nil {
		return "", err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Evident", AccountName: u.Email, Period: totpPeriod, Secret: secret})
	if err != nil {
		return "", apperr.Wrap(err, "rebuild TOTP URI")
	}
	return key.URL(), nil
}

// QRCode renders an otpauth URI as a PNG.
func QRCode(uri string, size int) ([]byte, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, apperr.Wrap(err, "parse TOTP URI")
	}
	img, err := key.Image(size, size)
	if err != nil {
		return nil, apperr.Wrap(err, "draw QR code")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, apperr.Wrap(err, "encode QR code")
	}
	return buf.Bytes(), nil
}

func (s *Service) secretOf(u *User) ([]byte, error) {
	plain, err := s.keys.Open(u.totpSecret, totpColumn.AAD(u.ID))
	if err != nil {
		return nil, apperr.Wrap(err, "open TOTP secret")
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(string(plain)))
	if err != nil {
		return nil, apperr.Wrap(err, "decode TOTP secret")
	}
	return secret, nil
}

// acceptCode checks a six-digit code against the user's secret and, if it
// matches a step later than the last one accepted, records that step, so a
// code cannot be replayed even within its 30 seconds.
func (s *Service) acceptCode(ctx context.Context, q db.Querier, u *User, code string) (bool, error) {
	code = strings.TrimSpace(strings.ReplaceAll(code, " ", ""))
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" || u.totpSecret == "" {
		return false, nil // no secret: TOTP was turned off meanwhile
	}
	plain, err := s.keys.Open(u.totpSecret, totpColumn.AAD(u.ID))
	if err != nil {
		return false, apperr.Wrap(err, "open TOTP secret")
	}
	now := s.clock.Now()
	current := now.Unix() / totpPeriod
	for step := current - totpSkew; step <= current+totpSkew; step++ {
		want, err := codeAt(string(plain), time.Unix(step*totpPeriod, 0))
		if err != nil {
			return false, apperr.Wrap(err, "compute TOTP code")
		}
		if want != code || step <= u.totpLastStep {
			continue
		}
		res, err := q.ExecContext(ctx, `UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, u.ID)
		if err != nil {
			return false, apperr.Wrap(err, "record TOTP step")
		}
		n, _ := res.RowsAffected()
		return n == 1, nil
	}
	return false, nil
}

// codeAt is the six-digit code of a base32 secret at an instant.
func codeAt(secret string, at time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// CodeAt returns the code an authenticator app set up with an otpauth://
// URI (as BeginTOTP returns) shows at an instant; tests drive the second
// factor with it.
func CodeAt(uri string, at time.Time) (string, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return "", apperr.Wrap(err, "read otpauth URI")
	}
	return codeAt(key.Secret(), at)
}

// ConfirmTOTP activates the pending secret once the user proves their
// device works, and returns ten single-use recovery codes, shown once.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) ([]string, error) {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.TOTPEnabled || u.totpSecret == "" {
		return nil, apperr.New(apperr.Conflict, "no enrolment in progress: start again")
	}
	var codes []string
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		ok, err := s.acceptCode(ctx, tx, u, code)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.Field("code", "the code is not right: check the device's clock and type the current code")
		}
		now := clock.Micros(s.clock.Now())
		if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_enabled_at = $1, updated_at = $1 WHERE id = $2`, now, u.ID); err != nil {
			return apperr.Wrap(err, "enable TOTP")
		}
		if codes, err = s.newRecoveryCodes(ctx, tx, u.ID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "user.totp_enable", TargetType: "user", TargetID: u.ID})
	})
	return codes, err
}

func (s *Service) newRecoveryCodes(ctx context.Context, tx *db.Tx, userID string) ([]string, error) {
	now := s.clock.Now()
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return nil, apperr.Wrap(err, "replace recovery codes")
	}
	codes := make([]string, recoveryCodeCount)
	for i := range codes {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		c := strings.ToLower(base32.StdEncoding.EncodeToString(b))[:16]
		codes[i] = c[:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:]
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)`,
			db.NewID(now), userID, hashToken(normaliseRecovery(codes[i])), clock.Micros(now)); err != nil {
			return nil, apperr.Wrap(err, "store recovery code")
		}
	}
	return codes, nil
}

func normaliseRecovery(code string) string {
	return strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
}

// useRecoveryCode spends one recovery code.
func (s *Service) useRecoveryCode(ctx context.Context, tx *db.Tx, userID, code string) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`,
		clock.Micros(s.clock.Now()), userID, hashToken(normaliseRecovery(code)))
	if err != nil {
		return false, apperr.Wrap(err, "use recovery code")
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// CompleteSignIn checks the second factor (a TOTP code or a recovery code)
// of a session waiting for it and replaces the session by a full one.
func (s *Service) CompleteSignIn(ctx context.Context, token, code string, c Client) (string, error) {
	sess, u, err := s.SessionByToken(ctx, token)
	if err != nil {
		return "", err
	}
	if !sess.MFAPending {
		return "", apperr.New(apperr.Conflict, "this session needs no second factor")
	}
	acct := RateKey("totp-account", u.ID)
	addr := RateKey("totp-address", c.LimitSubject())
	if wait, err := s.Limiter.Blocked(ctx, acct, addr); err != nil {
		return "", err
	} else if wait > 0 {
		return "", TooManyAttempts(wait)
	}
	var newTok string
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		method := "totp"
		ok, err := s.acceptCode(ctx, tx, u, code)
		if err == nil && !ok && len(normaliseRecovery(code)) == 16 {
			method = "recovery_code"
			ok, err = s.useRecoveryCode(ctx, tx, u.ID, code)
		}
		if err != nil {
			return err
		}
		if !ok {
			return errWrongCode
		}
		var full *Session
		if newTok, full, err = s.rotateSession(ctx, tx, sess, c); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "user.second_factor", Actor: asUser(u.ID), TargetType: "session", TargetID: full.ID,
			Fields: map[string]any{"method": method}})
	})
	if err == errWrongCode {
		if err := s.record(ctx, audit.Event{Action: "user.second_factor_failed", Actor: asUser(u.ID), TargetType: "user", TargetID: u.ID}); err != nil {
			return "", err
		}
		if err := s.Limiter.Fail(ctx, acct, AccountLimit); err != nil {
			return "", err
		}
		if err := s.Limiter.Fail(ctx, addr, AddressLimit); err != nil {
			return "", err
		}
		return "", err
	}
	if err != nil {
		return "", err
	}
	return newTok, s.Limiter.Reset(ctx, acct)
}

var errWrongCode = apperr.Field("code", "The code is wrong or was already used.")

// DisableTOTP turns the second factor off after checking the password, and
// ends the user's other sessions: whoever signed in elsewhere with the
// second factor should not keep a session the account no longer needs.
func (s *Service) DisableTOTP(ctx context.Context, userID, password, keepSessionID string) error {
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.confirmPassword(ctx, u, password, "password"); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		now := clock.Micros(s.clock.Now())
		if _, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret = '', totp_enabled_at = NULL, updated_at = $1 WHERE id = $2`, now, userID); err != nil {
			return apperr.Wrap(err, "disable TOTP")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return apperr.Wrap(err, "delete recovery codes")
		}
		if err := endOtherSessions(ctx, tx, userID, keepSessionID, now); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "user.totp_disable", TargetType: "user", TargetID: userID})
	})
}
