package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// newToken returns a 256-bit random token, URL-safe.
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how session, reset, invitation and API tokens are stored:
// their SHA-256 only, so a database leak yields no usable token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NormaliseEmail is how e-mail addresses are compared and indexed.
func NormaliseEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }
