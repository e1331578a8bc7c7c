package control

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/org"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestControlState(t *testing.T) {
	day := 24 * time.Hour
	current := func(a Assurance) EvidenceItem { return EvidenceItem{Assurance: a, ValidUntil: now.Add(day)} }
	expired := func(a Assurance) EvidenceItem { return EvidenceItem{Assurance: a, ValidUntil: now.Add(-day)} }
	failing := EvidenceItem{Assurance: Automated, Failing: true}
	cases := []struct {
		name string
		in   ControlInput
		want State
	}{
		{"failing check on an implemented control", ControlInput{Implemented, []EvidenceItem{current(Documented), failing}}, Failing},
		{"failing check on a planned control", ControlInput{Planned, []EvidenceItem{failing}}, Failing},
		{"planned", ControlInput{Planned, []EvidenceItem{current(Independent)}}, NotImplemented},
		{"in progress", ControlInput{Status: InProgress}, NotImplemented},
		{"all evidence expired", ControlInput{Implemented, []EvidenceItem{expired(Documented), expired(Automated)}}, Stale},
		{"only an expired note", ControlInput{Implemented, []EvidenceItem{expired(SelfAttested)}}, Stale},
		{"no evidence", ControlInput{Status: Implemented}, Unevidenced},
		{"only a current note", ControlInput{Implemented, []EvidenceItem{current(SelfAttested)}}, Unevidenced},
		{"current note beside expired documents", ControlInput{Implemented, []EvidenceItem{current(SelfAttested), expired(Documented)}}, Unevidenced},
		{"current document", ControlInput{Implemented, []EvidenceItem{current(Documented), expired(Automated)}}, Evidenced},
		{"current passing check", ControlInput{Implemented, []EvidenceItem{current(Documented), current(Automated)}}, Verified},
		{"current independent attestation", ControlInput{Implemented, []EvidenceItem{current(Independent)}}, Verified},
		{"validity ends exactly now", ControlInput{Implemented, []EvidenceItem{{Assurance: Documented, ValidUntil: now}}}, Stale},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ControlState(c.in, now); got != c.want {
				t.Fatalf("state %s, want %s", got, c.want)
			}
		})
	}
}

func TestShare(t *testing.T) {
	for _, c := range []struct {
		part, applicable int
		want             float64
	}{{0, 0, 0}, {1, 3, 33.3}, {2, 3, 66.6}, {2999, 3000, 99.9}, {3, 3, 100}} {
		if got := (Counts{Applicable: c.applicable}).Share(c.part); got != c.want {
			t.Errorf("Share(%d of %d) = %v, want %v", c.part, c.applicable, got, c.want)
		}
	}
}

func TestNaturalLess(t *testing.T) {
	for _, c := range [][2]string{{"A.5.9", "A.5.10"}, {"ac-2.3", "ac-2.10"}, {"CC1.5", "CC2.1"}, {"6.1", "6.1.1"}} {
		if !naturalLess(c[0], c[1]) || naturalLess(c[1], c[0]) {
			t.Errorf("%s should sort before %s", c[0], c[1])
		}
	}
}

// fixture is one organisation (and a second one) on a fresh database.
type fixture struct {
	d        *db.DB
	clk      *clock.Settable
	catalog  *catalog.Service
	controls *Service
	org      string
	other    string
	owner    string
	evidence mapEvidence
}

// mapEvidence is an evidence source held in memory: the posture engine
// takes evidence as input, which lets these tests reach every state before
// the evidence package exists.
type mapEvidence map[string][]EvidenceItem

func (m mapEvidence) ControlEvidence(context.Context, string) (map[string][]EvidenceItem, error) {
	return m, nil
}

func newFixture(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewSettable(now)
	a := audit.New(d, clk, k)
	f := &fixture{d: d, clk: clk, catalog: catalog.NewService(d, clk, a), evidence: mapEvidence{}}
	if err := f.catalog.SyncBuiltins(ctx); err != nil {
		t.Fatal(err)
	}
	f.controls = NewService(d, clk, a, f.catalog)
	f.controls.SetEvidenceSource(f.evidence)
	orgs := org.NewService(d, clk, a)
	for i, slug := range []string{"acme", "other"} {
		o, err := orgs.Create(ctx, org.CreateInput{Slug: slug, Name: slug})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			f.org = o.ID
		} else {
			f.other = o.ID
		}
	}
	f.owner = db.NewID(now)
	if _, err := d.Write.ExecContext(ctx, `INSERT INTO users (id, email, email_norm, name, password_hash, totp_secret, totp_last_step,
		password_changed_at, created_at, updated_at) VALUES ($1, 'o@acme.example', 'o@acme.example', 'Owner', '', '', 0, 0, 0, 0)`, f.owner); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.ExecContext(ctx, `INSERT INTO memberships (org_id, user_id, role, created_at, updated_at) VALUES ($1, $2, 'manager', 0, 0)`,
		f.org, f.owner); err != nil {
		t.Fatal(err)
	}
	return f
}

// importFramework imports a small custom framework: two groups, seven
// requirements.
func (f *fixture) importFramework(t *testing.T) {
	t.Helper()
	def, err := catalog.ParseCustomCSV([]byte(`ref,parent,kind,title
G1,,group,First group
R1,G1,,Failing
R2,G1,,Not implemented
R3,G1,,Stale
R4,G1,,Unevidenced
G2,,group,Second group
R5,G2,,Evidenced
R6,G2,,Verified
R7,G2,,Gap
R8,G2,,Not applicable
`), catalog.Meta{ID: "test-fw", Name: "Test framework", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.catalog.Import(context.Background(), def); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) control(t *testing.T, title string, status Status) string {
	t.Helper()
	c, err := f.controls.Create(context.Background(), f.org, Input{Title: title, Status: status})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func TestPostureStates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		f.importFramework(t)
		if _, err := f.controls.Adopt(ctx, f.org, "test-fw", AdoptOptions{}); err != nil {
			t.Fatal(err)
		}
		day := 24 * time.Hour
		ids := map[string]string{
			"failing":     f.control(t, "Failing control", Implemented),
			"planned":     f.control(t, "Planned control", Planned),
			"stale":       f.control(t, "Stale control", Implemented),
			"unevidenced": f.control(t, "Unevidenced control", Implemented),
			"evidenced":   f.control(t, "Evidenced control", Implemented),
			"verified":    f.control(t, "Verified control", Implemented),
		}
		f.evidence[ids["failing"]] = []EvidenceItem{{Assurance: Automated, Failing: true}}
		f.evidence[ids["stale"]] = []EvidenceItem{{Assurance: Documented, ValidUntil: now.Add(-day)}}
		f.evidence[ids["unevidenced"]] = []EvidenceItem{{Assurance: SelfAttested, ValidUntil: now.Add(day)}}
		f.evidence[ids["evidenced"]] = []EvidenceItem{{Assurance: Documented, ValidUntil: now.Add(day)}}
		f.evidence[ids["verified"]] = []EvidenceItem{{Assurance: Independent, ValidUntil: now.Add(day)}}
		links := map[string][]string{
			"R1": {"failing", "verified"}, // the worst linked control decides
			"R2": {"planned", "evidenced"},
			"R3": {"stale"},
			"R4": {"unevidenced", "evidenced"},
			"R5": {"evidenced", "verified"},
			"R6": {"verified"},
			"R8": {"failing"}, // not applicable whatever its controls
		}
		for ref, keys := range links {
			for _, k := range keys {
				if err := f.controls.Link(ctx, f.org, ids[k], "test-fw", ref); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := f.controls.SetApplicability(ctx, f.org, "test-fw", "R8", false, "We run no such thing at all."); err != nil {
			t.Fatal(err)
		}
		p, err := f.controls.Posture(ctx, f.org, "test-fw")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]State{"R1": Failing, "R2": NotImplemented, "R3": Stale, "R4": Unevidenced, "R5": Evidenced,
			"R6": Verified, "R7": Gap, "R8": NotApplicable}
		for _, r := range p.Requirements {
			if r.State != want[r.Ref] {
				t.Errorf("%s: %s, want %s", r.Ref, r.State, want[r.Ref])
			}
		}
		c := p.Counts
		if c.Requirements != 8 || c.Applicable != 7 || c.NotApplicable != 1 || c.Covered() != 2 || c.Verified != 1 || c.Gap != 1 {
			t.Fatalf("counts %+v", c)
		}
		if got := c.Share(c.Covered()); got != 28.5 || p.Shares.Covered != 28.5 || p.Shares.Verified != 14.2 || p.Shares.NotApplicable != 12.5 {
			t.Fatalf("headline %v %%, want 28.5 (2 of 7, rounded down)", got)
		}
		// Every node of the tree has the counts at or below it.
		if len(p.Nodes) != 10 || p.Nodes[0].Ref != "G1" || p.Nodes[0].Counts.Applicable != 4 || p.Nodes[5].Ref != "G2" ||
			p.Nodes[5].Counts.NotApplicable != 1 || p.Nodes[5].Counts.Evidenced != 1 || p.Nodes[1].Depth != 1 {
			t.Fatalf("nodes %+v", p.Nodes)
		}
		if p.Requirements[7].Justification != "We run no such thing at all." {
			t.Fatalf("justification %q", p.Requirements[7].Justification)
		}

		// The next passing run verifies; expiry makes stale; a deleted
		// control leaves a gap.
		f.evidence[ids["failing"]] = []EvidenceItem{{Assurance: Automated, ValidUntil: now.Add(day)}}
		f.clk.Set(now.Add(2 * day))
		if err := f.controls.Delete(ctx, f.org, ids["verified"]); err != nil {
			t.Fatal(err)
		}
		p, _ = f.controls.Posture(ctx, f.org, "test-fw")
		want = map[string]State{"R1": Stale, "R5": Stale, "R6": Gap}
		for _, r := range p.Requirements {
			if w, ok := want[r.Ref]; ok && r.State != w {
				t.Errorf("later, %s: %s, want %s", r.Ref, r.State, w)
			}
		}

		// Marking applicable again brings the requirement back.
		if err := f.controls.SetApplicability(ctx, f.org, "test-fw", "R8", true, ""); err != nil {
			t.Fatal(err)
		}
		p, _ = f.controls.Posture(ctx, f.org, "test-fw")
		if p.Counts.NotApplicable != 0 || p.Requirements[7].State != Stale {
			t.Fatalf("R8 applicable again: %+v", p.Requirements[7])
		}
		csv := string(SoACSV(p))
		if !strings.HasPrefix(csv, "framework,requirement,title,applicable,justification,state,controls,control_states\n") ||
			!strings.Contains(csv, "test-fw,R7,Gap,yes,,gap,,\n") {
			t.Fatalf("SoA CSV:\n%s", csv)
		}
	})
}

func TestRequirementRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		f.importFramework(t)
		id := f.control(t, "Access reviews", Implemented)
		code := func(err error) apperr.Code { return apperr.CodeOf(err) }

		if err := f.controls.Link(ctx, f.org, id, "test-fw", "R1"); code(err) != apperr.Invalid || !strings.Contains(err.Error(), "adopt framework") {
			t.Fatalf("link before adoption: %v", err)
		}
		if _, err := f.controls.Adopt(ctx, f.org, "test-fw", AdoptOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.controls.Adopt(ctx, f.org, "test-fw", AdoptOptions{}); code(err) != apperr.Conflict {
			t.Fatalf("second adoption: %v", err)
		}
		if _, err := f.controls.Adopt(ctx, f.org, "test-fw", AdoptOptions{Baseline: "LOW"}); code(err) != apperr.Invalid {
			t.Fatalf("baseline of a framework without: %v", err)
		}
		for ref, want := range map[string]string{"G1": "grouping node", "R99": "no requirement"} {
			if err := f.controls.Link(ctx, f.org, id, "test-fw", ref); code(err) != apperr.Invalid || !strings.Contains(err.Error(), want) {
				t.Errorf("link to %s: %v", ref, err)
			}
		}
		// Another organisation's control is not found, and the database
		// itself refuses a cross-tenant link.
		if err := f.controls.Link(ctx, f.other, id, "test-fw", "R1"); code(err) == "" || err == nil {
			t.Fatalf("link from the other organisation: %v", err)
		}
		if _, err := f.controls.Adopt(ctx, f.other, "test-fw", AdoptOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := f.controls.Link(ctx, f.other, id, "test-fw", "R1"); code(err) != apperr.NotFound {
			t.Fatalf("link of acme's control by the other organisation: %v", err)
		}
		if _, err := d.Write.ExecContext(ctx, `INSERT INTO control_requirements (org_id, control_id, framework_id, requirement_ref, created_at)
			VALUES ($1, $2, 'test-fw', 'R1', 0)`, f.other, id); !db.IsForeignKeyViolation(err) {
			t.Fatalf("cross-tenant link by SQL: %v, want a foreign key violation", err)
		}
		if _, err := f.controls.Get(ctx, f.other, id); code(err) != apperr.NotFound {
			t.Fatalf("get from the other organisation: %v", err)
		}

		// SP 800-53 with a baseline: outside it and withdrawn are refused.
		if _, err := f.controls.Adopt(ctx, f.org, catalog.SP80053, AdoptOptions{Baseline: "LOW"}); err != nil {
			t.Fatal(err)
		}
		for ref, want := range map[string]string{"ac-2": "", "ac-2.1": "outside the adopted LOW baseline", "ac-2.5": "outside", "ac-1": "",
			"ac-13": "withdrawn", "ac": "grouping node"} {
			err := f.controls.Link(ctx, f.org, id, catalog.SP80053, ref)
			if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Errorf("link to SP 800-53 %s: %v, want %q", ref, err, want)
			}
		}
		p, err := f.controls.Posture(ctx, f.org, catalog.SP80053)
		if err != nil || p.Counts.Requirements != 149 || p.Counts.Unevidenced != 2 || p.Counts.Gap != 147 {
			t.Fatalf("LOW baseline posture: %+v %v", p.Counts, err)
		}

		// Applicability needs a justification.
		for _, why := range []string{"", "too short", strings.Repeat("x", MaxJustification+1)} {
			if err := f.controls.SetApplicability(ctx, f.org, "test-fw", "R2", false, why); code(err) != apperr.Invalid {
				t.Errorf("justification %q accepted: %v", why, err)
			}
		}
		// Field rules.
		for name, in := range map[string]Input{
			"no title":    {},
			"status":      {Title: "x", Status: "done"},
			"visibility":  {Title: "x", Visibility: "secret"},
			"interval":    {Title: "x", ReviewIntervalDays: 5000},
			"review date": {Title: "x", NextReviewDate: "next week"},
			"owner":       {Title: "x", OwnerID: "someone-else"},
		} {
			if _, err := f.controls.Create(ctx, f.org, in); code(err) != apperr.Invalid {
				t.Errorf("%s: %v", name, err)
			}
		}
		c, err := f.controls.Update(ctx, f.org, id, Input{Title: "Access reviews", OwnerID: f.owner, Status: Implemented,
			Visibility: Public, NextReviewDate: "2027-01-31"})
		if err != nil || c.OwnerID != f.owner || c.Visibility != Public || len(c.Links) != 2 {
			t.Fatalf("update: %+v %v", c, err)
		}
		var actions []string
		rows, _ := d.Read.QueryContext(ctx, `SELECT action FROM audit_events WHERE org_id = $1 ORDER BY seq`, f.org)
		for rows.Next() {
			var a string
			_ = rows.Scan(&a)
			actions = append(actions, a)
		}
		rows.Close()
		got := strings.Join(actions, " ")
		for _, a := range []string{"framework.adopt", "control.create", "control.link", "control.update"} {
			if !strings.Contains(got, a) {
				t.Errorf("audit log lacks %s: %s", a, got)
			}
		}
	})
}

func TestAdoptFromLibrary(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		lib, _ := catalog.Library()
		created := 0
		for _, fw := range catalog.LibraryFrameworks {
			res, err := f.controls.Adopt(ctx, f.org, fw, AdoptOptions{FromLibrary: true, UseMappings: true})
			if err != nil {
				t.Fatal(err)
			}
			created += res.ControlsCreated
			if res.ControlsCreated+res.ControlsReused != len(lib) {
				t.Errorf("%s: %d created + %d reused, want every one of %d practices", fw, res.ControlsCreated, res.ControlsReused, len(lib))
			}
		}
		list, err := f.controls.List(ctx, f.org, ListFilter{})
		if err != nil {
			t.Fatal(err)
		}
		titles := map[string]bool{}
		for _, c := range list {
			if titles[c.Title] {
				t.Errorf("two controls titled %q", c.Title)
			}
			titles[c.Title] = true
		}
		if len(list) != len(lib) || created != len(lib) {
			t.Fatalf("%d controls (%d created) for %d practices", len(list), created, len(lib))
		}
		for _, fw := range catalog.LibraryFrameworks {
			p, err := f.controls.Posture(ctx, f.org, fw)
			if err != nil {
				t.Fatal(err)
			}
			if p.Counts.Gap != 0 || p.Counts.NotImplemented != p.Counts.Applicable {
				t.Errorf("%s after adoption: %+v, want every requirement not implemented", fw, p.Counts)
			}
		}
		// CSF 1.1 adopted later gets the same controls through NIST's
		// transition, no new ones.
		res, err := f.controls.Adopt(ctx, f.org, catalog.CSF11, AdoptOptions{FromLibrary: true, UseMappings: true})
		if err != nil || res.ControlsCreated != 0 || res.LinksCreated == 0 {
			t.Fatalf("CSF 1.1 adoption: %+v %v", res, err)
		}
		p, _ := f.controls.Posture(ctx, f.org, catalog.CSF11)
		if p.Counts.Requirements != 108 || p.Counts.Gap > 10 {
			t.Fatalf("CSF 1.1 posture after adoption: %+v", p.Counts)
		}
		// Filters.
		mfa, err := f.controls.List(ctx, f.org, ListFilter{Query: "multi-factor", FrameworkID: catalog.ISO27001})
		if err != nil || len(mfa) == 0 || mfa[0].LibraryKey != "mfa" {
			t.Fatalf("filtered list: %+v %v", mfa, err)
		}
		if err := f.controls.Unadopt(ctx, f.org, catalog.CSF11); err != nil {
			t.Fatal(err)
		}
		if _, err := f.controls.Posture(ctx, f.org, catalog.CSF11); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("posture after removal: %v", err)
		}
	})
}

// Two adoptions at once still give one control per practice.
func TestConcurrentAdoption(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		errs := make(chan error, 2)
		for _, fw := range []string{catalog.ISO27001, catalog.SOC2} {
			go func() {
				_, err := f.controls.Adopt(ctx, f.org, fw, AdoptOptions{FromLibrary: true})
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		lib, _ := catalog.Library()
		list, _ := f.controls.List(ctx, f.org, ListFilter{})
		if len(list) != len(lib) {
			t.Fatalf("%d controls for %d practices", len(list), len(lib))
		}
	})
}

func TestOrgMappings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		f.importFramework(t)
		if _, err := f.controls.Adopt(ctx, f.org, catalog.ISO27001, AdoptOptions{FromLibrary: true}); err != nil {
			t.Fatal(err)
		}
		in := MappingInput{FromFramework: catalog.ISO27001, FromRef: "A.8.5", ToFramework: "test-fw", ToRef: "R1", Relation: "equivalent"}
		if err := f.controls.AddMapping(ctx, f.org, in); err != nil {
			t.Fatal(err)
		}
		if err := f.controls.AddMapping(ctx, f.org, in); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("duplicate mapping: %v", err)
		}
		// A narrower requirement's controls never stand for a broader one.
		narrower := MappingInput{FromFramework: catalog.ISO27001, FromRef: "A.8.5", ToFramework: "test-fw", ToRef: "R2", Relation: "subset"}
		if err := f.controls.AddMapping(ctx, f.org, narrower); err != nil {
			t.Fatal(err)
		}
		bad := in
		bad.ToRef = "G1"
		if err := f.controls.AddMapping(ctx, f.org, bad); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("mapping to a group: %v", err)
		}
		res, err := f.controls.Adopt(ctx, f.org, "test-fw", AdoptOptions{UseMappings: true})
		if err != nil || res.LinksCreated == 0 {
			t.Fatalf("adoption through the organisation's mapping: %+v %v", res, err)
		}
		p, _ := f.controls.Posture(ctx, f.org, "test-fw")
		if p.Requirements[0].Ref != "R1" || len(p.Requirements[0].Controls) == 0 || len(p.Requirements[1].Controls) != 0 {
			t.Fatalf("links through mappings: R1 %d controls, R2 %d (want some, none)", len(p.Requirements[0].Controls), len(p.Requirements[1].Controls))
		}
		ms, _ := f.controls.Mappings(ctx, f.other, "test-fw", "R1")
		if len(ms) != 0 {
			t.Fatalf("the other organisation sees acme's mappings: %+v", ms)
		}
		if err := f.controls.RemoveMapping(ctx, f.org, in); err != nil {
			t.Fatal(err)
		}
	})
}
