package audit_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/keys"
)

var ctx = context.Background()

type env struct {
	d   *db.DB
	clk *clock.Settable
	log *audit.Log
	org string // an organisation id
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	orgID := db.NewID(clk.Now())
	if _, err := d.Write.ExecContext(ctx, `INSERT INTO orgs (id, slug, name, time_zone, created_at, updated_at) VALUES ($1, $2, 'Acme', 'UTC', 0, 0)`, orgID, "org-"+orgID); err != nil {
		t.Fatal(err)
	}
	return &env{d: d, clk: clk, log: audit.New(d, clk, k), org: orgID}
}

// record appends n events to the organisation's chain, each with personal
// data, as a request would.
func (e *env) record(t testing.TB, n int) {
	t.Helper()
	rctx := audit.WithRequest(ctx, &audit.Request{ID: "req-1", ClientIP: "203.0.113.9", UserAgent: "test/1.0",
		Actor: audit.Actor{Type: audit.ActorUser, ID: "user-1"}})
	for i := 0; i < n; i++ {
		err := e.d.InTx(rctx, func(tx *db.Tx) error {
			return e.log.Record(rctx, tx, audit.Event{OrgID: e.org, Action: "membership.role_change", TargetType: "user", TargetID: fmt.Sprint("user-", i),
				Fields: map[string]any{"role": "manager", "from": "member", "email": fmt.Sprintf("p%d@example.com", i)}})
		})
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(time.Second)
	}
}

func (e *env) verify(t *testing.T, cp *audit.Checkpoint) *audit.Report {
	t.Helper()
	rep, err := e.log.Verify(ctx, e.org, cp)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRecordAndVerify(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.record(t, 5)
		rep := e.verify(t, nil)
		if rep.Problem != nil || rep.Entries != 5 || rep.HeadSeq != 5 {
			t.Fatalf("report %+v %v", rep, rep.Problem)
		}
		// Personal data is only in the side table.
		var leaks int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE fields LIKE '%example.com%' OR personal LIKE '%203.0.113%' OR personal LIKE '%test/1.0%'`).Scan(&leaks); err != nil {
			t.Fatal(err)
		}
		if leaks != 0 {
			t.Fatal("personal data in the chain itself")
		}
		items, next, err := e.log.List(ctx, e.org, audit.Filter{Limit: 2})
		if err != nil || len(items) != 2 || next != 4 || items[0].Seq != 5 || items[0].Personal["email"] != "p4@example.com" ||
			items[0].Personal["client_ip"] != "203.0.113.9" || items[0].Fields["role"] != "manager" || items[0].Actor.ID != "user-1" || items[0].RequestID != "req-1" {
			t.Fatalf("list: %+v next %d %v", items, next, err)
		}
		items, next, _ = e.log.List(ctx, e.org, audit.Filter{Before: next, Limit: 10})
		if len(items) != 3 || next != 0 || items[2].Seq != 1 {
			t.Fatalf("second page: %d items, next %d", len(items), next)
		}
		for _, f := range []audit.Filter{
			{Actor: "user-1"}, {Action: "membership.role_change"}, {Action: "membership."}, {TargetType: "user", TargetID: "user-3"},
			{From: time.Date(2026, 11, 23, 10, 0, 3, 0, time.UTC)}, {To: time.Date(2026, 11, 23, 10, 0, 1, 0, time.UTC)},
		} {
			items, _, err := e.log.List(ctx, e.org, f)
			if err != nil || len(items) == 0 {
				t.Errorf("filter %+v: %d items, %v", f, len(items), err)
			}
		}
		for _, f := range []audit.Filter{{Actor: "nobody"}, {Action: "member."}, {Action: "membership.create"}, {TargetType: "user", TargetID: "x"}} {
			if items, _, _ := e.log.List(ctx, e.org, f); len(items) != 0 {
				t.Errorf("filter %+v matched %d", f, len(items))
			}
		}
		if _, _, err := e.log.List(ctx, e.org, audit.Filter{Limit: 500}); err == nil {
			t.Error("a page of 500 was accepted")
		}
	})
}

// Every kind of tampering with direct SQL is caught at the entry it hit.
func TestTamperingIsCaught(t *testing.T) {
	cases := []struct {
		name string
		sql  string // statements separated by ";"; $1 is the chain
		seq  int64
	}{
		{"action changed", `UPDATE audit_events SET action = 'membership.remove' WHERE chain = $1 AND seq = 4`, 4},
		{"actor changed", `UPDATE audit_events SET actor = 'user-2' WHERE chain = $1 AND seq = 3`, 3},
		{"actor type changed", `UPDATE audit_events SET actor_type = 'system' WHERE chain = $1 AND seq = 3`, 3},
		{"target changed", `UPDATE audit_events SET target = 'user-9' WHERE chain = $1 AND seq = 2`, 2},
		{"target type changed", `UPDATE audit_events SET target_type = 'token' WHERE chain = $1 AND seq = 2`, 2},
		{"field changed", `UPDATE audit_events SET fields = '{"from":"member","role":"admin"}' WHERE chain = $1 AND seq = 5`, 5},
		{"commitment changed", `UPDATE audit_events SET personal = '{}' WHERE chain = $1 AND seq = 1`, 1},
		{"time changed", `UPDATE audit_events SET at = at + 1 WHERE chain = $1 AND seq = 6`, 6},
		{"request changed", `UPDATE audit_events SET request = 'other' WHERE chain = $1 AND seq = 7`, 7},
		{"hash changed", `UPDATE audit_events SET hash = '` + strings.Repeat("a", 64) + `' WHERE chain = $1 AND seq = 8`, 8},
		{"moved to the instance chain", `UPDATE audit_events SET org_id = NULL WHERE chain = $1 AND seq = 2`, 2},
		{"entry deleted", `DELETE FROM audit_events WHERE chain = $1 AND seq = 6`, 6},
		{"two entries swapped", `UPDATE audit_events SET seq = -3 WHERE chain = $1 AND seq = 3;
			UPDATE audit_events SET seq = 3 WHERE chain = $1 AND seq = 4;
			UPDATE audit_events SET seq = 4 WHERE chain = $1 AND seq = -3`, 3},
		{"personal value changed", `UPDATE audit_personal SET value = 'someone@else.example' WHERE chain = $1 AND seq = 5 AND name = 'email'`, 5},
		{"head moved back", `UPDATE audit_heads SET seq = 9 WHERE chain = $1`, 10},
		{"last entry deleted", `DELETE FROM audit_events WHERE chain = $1 AND seq = 10`, 10},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, d)
				e.record(t, 10)
				if rep := e.verify(t, nil); rep.Problem != nil {
					t.Fatalf("before tampering: %v", rep.Problem)
				}
				for _, q := range strings.Split(tc.sql, ";") {
					if _, err := d.Write.ExecContext(ctx, q, e.org); err != nil {
						t.Fatal(err)
					}
				}
				rep := e.verify(t, nil)
				if rep.Problem == nil || rep.Problem.Seq != tc.seq {
					t.Fatalf("problem %v, want one at entry %d", rep.Problem, tc.seq)
				}
			})
		}
	})
}

// Cutting off the tail, head row included, leaves a valid chain: only a
// checkpoint kept elsewhere shows it.
func TestTruncationCaughtByCheckpoint(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.record(t, 10)
		cp, err := e.log.Checkpoint(ctx, e.org)
		if err != nil || cp == nil || cp.Seq != 10 {
			t.Fatalf("checkpoint %+v %v", cp, err)
		}
		if rep := e.verify(t, cp); rep.Problem != nil {
			t.Fatalf("fresh checkpoint: %v", rep.Problem)
		}
		e.record(t, 2)
		if rep := e.verify(t, cp); rep.Problem != nil || rep.Entries != 12 {
			t.Fatalf("older checkpoint of a longer chain: %+v", rep)
		}
		for _, q := range []string{
			`DELETE FROM audit_personal WHERE chain = $1 AND seq > 7`,
			`DELETE FROM audit_events WHERE chain = $1 AND seq > 7`,
			`UPDATE audit_heads SET seq = 7, hash = (SELECT hash FROM audit_events WHERE chain = $1 AND seq = 7) WHERE chain = $1`,
		} {
			if _, err := d.Write.ExecContext(ctx, q, e.org); err != nil {
				t.Fatal(err)
			}
		}
		if rep := e.verify(t, nil); rep.Problem != nil {
			t.Fatalf("without a checkpoint the truncated chain should look whole: %v", rep.Problem)
		}
		rep := e.verify(t, cp)
		if rep.Problem == nil || rep.Problem.Seq != 8 {
			t.Fatalf("with the checkpoint: %v, want a problem at 8", rep.Problem)
		}
		forged := *cp
		forged.Seq = 7
		if rep := e.verify(t, &forged); rep.Problem == nil || !strings.Contains(rep.Problem.What, "signature") {
			t.Fatalf("forged checkpoint: %v", rep.Problem)
		}
	})
}

// After the retention period the clear personal data is gone and the chain
// still verifies; an organisation's own period applies to its entries.
func TestRetention(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.record(t, 3)
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			return e.log.Record(ctx, tx, audit.Event{Action: "user.sign_in", Personal: map[string]string{"email": "x@example.com"}})
		}); err != nil {
			t.Fatal(err)
		}
		count := func() (n int) {
			_ = d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_personal`).Scan(&n)
			return
		}
		if count() != 10 { // 3 × (email, client_ip, user_agent) + 1
			t.Fatalf("%d personal values before retention", count())
		}
		if _, err := d.ApplyRetention(ctx, e.clk.Now().Add(12*30*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if count() != 10 {
			t.Fatal("personal data deleted before 13 months")
		}
		if _, err := d.Write.ExecContext(ctx, `UPDATE orgs SET audit_retention_days = 90 WHERE id = $1`, e.org); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ApplyRetention(ctx, e.clk.Now().Add(91*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if count() != 1 {
			t.Fatalf("%d personal values after the organisation's 90 days, want only the instance chain's", count())
		}
		if _, err := d.ApplyRetention(ctx, e.clk.Now().Add(397*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if count() != 0 {
			t.Fatalf("%d personal values after 13 months", count())
		}
		for _, chain := range []string{e.org, audit.InstanceChain} {
			rep, err := e.log.Verify(ctx, chain, nil)
			if err != nil || rep.Problem != nil {
				t.Fatalf("%s after retention: %+v %v", chain, rep, err)
			}
		}
	})
}

// Concurrent writers get one gap-free chain.
func TestConcurrentWriters(t *testing.T) {
	const writers, each = 8, 1000
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					err := d.InTx(ctx, func(tx *db.Tx) error {
						return e.log.Record(ctx, tx, audit.Event{OrgID: e.org, Action: "test.write", Fields: map[string]any{"writer": w, "i": i}})
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		rep := e.verify(t, nil)
		if rep.Problem != nil || rep.Entries != writers*each || rep.HeadSeq != writers*each {
			t.Fatalf("after %d concurrent events: %+v %v", writers*each, rep, rep.Problem)
		}
	})
}

func TestRecordRefusesBadEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		for _, ev := range []audit.Event{
			{OrgID: e.org, Action: "nodot"},
			{OrgID: e.org, Action: "Bad.Case"},
			{OrgID: e.org, Action: "x.y", Fields: map[string]any{"f": 1.5}},
		} {
			err := d.InTx(ctx, func(tx *db.Tx) error { return e.log.Record(ctx, tx, ev) })
			if err == nil {
				t.Errorf("%+v accepted", ev)
			}
		}
		if rep := e.verify(t, nil); rep.Entries != 0 || rep.Problem != nil {
			t.Fatalf("refused events left traces: %+v", rep)
		}
	})
}
