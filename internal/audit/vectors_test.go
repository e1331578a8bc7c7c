package audit_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
)

// The test vectors of docs/audit-chain.md: two entries of the instance
// chain with fixed salts, and the bytes and hashes they must give.
func vectors() []audit.Entry {
	salt, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	return []audit.Entry{
		{Chain: "instance", Seq: 1, Time: 1795431600000000, Action: "user.sign_in",
			Actor: audit.Actor{Type: "user", ID: "0196f3a0-0000-7000-8000-000000000001"}, Target: audit.Target{Type: "session", ID: "s-1"},
			RequestID: "r-1", Fields: map[string]any{"second_factor_pending": false},
			Commitment: map[string]string{"client_ip": audit.Commit(salt, "203.0.113.9")}},
		{Chain: "instance", Seq: 2, Time: 1795431601000000, Action: "user.note",
			Actor: audit.Actor{Type: "system", ID: "cli"}, Target: audit.Target{Type: "user", ID: "0196f3a0-0000-7000-8000-000000000001"},
			Fields:     map[string]any{"text": "Zoë \"q\" \\ \t\n\x01 🙂 \u2028", "count": int64(-3), "tags": []string{"b", "a"}, "none": nil},
			Commitment: map[string]string{}},
	}
}

var vectorHashes = []string{
	"77b225565e6aa1f85fce3e400b449a120f02eaa21a98f78fa9fcba8cdcf693b5",
	"5fd958a34c8656d06ab850694075b19013ed4c86fe9293a9ffb6d5a029885cfb",
}

func TestVectors(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "audit-chain.md"))
	if err != nil {
		t.Fatal(err)
	}
	prev := audit.GenesisHash
	for i, e := range vectors() {
		body, err := e.Canonical(nil)
		if err != nil {
			t.Fatal(err)
		}
		h, err := e.Hash(prev)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("entry %d: %s\n%s", e.Seq, body, h)
		if h != vectorHashes[i] {
			t.Errorf("entry %d hashes to %s, want %s", e.Seq, h, vectorHashes[i])
		}
		if !bytes.Contains(doc, body) || !bytes.Contains(doc, []byte(h)) {
			t.Errorf("docs/audit-chain.md does not show the canonical bytes and hash of vector %d", e.Seq)
		}
		prev = h
	}
}

// python3 runs scripts/verify-audit-export.py on path; CI must have Python.
func python(t *testing.T, path string) (ok bool, out string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is required under CI=true to run the independent audit verifier")
		}
		t.Skip("python3 not installed")
	}
	cmd := exec.Command(py, filepath.Join("..", "..", "scripts", "verify-audit-export.py"), path)
	b, err := cmd.CombinedOutput()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		t.Fatal(err)
	}
	return err == nil, string(b)
}

// The independent Python verifier agrees with Verify on a valid export and
// on tampered ones.
func TestPythonVerifierAgrees(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.record(t, 5)
		// Awkward text: quotes, escapes, control characters, non-ASCII.
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			return e.log.Record(ctx, tx, audit.Event{OrgID: e.org, Action: "test.text", TargetType: "x", TargetID: "é\u2028",
				Fields: map[string]any{"text": "Zoë \"q\" \\ \t\n\x01\x7f 🙂 \u2028 <b>&", "n": -7, "list": []string{"z", "ä"}, "nil": nil, "yes": true}})
		}); err != nil {
			t.Fatal(err)
		}
		e.record(t, 2)
		var buf bytes.Buffer
		n, err := e.log.Export(ctx, &buf, e.org, e.clk.Now().AddDate(-1, 0, 0))
		if err != nil || n != 9 { // 8 events and the export's own
			t.Fatalf("export: %d entries, %v", n, err)
		}
		dir := t.TempDir()
		valid := filepath.Join(dir, "valid.jsonl")
		_ = os.WriteFile(valid, buf.Bytes(), 0o600)
		if ok, out := python(t, valid); !ok || !strings.Contains(out, "9 entries verified") {
			t.Fatalf("python on a valid export: %s", out)
		}
		if rep, _ := e.log.Verify(ctx, e.org, nil); rep.Problem != nil {
			t.Fatalf("Go on the same chain: %v", rep.Problem)
		}
		lines := strings.SplitAfter(buf.String(), "\n")
		for name, tamper := range map[string]func([]string) []string{
			"field changed": func(l []string) []string {
				l[2] = strings.Replace(l[2], `"role":"manager"`, `"role":"admin"`, 1)
				return l
			},
			"entry removed": func(l []string) []string { return append(l[:3:3], l[4:]...) },
			"personal value": func(l []string) []string {
				l[1] = strings.Replace(l[1], "p1@example.com", "p9@example.com", 1)
				return l
			},
			"text changed": func(l []string) []string { l[5] = strings.Replace(l[5], "🙂", "🙃", 1); return l },
		} {
			changed := tamper(append([]string(nil), lines...))
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".jsonl")
			_ = os.WriteFile(path, []byte(strings.Join(changed, "")), 0o600)
			if ok, out := python(t, path); ok {
				t.Errorf("%s: python accepted a tampered export: %s", name, out)
			}
		}
	})
}
