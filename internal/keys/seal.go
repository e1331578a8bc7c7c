package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Sealed values look like "v1:<kid>:<base64 nonce‖ciphertext>". The key id
// tells which key of the ring opens it, so keys can rotate while old values
// remain readable; AAD binds a value to where it is stored (say
// "smtp_settings.password:<row id>") so it cannot be moved elsewhere.
const sealVersion = "v1"

// ErrUnknownKey means a value was sealed with a key this ring lacks: the wrong
// EVIDENT_SECRET_KEY, or a key removed too early.
var ErrUnknownKey = errors.New("value was encrypted with a key that is not in the secret keyring")

// Seal encrypts plaintext with the current secret key.
func (k *Keys) Seal(plaintext, aad []byte) string {
	e := k.Secret.Current()
	gcm := newGCM(e.Key)
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	out := gcm.Seal(nonce, nonce, plaintext, aad)
	return sealVersion + ":" + e.ID + ":" + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal with the same aad.
func (k *Keys) Open(sealed string, aad []byte) ([]byte, error) {
	version, rest, ok := strings.Cut(sealed, ":")
	kid, b64, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || version != sealVersion {
		return nil, errors.New("not a sealed value")
	}
	key, found := k.Secret.Find(kid)
	if !found {
		return nil, fmt.Errorf("%w (key id %s)", ErrUnknownKey, kid)
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return nil, errors.New("sealed value is not base64")
	}
	gcm := newGCM(key)
	if len(raw) < gcm.NonceSize() {
		return nil, errors.New("sealed value is truncated")
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], aad)
	if err != nil {
		return nil, errors.New("sealed value does not authenticate: altered, or moved from elsewhere")
	}
	return plain, nil
}

// KeyID returns the id of the key a sealed value was made with.
func KeyID(sealed string) string {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 {
		return ""
	}
	return parts[1]
}

func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // keys are checked to be 32 bytes when loaded
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return gcm
}
