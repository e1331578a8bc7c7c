package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/db/dbtest"
)

// sp80053File is the SP 800-53 catalog as an outside file: the copy beside
// the repository when there is one, else the bytes the binary embeds.
func sp80053File(t *testing.T) string {
	shared := filepath.Join("..", "..", "..", "shared", "frameworks", "nist-sp-800-53-rev5", "NIST_SP-800-53_rev5_catalog-min.json")
	if _, err := os.Stat(shared); err == nil {
		return shared
	}
	return filepath.Join("..", "..", "internal", "catalog", "data", "nist-sp-800-53-r5", "NIST_SP-800-53_rev5_catalog-min.json")
}

func TestFrameworkCommands(t *testing.T) {
	for _, e := range dbtest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			clearEnv(t)
			base := engineArgs(t, e)
			code, out, errOut := evident(t, append(base, "framework", "list")...)
			if code != 0 {
				t.Fatalf("list: %d %s", code, errOut)
			}
			for id, n := range map[string]string{"nist-csf-1.1": "108", "nist-csf-2.0": "106", "iso-27001-2022": "123",
				"soc2-2017": "61", "nist-sp-800-53-r5": "1007"} {
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(id) + `\s.*\s` + n + `\s+builtin$`).MatchString(out) {
					t.Errorf("list lacks %s with %s requirements:\n%s", id, n, out)
				}
			}

			catalogFile := sp80053File(t)
			code, out, errOut = evident(t, append(base, "framework", "import", catalogFile, "--id", "sp800-53-outside")...)
			if code != 0 || !strings.Contains(out, "imported sp800-53-outside") || !strings.Contains(out, "1007 requirements") {
				t.Fatalf("import: %d %q %q", code, out, errOut)
			}
			code, _, errOut = evident(t, append(base, "framework", "import", catalogFile, "--id", "sp800-53-outside")...)
			if code != 1 || !strings.Contains(errOut, "exists already") {
				t.Fatalf("second import: %d %q", code, errOut)
			}

			// Damaged copies are refused with the place of the fault, and
			// nothing is stored.
			raw, err := os.ReadFile(catalogFile)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			damaged := map[string][]byte{
				"truncated.json": raw[:len(raw)/2],
				"bad-uuid.json":  []byte(strings.Replace(string(raw), regexp.MustCompile(`"uuid":"[^"]*"`).FindString(string(raw)), `"uuid":"not-a-uuid"`, 1)),
				"no-title.json":  []byte(strings.Replace(string(raw), `"title":"Access Control"`, `"title":7`, 1)),
			}
			wantErr := map[string]string{
				"truncated.json": "the file is not valid JSON",
				"bad-uuid.json":  "does not match the OSCAL schema at /catalog/uuid",
				"no-title.json":  "does not match the OSCAL schema at /catalog/groups/0/title",
			}
			for name, b := range damaged {
				p := filepath.Join(dir, name)
				_ = os.WriteFile(p, b, 0o600)
				code, _, errOut := evident(t, append(base, "framework", "import", p, "--id", "damaged")...)
				if code != 1 || !strings.Contains(errOut, wantErr[name]) {
					t.Errorf("%s: %d %q, want %q", name, code, errOut, wantErr[name])
				}
			}
			code, out, _ = evident(t, append(base, "framework", "list")...)
			if code != 0 || strings.Contains(out, "damaged") || !strings.Contains(out, "sp800-53-outside") {
				t.Fatalf("after refused imports:\n%s", out)
			}

			csvFile := filepath.Join(dir, "own.csv")
			_ = os.WriteFile(csvFile, []byte("ref,parent,kind,title\nSD,,group,Secure development\nSD-1,SD,,Code is reviewed\n"), 0o600)
			if code, _, errOut := evident(t, append(base, "framework", "import", csvFile)...); code != 2 || !strings.Contains(errOut, "--id, --name and --version") {
				t.Fatalf("CSV without --id: %d %q", code, errOut)
			}
			code, out, errOut = evident(t, append(base, "framework", "import", csvFile, "--id", "acme-sdlc", "--name", "Acme SDLC", "--version", "1")...)
			if code != 0 || !strings.Contains(out, "1 requirements") {
				t.Fatalf("CSV import: %d %q %q", code, out, errOut)
			}
		})
	}
}
