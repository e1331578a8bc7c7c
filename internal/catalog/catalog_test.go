package catalog

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/keys"
)

func TestBuiltinFrameworks(t *testing.T) {
	want := map[string]struct{ count, withdrawn int }{
		CSF11: {108, 0}, CSF20: {106, 0}, ISO27001: {123, 0}, SOC2: {61, 0}, SP80053: {1007, 182},
	}
	for _, id := range BuiltinIDs() {
		d, err := Builtin(id)
		if err != nil {
			t.Fatal(err)
		}
		withdrawn := 0
		for _, r := range d.Requirements {
			if r.Withdrawn {
				withdrawn++
			}
		}
		if d.count() != want[id].count || withdrawn != want[id].withdrawn {
			t.Errorf("%s: %d requirements, %d withdrawn; want %d, %d", id, d.count(), withdrawn, want[id].count, want[id].withdrawn)
		}
		if err := checkTree(d, id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	d, _ := Builtin(SP80053)
	baselines := map[string]int{}
	for _, r := range d.Requirements {
		for _, b := range r.Baselines {
			baselines[b]++
		}
		if r.Ref == "ac-2.3" && (r.Kind != "enhancement" || r.ParentRef != "ac-2" || r.Label != "AC-2(3)" || !strings.Contains(r.Text, "[Assignment: organization-defined time period]")) {
			t.Errorf("ac-2.3 read as %+v", r)
		}
	}
	for b, n := range map[string]int{"LOW": 149, "MODERATE": 287, "HIGH": 370, "PRIVACY": 96} {
		if baselines[b] != n {
			t.Errorf("baseline %s selects %d, want %d", b, baselines[b], n)
		}
	}
	csf11, _ := Builtin(CSF11)
	for _, r := range csf11.Requirements {
		if r.Ref == "ID.AM-1" && len(r.Details.References) != 6 {
			t.Errorf("ID.AM-1 keeps %d informative references, want 6", len(r.Details.References))
		}
	}
}

func TestLibrary(t *testing.T) {
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	if len(lib) < 90 || len(lib) > 120 {
		t.Fatalf("the library has %d controls, want about 100", len(lib))
	}
	covered := map[string]map[string]bool{}
	for _, fw := range LibraryFrameworks {
		d, err := Builtin(fw)
		if err != nil {
			t.Fatal(err)
		}
		refs := map[string]bool{}
		for _, r := range d.Requirements {
			if r.countable() {
				refs[r.Ref] = true
			}
		}
		covered[fw] = map[string]bool{}
		for _, c := range lib {
			if len(c.Maps[fw]) == 0 {
				t.Errorf("library control %s maps to nothing in %s", c.Key, fw)
			}
			for _, ref := range c.Maps[fw] {
				if !refs[ref] {
					t.Errorf("library control %s maps to %s %s, which does not exist", c.Key, fw, ref)
				}
				covered[fw][ref] = true
			}
		}
		// Adopting from the library leaves no requirement without a control.
		for ref := range refs {
			if !covered[fw][ref] {
				t.Errorf("no library control covers %s %s", fw, ref)
			}
		}
	}
}

func TestParseCustomJSON(t *testing.T) {
	valid := `{"format":"evident-framework/1","id":"acme-std","name":"Acme standard","version":"1",
"requirements":[{"ref":"A","kind":"group","title":"Access"},{"ref":"A-1","parent":"A","title":"MFA everywhere"}]}`
	d, err := ParseCustomJSON([]byte(valid))
	if err != nil || d.count() != 1 || d.Requirements[1].ParentRef != "A" {
		t.Fatalf("valid file: %+v %v", d, err)
	}
	cases := []struct{ name, file, want string }{
		{"syntax", `{"format":"evident-framework/1",` + "\n" + `"id":}`, "line 2, column 6"},
		{"unknown field", `{"format":"evident-framework/1","idd":"x"}`, "unknown field \"idd\""},
		{"wrong format", `{"format":"other","id":"acme-std","name":"x","version":"1","requirements":[]}`, "format is \"other\""},
		{"bad id", strings.Replace(valid, `"acme-std"`, `"Acme Std"`, 1), "framework identifier"},
		{"no name", strings.Replace(valid, `"Acme standard"`, `""`, 1), "needs a name"},
		{"duplicate ref", strings.Replace(valid, `"ref":"A-1"`, `"ref":"A"`, 1), "used twice"},
		{"missing parent", strings.Replace(valid, `"parent":"A"`, `"parent":"B"`, 1), `its parent "B" is not in the file`},
		{"cycle", strings.Replace(valid, `{"ref":"A","kind":"group"`, `{"ref":"A","parent":"A-1","kind":"group"`, 1), "parents come before their children"},
		{"NUL in a title", strings.Replace(valid, `MFA everywhere`, `MFA\u0000everywhere`, 1), "requirements[1] (\"A-1\"): the title must be text"},
		{"control character in the name", strings.Replace(valid, `Acme standard`, `Acme\u0007standard`, 1), "needs a name"},
		{"stray bracket", valid + `]`, "unexpected data after"},
		{"bad kind", strings.Replace(valid, `"kind":"group"`, `"kind":"chapter"`, 1), "requirements[0]: kind \"chapter\""},
		{"only groups", strings.Replace(valid, `"parent":"A","title"`, `"parent":"A","kind":"group","title"`, 1), "no requirement that can be assessed"},
		{"ref with space", strings.Replace(valid, `"ref":"A-1"`, `"ref":"A 1"`, 1), "without spaces"},
		{"trailing data", valid + `{}`, "unexpected data after"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCustomJSON([]byte(c.file))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	// A chain deeper than MaxDepth is refused, and checking 20,000
	// requirements stays linear.
	var chain strings.Builder
	chain.WriteString("ref,title,parent\nR0,x,\n")
	for i := 1; i < MaxRequirements; i++ {
		fmt.Fprintf(&chain, "R%d,x,R%d\n", i, i-1)
	}
	if _, err := ParseCustomCSV([]byte(chain.String()), Meta{ID: "deep", Name: "Deep", Version: "1"}); err == nil || !strings.Contains(err.Error(), "line 18: it sits 17 levels deep") {
		t.Fatalf("deep chain: %v", err)
	}
	big := make([]byte, MaxImportBytes+1)
	if _, err := ParseCustomJSON(big); err == nil || !strings.Contains(err.Error(), "limited to 20 MiB") {
		t.Fatalf("oversized file: %v", err)
	}
}

func TestParseCustomCSV(t *testing.T) {
	meta := Meta{ID: "acme-std", Name: "Acme", Version: "1"}
	d, err := ParseCustomCSV([]byte("\xef\xbb\xbfRef,Title,Parent\nA,Access,\nA-1,\"MFA, everywhere\",A\n\n"), meta)
	if err != nil || len(d.Requirements) != 2 || d.Requirements[1].Title != "MFA, everywhere" {
		t.Fatalf("valid CSV: %+v %v", d, err)
	}
	cases := []struct{ name, file, want string }{
		{"empty", "", "the file is empty"},
		{"unknown column", "ref,title,owner\n", `line 1, column 3: unknown column "owner"`},
		{"no title column", "ref,text\n", `lacks the "title" column`},
		{"bad quote", "ref,title\nA,\"open\n", "line 2"},
		{"bad kind", "ref,title,kind\nA,x,chapter\n", "line 2, column kind"},
		{"missing parent", "ref,title,parent\nA,x,B\n", `line 2: its parent "B"`},
		{"duplicate", "ref,title\nA,x\nB,y\nA,z\n", "line 4: the reference is used twice"},
		{"child first", "ref,title,parent\nR1,x,G1\nG1,y,\n", "line 2: its parent \"G1\" is not in the file before it"},
		{"not utf-8", "ref,title\nA,\xff\n", "not UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCustomCSV([]byte(c.file), meta)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestParseOSCAL(t *testing.T) {
	raw, err := dataFS.ReadFile("data/nist-sp-800-53-r5/NIST_SP-800-53_rev5_catalog-min.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseOSCAL(raw)
	if err != nil || d.count() != 1007 || d.Source != SourceOSCAL {
		t.Fatalf("SP 800-53 as OSCAL: %v", err)
	}
	minimal := `{"catalog":{"uuid":"5f4e3a1c-1b2c-4d3e-8f4a-5b6c7d8e9f01","metadata":{"title":"Mini","last-modified":"2026-01-01T00:00:00Z",
"version":"1","oscal-version":"%s"},"groups":[{"id":"g","title":"Group","controls":[{"id":"g-1","title":"One"}]}]}}`
	if d, err := ParseOSCAL([]byte(strings.Replace(minimal, "%s", "1.1.2", 1))); err != nil || d.count() != 1 {
		t.Fatalf("minimal 1.1.2 catalog: %v", err)
	}
	if _, err := ParseOSCAL([]byte(strings.Replace(minimal, "%s", "1.2.0", 1))); err != nil {
		t.Fatalf("minimal 1.2.0 catalog: %v", err)
	}
	cases := []struct{ name, file, want string }{
		{"not a catalog", `{"profile":{}}`, "not an OSCAL catalog"},
		{"unsupported version", strings.Replace(minimal, "%s", "2.0.0", 1), "OSCAL 2.0.0 is not supported"},
		{"no version", strings.Replace(minimal, "%s", "", 1), "is not a version"},
		{"schema", strings.Replace(strings.Replace(minimal, "%s", "1.1.2", 1), `"title":"One"`, `"title":1`, 1), "/catalog/groups/0/controls/0/title"},
		{"extra property", strings.Replace(strings.Replace(minimal, "%s", "1.1.2", 1), `"title":"Mini"`, `"title":"Mini","colour":"red"`, 1), "/catalog/metadata"},
		{"duplicate control", strings.Replace(strings.Replace(minimal, "%s", "1.1.2", 1), `{"id":"g-1","title":"One"}`, `{"id":"g-1","title":"One"},{"id":"g-1","title":"Two"}`, 1), "used twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseOSCAL([]byte(c.file))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestSuggestID(t *testing.T) {
	for in, want := range map[string]string{
		"NIST SP 800-53|5.0.1":            "nist-sp-800-53-5.0.1",
		"  Acme  Standard!|v2 ":           "acme-standard-v2",
		strings.Repeat("abc ", 30) + "|1": strings.TrimRight(strings.Repeat("abc-", 16), "-"),
	} {
		parts := strings.SplitN(in, "|", 2)
		if got := SuggestID(parts[0], parts[1]); got != want {
			t.Errorf("SuggestID(%q) = %q, want %q", in, got, want)
		}
	}
}

func newService(t *testing.T, d *db.DB) *Service {
	t.Helper()
	k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewSettable(clock.System{}.Now())
	return NewService(d, clk, audit.New(d, clk, k))
}

func TestSyncAndImport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := newService(t, d)
		// Two nodes starting together on an empty database take turns.
		errs := make(chan error, 2)
		for range 2 {
			go func() { errs <- newService(t, d).SyncBuiltins(ctx) }()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SyncBuiltins(ctx); err != nil { // finds everything current
			t.Fatal(err)
		}
		var syncs int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'framework.sync'`).Scan(&syncs); err != nil || syncs != 5 {
			t.Fatalf("framework.sync recorded %d times, want 5: %v", syncs, err)
		}
		// An older binary never puts its older copy back.
		if _, err := d.Write.ExecContext(ctx, `UPDATE frameworks SET data_version = $1, digest = 'newer' WHERE id = $2`, DataVersion+1, CSF20); err != nil {
			t.Fatal(err)
		}
		if err := s.SyncBuiltins(ctx); err != nil {
			t.Fatal(err)
		}
		if f, _ := s.Get(ctx, CSF20); f.digest != "newer" {
			t.Fatalf("an older binary replaced a newer catalog: %q", f.digest)
		}
		fws, err := s.List(ctx)
		if err != nil || len(fws) != 5 || fws[0].ID != CSF11 || fws[4].ID != SP80053 || fws[4].Count != 1007 {
			t.Fatalf("list: %+v %v", fws, err)
		}
		reqs, err := s.Requirements(ctx, ISO27001)
		if err != nil || len(reqs) != 134 || reqs[0].Ref != "4" || reqs[1].ParentRef != "4" {
			t.Fatalf("ISO tree: %d %v", len(reqs), err)
		}
		ms, err := s.BuiltinMappings(ctx, CSF11, "ID.BE-1")
		if err != nil || len(ms) == 0 || ms[0].ToFramework != CSF20 {
			t.Fatalf("mappings of ID.BE-1: %+v %v", ms, err)
		}

		// A stored mapping that differs from the file (same count) is put
		// right at the next start.
		if _, err := d.Write.ExecContext(ctx, `UPDATE mappings SET relation = 'bogus' WHERE source = 'nist' AND from_ref = 'ID.BE-1'`); err != nil {
			t.Fatal(err)
		}
		if err := s.SyncBuiltins(ctx); err != nil {
			t.Fatal(err)
		}
		if ms, _ := s.BuiltinMappings(ctx, CSF11, "ID.BE-1"); len(ms) == 0 || ms[0].Relation == "bogus" {
			t.Fatalf("a changed mapping was not restored: %+v", ms)
		}

		// A changed built-in is updated in place; what it dropped stays,
		// withdrawn, for the links that may point at it.
		if _, err := d.Write.ExecContext(ctx, `UPDATE frameworks SET digest = 'old' WHERE id = $1`, SOC2); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO requirements (framework_id, ref, label, parent_ref, kind, title, text,
			assessable, withdrawn, position, baselines, details) VALUES ($1, 'CC99.1', 'CC99.1', '', 'criterion', 'gone', '', TRUE, FALSE, 999, '[]', '{}')`, SOC2); err != nil {
			t.Fatal(err)
		}
		if err := s.SyncBuiltins(ctx); err != nil {
			t.Fatal(err)
		}
		if r, err := s.Requirement(ctx, SOC2, "CC99.1"); err != nil || !r.Withdrawn {
			t.Fatalf("dropped requirement after resync: %+v %v", r, err)
		}
		if r, err := s.Requirement(ctx, SOC2, "CC6.1"); err != nil || r.Withdrawn {
			t.Fatalf("CC6.1 after resync: %+v %v", r, err)
		}

		def, err := ParseCustomCSV([]byte("ref,title\nX-1,One\nX-2,Two\n"), Meta{ID: "acme-x", Name: "Acme X", Version: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if f, err := s.Import(ctx, def); err != nil || f.Count != 2 || f.Source != SourceCustom {
			t.Fatalf("import: %+v %v", f, err)
		}
		if _, err := s.Import(ctx, def); err == nil || !strings.Contains(err.Error(), "exists already") {
			t.Fatalf("second import: %v", err)
		}
		if _, err := s.Get(ctx, "nope"); err == nil {
			t.Fatal("unknown framework found")
		}
		var n int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'framework.import'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("framework.import audited %d times: %v", n, err)
		}
	})
}

func FuzzParseCustomJSON(f *testing.F) {
	f.Add([]byte(`{"format":"evident-framework/1","id":"abc","name":"n","version":"1","requirements":[{"ref":"a","title":"t"}]}`))
	f.Add([]byte(`{"requirements":[{"ref":"a","parent":"a"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := ParseCustomJSON(b); err == nil && d.count() == 0 {
			t.Fatal("accepted a framework with nothing to assess")
		}
	})
}

func FuzzParseCustomCSV(f *testing.F) {
	f.Add([]byte("ref,parent,title\nA,,x\nB,A,y\n"))
	f.Add([]byte("ref,title\n\"A\nB\",x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := ParseCustomCSV(b, Meta{ID: "abc", Name: "n", Version: "1"}); err == nil && d.count() == 0 {
			t.Fatal("accepted a framework with nothing to assess")
		}
	})
}

func FuzzParseOSCAL(f *testing.F) {
	f.Add([]byte(`{"catalog":{"metadata":{"oscal-version":"1.1.2"}}}`))
	f.Add([]byte(`{"catalog":{"uuid":"5f4e3a1c-1b2c-4d3e-8f4a-5b6c7d8e9f01","metadata":{"title":"M","last-modified":"2026-01-01T00:00:00Z","version":"1","oscal-version":"1.1.2"},"controls":[{"id":"c","title":"C"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := ParseOSCAL(b); err == nil && d.count() == 0 {
			t.Fatal("accepted a catalog with nothing to assess")
		}
	})
}
