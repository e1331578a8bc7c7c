package main

import (
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/db/dbtest"
)

func TestHostCommands(t *testing.T) {
	for _, e := range dbtest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			clearEnv(t)
			base := engineArgs(t, e)
			for _, slug := range []string{"acme", "beta"} {
				if code, _, errOut := evident(t, append(base, "org", "create", "--slug", slug, "--name", slug)...); code != 0 {
					t.Fatal(errOut)
				}
			}
			code, out, _ := evident(t, append(base, "host", "list")...)
			if code != 0 || !strings.Contains(out, "no host names mapped") {
				t.Fatalf("empty list: %d %q", code, out)
			}

			code, out, errOut := evident(t, append(base, "host", "add", "Trust.Acme.example.", "--org", "acme")...)
			if code != 0 || !strings.HasPrefix(out, "trust.acme.example now serves the public site of acme") {
				t.Fatalf("add: %d %q %q", code, out, errOut)
			}
			code, out, _ = evident(t, append(base, "host", "list")...)
			if code != 0 || !strings.Contains(out, "HOST") || !strings.Contains(out, "trust.acme.example  acme") {
				t.Fatalf("list: %d %q", code, out)
			}
			code, out, _ = evident(t, append(base, "host", "list", "--json")...)
			if code != 0 || !strings.Contains(out, `"host": "trust.acme.example"`) || !strings.Contains(out, `"org_slug": "acme"`) {
				t.Fatalf("list --json: %d %s", code, out)
			}

			for _, slug := range []string{"acme", "beta"} {
				code, _, errOut = evident(t, append(base, "host", "add", "trust.acme.example", "--org", slug)...)
				if code != exitError {
					t.Fatalf("adding a mapped name to %s: exit %d, want 1", slug, code)
				}
				oneLine(t, errOut, `host name "trust.acme.example" is already mapped to organisation "acme"`)
			}
			code, _, errOut = evident(t, append(base, "host", "add", "https://trust.beta.example", "--org", "beta")...)
			if code != exitError {
				t.Fatalf("invalid name: exit %d", code)
			}
			oneLine(t, errOut, "without a scheme")
			code, _, errOut = evident(t, append(base, "host", "add", "trust.beta.example", "--org", "nope")...)
			if code != exitError {
				t.Fatalf("unknown organisation: exit %d", code)
			}
			oneLine(t, errOut, `no organisation with slug "nope"`)
			code, _, errOut = evident(t, append(base, "host", "add", "--org", "beta")...)
			if code != exitUsage {
				t.Fatalf("no host name: exit %d", code)
			}
			oneLine(t, errOut, "give exactly one host name")
			code, _, errOut = evident(t, append(base, "host", "add", "trust.beta.example")...)
			if code != exitUsage {
				t.Fatalf("no --org: exit %d", code)
			}
			oneLine(t, errOut, `"org" not set`)

			code, out, errOut = evident(t, append(base, "host", "remove", "TRUST.acme.example")...)
			if code != 0 || !strings.Contains(out, "trust.acme.example no longer serves a public site") {
				t.Fatalf("remove: %d %q %q", code, out, errOut)
			}
			code, _, errOut = evident(t, append(base, "host", "remove", "trust.acme.example")...)
			if code != exitError {
				t.Fatalf("removing an unmapped name: exit %d", code)
			}
			oneLine(t, errOut, "is not mapped to any organisation")
			code, out, _ = evident(t, append(base, "host", "list")...)
			if code != 0 || strings.Contains(out, "trust.acme.example") {
				t.Fatalf("list after removal: %d %q", code, out)
			}
			// Removed, the name may go to another organisation.
			if code, _, errOut := evident(t, append(base, "host", "add", "trust.acme.example", "--org", "beta")...); code != 0 {
				t.Fatalf("add again: %s", errOut)
			}
		})
	}
}
