package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Links in e-mails (confirm a subscription, unsubscribe, object to a notice)
// must keep working for as long as the message may be read, yet DESIGN.md
// stores tokens only as hashes, and a hash cannot be turned back into the
// link of the next message. So these tokens are not stored at all: a token
// is a MAC over what it authorises, made with a key derived from the secret
// keyring for one purpose. A token of one purpose never passes for another.
// Rotating the secret key keeps older links valid while the old key stays
// in the ring.

// macSize is the length of a token's tag: 128 bits, beyond any guessing.
const macSize = 16

func purposeKey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("evident link token\x00" + purpose))
	return m.Sum(nil)
}

func tag(key []byte, purpose, message string) []byte {
	m := hmac.New(sha256.New, purposeKey(key, purpose))
	m.Write([]byte(message))
	return m.Sum(nil)[:macSize]
}

// Token returns a URL-safe token binding message to purpose under the
// current secret key: "<message>.<tag>" with the message in base64url.
func (k *Keys) Token(purpose, message string) string {
	t := tag(k.Secret.Current().Key, purpose, message)
	return base64.RawURLEncoding.EncodeToString([]byte(message)) + "." + base64.RawURLEncoding.EncodeToString(t)
}

// ReadToken checks a token made by Token for purpose with any key of the
// ring and returns its message.
func (k *Keys) ReadToken(purpose, token string) (string, bool) {
	b64msg, b64tag, ok := strings.Cut(token, ".")
	if !ok || len(token) > 4096 {
		return "", false
	}
	msg, err1 := base64.RawURLEncoding.DecodeString(b64msg)
	got, err2 := base64.RawURLEncoding.DecodeString(b64tag)
	if err1 != nil || err2 != nil || len(got) != macSize {
		return "", false
	}
	for _, e := range k.Secret.Entries {
		if hmac.Equal(got, tag(e.Key, purpose, string(msg))) {
			return string(msg), true
		}
	}
	return "", false
}
