package keys_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/keys"
)

func TestParseRing(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{2}, 32))
	short := base64.StdEncoding.EncodeToString([]byte("short"))
	tests := []struct {
		name, text string
		wantIDs    []string
		wantErr    string
	}{
		{"bare key gets a derived id", k1, []string{keys.DeriveID(bytes.Repeat([]byte{1}, 32))}, ""},
		{"lines with ids, last is current", "# comment\nold:" + k1 + "\nnew:" + k2 + "\n", []string{"old", "new"}, ""},
		{"commas", "a:" + k1 + ",b:" + k2, []string{"a", "b"}, ""},
		{"too short", short, nil, "5 bytes, want 32"},
		{"not base64", "!!!", nil, "not base64"},
		{"duplicate id", "a:" + k1 + "\na:" + k2, nil, "appears twice"},
		{"bad id", "a b:" + k1, nil, "key id must be"},
		{"empty", " \n", nil, "holds no key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := keys.ParseRing(tt.text, "TEST")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), k1) || strings.Contains(err.Error(), short) {
					t.Fatal("error quotes key material")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range r.Entries {
				ids = append(ids, e.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") || r.Current().ID != tt.wantIDs[len(tt.wantIDs)-1] {
				t.Fatalf("ids %v (current %s), want %v", ids, r.Current().ID, tt.wantIDs)
			}
		})
	}
}

func TestLoadGeneratesOnSQLiteOnly(t *testing.T) {
	dir := t.TempDir()
	k, err := keys.Load(keys.Config{DataDir: dir, Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{keys.SecretFile, keys.SigningFile} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v; want 0600", f, err, info.Mode().Perm())
		}
	}
	again, err := keys.Load(keys.Config{DataDir: dir, Generate: true})
	if err != nil || again.Secret.Current().ID != k.Secret.Current().ID || again.Signing.Current().ID != k.Signing.Current().ID {
		t.Fatalf("second load: %v; want the same keys", err)
	}
	if err := os.Chmod(filepath.Join(dir, keys.SecretFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Load(keys.Config{DataDir: dir, Generate: true}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key file: %v, want a refusal", err)
	}

	_, err = keys.Load(keys.Config{DataDir: t.TempDir(), Generate: false})
	if err == nil || !strings.Contains(err.Error(), keys.SecretVar) {
		t.Fatalf("PostgreSQL without a key: %v, want an error naming %s", err, keys.SecretVar)
	}
}

func TestSealOpen(t *testing.T) {
	k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("t.c:1")
	sealed := k.Seal([]byte("hunter2"), aad)
	if strings.Contains(sealed, "hunter2") || keys.KeyID(sealed) != k.Secret.Current().ID {
		t.Fatalf("sealed %q: want ciphertext tagged with the current key id", sealed)
	}
	if plain, err := k.Open(sealed, aad); err != nil || string(plain) != "hunter2" {
		t.Fatalf("open: %q, %v", plain, err)
	}
	if _, err := k.Open(sealed, []byte("t.c:2")); err == nil {
		t.Fatal("opened with another row's AAD")
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := k.Open(tampered, aad); err == nil {
		t.Fatal("opened a tampered value")
	}
	other, _ := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if _, err := other.Open(sealed, aad); err == nil || !strings.Contains(err.Error(), "not in the secret keyring") {
		t.Fatalf("foreign key: %v", err)
	}
}

func TestSignVerifyAcrossRotation(t *testing.T) {
	k, _ := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	kid, sig := k.Sign([]byte("trust.json"))
	k.Signing = k.Signing.WithNew()
	if !k.Verify(kid, []byte("trust.json"), sig) {
		t.Fatal("signature from before the rotation no longer verifies")
	}
	if k.Verify(kid, []byte("trust.json!"), sig) {
		t.Fatal("verified a changed message")
	}
	if newKid, _ := k.Sign(nil); newKid == kid {
		t.Fatal("rotation did not change the current signing key")
	}
}

func TestReencrypt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.Write.ExecContext(ctx, `CREATE TABLE t_secrets (id TEXT NOT NULL PRIMARY KEY, secret TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		col := keys.EncryptedColumn{Table: "t_secrets", ID: "id", Column: "secret"}
		k, _ := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
		oldID := k.Secret.Current().ID
		for _, id := range []string{"a", "b"} {
			if _, err := d.Write.ExecContext(ctx, `INSERT INTO t_secrets VALUES ($1, $2)`, id, k.Seal([]byte("pw-"+id), col.AAD(id))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO t_secrets VALUES ('empty', '')`); err != nil {
			t.Fatal(err)
		}
		k.Secret = k.Secret.WithNew()
		n, err := k.Reencrypt(ctx, d, []keys.EncryptedColumn{col})
		if err != nil || n != 2 {
			t.Fatalf("re-encrypted %d (%v), want 2", n, err)
		}
		rows, _ := d.Read.QueryContext(ctx, `SELECT id, secret FROM t_secrets WHERE secret <> ''`)
		defer rows.Close()
		for rows.Next() {
			var id, v string
			_ = rows.Scan(&id, &v)
			if keys.KeyID(v) == oldID {
				t.Errorf("row %s still under the old key", id)
			}
			if p, err := k.Open(v, col.AAD(id)); err != nil || string(p) != "pw-"+id {
				t.Errorf("row %s: %q, %v", id, p, err)
			}
		}
		if n, err := k.Reencrypt(ctx, d, []keys.EncryptedColumn{col}); err != nil || n != 0 {
			t.Fatalf("second pass changed %d (%v), want 0", n, err)
		}
	})
}

func TestLinkTokens(t *testing.T) {
	k, _ := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	tok := k.Token("unsubscribe", "sub_1")
	if msg, ok := k.ReadToken("unsubscribe", tok); !ok || msg != "sub_1" {
		t.Fatalf("read back: %q %v", msg, ok)
	}
	msg, tagPart, _ := strings.Cut(tok, ".")
	other, _ := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	for name, bad := range map[string]string{
		"another purpose": "", "another message": base64.RawURLEncoding.EncodeToString([]byte("sub_2")) + "." + tagPart, "truncated tag": msg + "." + tagPart[:10],
		"no separator": msg, "foreign key": other.Token("unsubscribe", "sub_1"), "empty": ".",
	} {
		purpose := "unsubscribe"
		if name == "another purpose" {
			purpose, bad = "confirm", tok
		}
		if _, ok := k.ReadToken(purpose, bad); ok {
			t.Errorf("%s: token accepted", name)
		}
	}
	k.Secret = k.Secret.WithNew()
	if _, ok := k.ReadToken("unsubscribe", tok); !ok {
		t.Fatal("a link made before the key rotation no longer works")
	}
}
