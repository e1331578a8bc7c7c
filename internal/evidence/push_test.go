package evidence

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
)

func TestPush(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, 1<<20)
		c, err := f.controls.Create(ctx, f.org, control.Input{Title: "Dependency scanning", Status: control.Implemented})
		if err != nil {
			t.Fatal(err)
		}
		state := func() control.State {
			list, _ := f.controls.List(ctx, f.org, control.ListFilter{})
			return list[0].State
		}
		res, err := f.evidence.Push(ctx, f.org, PushInput{Check: "dependency-scan", Passed: true, Summary: "0 critical",
			Measured: map[string]string{"critical": "0"}, ControlIDs: []string{c.ID}}, "scan.json", strings.NewReader(`{"critical":0}`))
		if err != nil || !res.Created || res.File == nil || res.File.File.MediaType != "application/json" {
			t.Fatalf("first push: %+v %v", res, err)
		}
		if s := state(); s != control.Verified {
			t.Fatalf("after a passing push: %s", s)
		}
		f.clk.Advance(time.Hour)
		res, err = f.evidence.Push(ctx, f.org, PushInput{Check: "dependency-scan", Passed: false, Summary: "2 critical"}, "", nil)
		if err != nil || res.Created || res.Check.Check.State != "failing" {
			t.Fatalf("failing push: %+v %v", res, err)
		}
		if s := state(); s != control.Failing {
			t.Fatalf("after a failing push: %s", s)
		}
		if _, err := f.evidence.RunCheck(ctx, f.org, res.Check.ID); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("running a push check: %v", err)
		}
		if _, err := f.evidence.Push(ctx, f.org, PushInput{Check: "bad name!", Passed: true}, "", nil); apperr.FieldOf(err) != "check" {
			t.Fatalf("bad name: %v", err)
		}
		if _, err := f.evidence.Push(ctx, f.other, PushInput{Check: "x", Passed: true, ControlIDs: []string{c.ID}}, "", nil); apperr.FieldOf(err) != "control_ids" {
			t.Fatalf("push linking another organisation's control: %v", err)
		}
		// A pushed HTML file is refused like any upload; the result stays.
		if _, err := f.evidence.Push(ctx, f.org, PushInput{Check: "dependency-scan", Passed: true}, "report.html",
			bytes.NewReader([]byte("<html><script>x</script></html>"))); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("pushed HTML: %v", err)
		}
	})
}

func TestParsePush(t *testing.T) {
	in, err := ParsePushJSON([]byte(`[{"check":"restore-test","passed":true,"measured":{"rto_minutes":"42"}},{"check":"mdm","passed":false}]`))
	if err != nil || len(in) != 2 || !in[0].Passed || in[1].Passed || in[0].Measured["rto_minutes"] != "42" {
		t.Fatalf("JSON: %+v %v", in, err)
	}
	for file, want := range map[string]string{
		`[{"check":"x"}]`:                                 `"passed" is required`,
		`[{"check":"a b","passed":true}]`:                 "result 1",
		`{"check":"x","passed":true,"measured":{"":"1"}}`: "measured",
		`not json`: "not a JSON array",
	} {
		if _, err := ParsePushJSON([]byte(file)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", file, err, want)
		}
	}
	csvIn, err := ParsePushCSV([]byte("check,passed,control_ids,summary\nbackup,true,a;b,ok\nmdm,fail,,3 laptops out\n"))
	if err != nil || len(csvIn) != 2 || len(csvIn[0].ControlIDs) != 2 || csvIn[1].Passed {
		t.Fatalf("CSV: %+v %v", csvIn, err)
	}
	for file, want := range map[string]string{
		"check\nx\n":                    `lacks the "passed" column`,
		"check,passed\nx,maybe\n":       "line 2: passed is \"maybe\"",
		"check,passed,colour\nx,true,1": "unknown column",
		"check,passed\n":                "no results",
	} {
		if _, err := ParsePushCSV([]byte(file)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", file, err, want)
		}
	}
}

// Concurrent first pushes of one name make one check; a PUT without
// visibility or dates keeps them.
func TestPushRaceAndPartialUpdate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, 1<<20)
		errs := make(chan error, 8)
		for range 8 {
			go func() {
				_, err := f.evidence.Push(ctx, f.org, PushInput{Check: "nightly-backup", Passed: true}, "", nil)
				errs <- err
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM checks WHERE org_id = $1 AND kind = 'push'`, f.org).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d push checks after 8 concurrent first pushes: %v", n, err)
		}
		// Push checks can be renamed.
		list, _ := f.evidence.List(ctx, f.org, Filter{Kind: Check}, Reader{Restricted: true})
		if _, err := f.evidence.Update(ctx, f.org, list[0].ID, Input{Title: "Nightly backup job"}, Reader{Restricted: true}); err != nil {
			t.Fatalf("renaming a push check: %v", err)
		}
		it, err := f.evidence.Create(ctx, f.org, Input{Kind: Note, Title: "Board minutes", Visibility: Restricted, CollectedOn: "2026-11-01"})
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(200 * 24 * time.Hour)
		up, err := f.evidence.Update(ctx, f.org, it.ID, Input{Title: "Board minutes, November"}, Reader{Restricted: true})
		if err != nil || up.Visibility != Restricted || up.CollectedOn != "2026-11-01" || up.ValidUntil != it.ValidUntil || up.Current {
			t.Fatalf("partial update: %+v %v", up, err)
		}
		if _, err := f.evidence.Update(ctx, f.org, it.ID, Input{Title: "x", CollectedOn: "2026-12-01"}, Reader{Restricted: true}); apperr.FieldOf(err) != "collected_on" {
			t.Fatalf("collected after it was uploaded: %v", err)
		}
		if _, err := f.evidence.Get(ctx, f.org, "a\x00b", Reader{}); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("NUL in an id: %v", err)
		}
	})
}
