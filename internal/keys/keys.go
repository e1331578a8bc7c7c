// Package keys holds the instance's secrets: the secret keyring that encrypts
// sensitive columns (AES-256-GCM, every ciphertext tagged with its key id) and
// the Ed25519 signing keyring that signs what the public site publishes.
//
// A keyring is text: entries separated by new lines or commas, each either
// "kid:base64" or a bare base64 value (its id is then derived from the key).
// Every key is 32 bytes. The last entry is the current key; the earlier ones
// stay so older ciphertexts and signatures can still be read.
//
// On SQLite both keyrings default to files generated (mode 0600) in the data
// directory; on PostgreSQL, where several nodes share the database, they must
// be given by EVIDENT_SECRET_KEY and EVIDENT_SIGNING_KEY (or *_FILE).
package keys

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// KeySize is the length of every key: AES-256 keys and Ed25519 seeds.
const KeySize = 32

// Entry is one key of a keyring.
type Entry struct {
	ID  string
	Key []byte
}

// Ring is an ordered keyring; the last entry is current.
type Ring struct {
	Entries []Entry
	// Source says where the ring came from, for messages: a file path, or
	// the name of the environment variable.
	Source string
	// File is the path the ring was read from and may be rewritten to when
	// rotated; empty when it came from the environment.
	File string
}

var kidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ParseRing reads keyring text. Errors never quote key material.
func ParseRing(text, source string) (*Ring, error) {
	r := &Ring{Source: source}
	seen := map[string]bool{}
	for _, field := range strings.FieldsFunc(text, func(c rune) bool { return c == '\n' || c == ',' || c == '\r' }) {
		field = strings.TrimSpace(field)
		if field == "" || strings.HasPrefix(field, "#") {
			continue
		}
		kid, b64, found := strings.Cut(field, ":")
		if !found {
			b64, kid = kid, ""
		}
		key, err := decodeKey(b64)
		if err != nil {
			return nil, fmt.Errorf("%s: entry %d: %w", source, len(r.Entries)+1, err)
		}
		if kid == "" {
			kid = DeriveID(key)
		}
		if !kidPattern.MatchString(kid) {
			return nil, fmt.Errorf("%s: entry %d: key id must be 1-32 letters, digits, '-' or '_'", source, len(r.Entries)+1)
		}
		if seen[kid] {
			return nil, fmt.Errorf("%s: key id %s appears twice", source, kid)
		}
		seen[kid] = true
		r.Entries = append(r.Entries, Entry{ID: kid, Key: key})
	}
	if len(r.Entries) == 0 {
		return nil, fmt.Errorf("%s holds no key", source)
	}
	return r, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("key is %d bytes, want %d (generate one with: evident keys generate)", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("key is not base64 (generate one with: evident keys generate)")
}

// DeriveID names a key by the start of its SHA-256, so the same key always
// gets the same id without revealing it.
func DeriveID(key []byte) string {
	sum := sha256.Sum256(key)
	return "k" + hex.EncodeToString(sum[:4])
}

// Current returns the key new data is protected with.
func (r *Ring) Current() Entry { return r.Entries[len(r.Entries)-1] }

// Find returns the key with id kid.
func (r *Ring) Find(kid string) ([]byte, bool) {
	for _, e := range r.Entries {
		if e.ID == kid {
			return e.Key, true
		}
	}
	return nil, false
}

// String encodes the ring as keyring text, one entry a line.
func (r *Ring) String() string {
	var b strings.Builder
	for _, e := range r.Entries {
		fmt.Fprintf(&b, "%s:%s\n", e.ID, base64.StdEncoding.EncodeToString(e.Key))
	}
	return b.String()
}

// NewEntry returns a fresh random key with a derived id.
func NewEntry() Entry {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return Entry{ID: DeriveID(k), Key: k}
}

// WithNew returns a copy of r with a fresh current key appended.
func (r *Ring) WithNew() *Ring {
	c := *r
	c.Entries = append(append([]Entry(nil), r.Entries...), NewEntry())
	return &c
}

// WriteFile stores keyring text durably with mode 0600: a temporary file in
// the same directory, fsync, rename, fsync of the directory.
func WriteFile(path, text string) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".key-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
