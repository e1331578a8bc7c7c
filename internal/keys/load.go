package keys

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Names of the settings and of the files generated on SQLite.
const (
	SecretVar   = "EVIDENT_SECRET_KEY"
	SigningVar  = "EVIDENT_SIGNING_KEY"
	SecretFile  = "secret.key"
	SigningFile = "signing.key"
)

// Config says where the keyrings come from.
type Config struct {
	// Secret and Signing are keyring text from the environment (or the
	// *_FILE it names); empty when not set.
	Secret, Signing string
	// DataDir is where keys are generated when Generate is true.
	DataDir string
	// Generate allows creating missing keyrings in DataDir: true on SQLite,
	// false on PostgreSQL, where every node must share the same keys.
	Generate bool
}

// Keys are the loaded keyrings.
type Keys struct {
	Secret  *Ring
	Signing *Ring
}

// Load reads both keyrings, generating them on SQLite when missing.
func Load(c Config) (*Keys, error) {
	secret, err := loadRing(c.Secret, SecretVar, c.DataDir, SecretFile, c.Generate)
	if err != nil {
		return nil, err
	}
	signing, err := loadRing(c.Signing, SigningVar, c.DataDir, SigningFile, c.Generate)
	if err != nil {
		return nil, err
	}
	return &Keys{Secret: secret, Signing: signing}, nil
}

func loadRing(text, variable, dataDir, file string, generate bool) (*Ring, error) {
	if text != "" {
		return ParseRing(text, variable)
	}
	if !generate {
		return nil, fmt.Errorf("PostgreSQL needs %s (or %s_FILE) so every node shares the same key; generate one with: evident keys generate", variable, variable)
	}
	path := filepath.Join(dataDir, file)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%s is readable by other users (mode %v): run chmod 600 %s", path, info.Mode().Perm(), path)
		}
		r, err := ParseRing(string(b), path)
		if err != nil {
			return nil, err
		}
		r.File = path
		return r, nil
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory %s: %w", dataDir, err)
		}
		r := &Ring{Entries: []Entry{NewEntry()}, Source: path, File: path}
		if err := WriteFile(path, r.String()); err != nil {
			return nil, fmt.Errorf("generate %s: %w", path, err)
		}
		return r, nil
	default:
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
}

// SigningKey returns the current Ed25519 private key and its id.
func (k *Keys) SigningKey() (string, ed25519.PrivateKey) {
	e := k.Signing.Current()
	return e.ID, ed25519.NewKeyFromSeed(e.Key)
}

// Sign signs msg with the current signing key.
func (k *Keys) Sign(msg []byte) (kid string, sig []byte) {
	kid, priv := k.SigningKey()
	return kid, ed25519.Sign(priv, msg)
}

// PublicKeys returns every signing key's public half by id, current last, so
// signatures made before a rotation still verify.
func (k *Keys) PublicKeys() []PublicKey {
	out := make([]PublicKey, 0, len(k.Signing.Entries))
	for _, e := range k.Signing.Entries {
		out = append(out, PublicKey{ID: e.ID, Key: ed25519.NewKeyFromSeed(e.Key).Public().(ed25519.PublicKey)})
	}
	return out
}

// PublicKey is a published verification key.
type PublicKey struct {
	ID  string
	Key ed25519.PublicKey
}

// Verify checks a signature made by Sign with the key kid.
func (k *Keys) Verify(kid string, msg, sig []byte) bool {
	for _, p := range k.PublicKeys() {
		if p.ID == kid {
			return ed25519.Verify(p.Key, msg, sig)
		}
	}
	return false
}
