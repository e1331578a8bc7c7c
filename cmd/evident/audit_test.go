package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
)

// optionsOf reads --data and --database-url back from engineArgs' flags.
func optionsOf(args []string) db.Options {
	var o db.Options
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--data":
			o.DataDir = args[i+1]
		case "--database-url":
			o.URL = args[i+1]
		}
	}
	return o
}

func TestAuditCommands(t *testing.T) {
	for _, e := range dbtest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			clearEnv(t)
			base := engineArgs(t, e)
			if code, _, errOut := evident(t, append(base, "org", "create", "--slug", "acme", "--name", "Acme")...); code != 0 {
				t.Fatal(errOut)
			}
			pw := filepath.Join(t.TempDir(), "pw")
			_ = os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600)
			if code, _, errOut := evident(t, append(base, "user", "create", "--org", "acme", "--email", "a@acme.example", "--role", "admin", "--password-file", pw)...); code != 0 {
				t.Fatal(errOut)
			}
			code, out, errOut := evident(t, append(base, "audit", "verify")...)
			if code != 0 || !strings.Contains(out, "chain acme: 2 entries verified") || !strings.Contains(out, "chain instance: 7 entries verified") {
				t.Fatalf("verify: %d %q %q", code, out, errOut)
			}
			code, out, _ = evident(t, append(base, "audit", "checkpoint", "--org", "acme")...)
			if code != 0 || !strings.Contains(out, `"seq": 2`) {
				t.Fatalf("checkpoint: %d %q", code, out)
			}
			cp := filepath.Join(t.TempDir(), "cp.json")
			_ = os.WriteFile(cp, []byte(out), 0o600)
			code, out, errOut = evident(t, append(base, "audit", "export", "--org", "acme")...)
			if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, `"action":"audit.export"`) || !strings.Contains(errOut, "exported 3 entries") {
				t.Fatalf("export: %d %q %q", code, out, errOut)
			}
			if code, out, errOut = evident(t, append(base, "audit", "verify", "--org", "acme", "--checkpoint", cp)...); code != 0 || !strings.Contains(out, "holds the checkpoint") {
				t.Fatalf("verify with checkpoint: %d %q %q", code, out, errOut)
			}

			d, err := db.Open(context.Background(), optionsOf(base))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			// Cut the tail, head row included: only the checkpoint shows it.
			for _, q := range []string{
				`DELETE FROM audit_events WHERE org_id IS NOT NULL AND seq > 1`,
				`UPDATE audit_heads SET seq = 1, hash = (SELECT hash FROM audit_events e WHERE e.chain = audit_heads.chain AND e.seq = 1) WHERE chain <> 'instance'`,
			} {
				if _, err := d.Write.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			if code, _, errOut = evident(t, append(base, "audit", "verify", "--org", "acme")...); code != 0 {
				t.Fatalf("truncated chain without a checkpoint: %d %q", code, errOut)
			}
			code, _, errOut = evident(t, append(base, "audit", "verify", "--org", "acme", "--checkpoint", cp)...)
			if code != 1 {
				t.Fatalf("truncated chain with the checkpoint: exit %d, want 1", code)
			}
			oneLine(t, errOut, "chain acme: entry 2: the chain ends at 1")
			if _, err := d.Write.Exec(`UPDATE audit_events SET fields = '{}' WHERE org_id IS NOT NULL AND seq = 1`); err != nil {
				t.Fatal(err)
			}
			code, _, errOut = evident(t, append(base, "audit", "verify")...)
			if code != 1 {
				t.Fatalf("changed entry: exit %d, want 1", code)
			}
			oneLine(t, errOut, "chain acme: entry 1: its contents do not match its hash")

			for _, bad := range [][]string{
				{"audit", "export"},
				{"audit", "verify", "--org", "nope"},
				{"audit", "verify", "--checkpoint", filepath.Join(t.TempDir(), "missing.json")},
				{"audit", "export", "--org", "acme", "--since", "yesterday"},
			} {
				if code, _, errOut := evident(t, append(base, bad...)...); code != 2 {
					t.Errorf("%v: exit %d %q, want 2", bad, code, errOut)
				}
			}
		})
	}
}
