package job_test

import (
	"context"
	"errors"
	"fmt"

	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/job"
)

var (
	ctx   = context.Background()
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
	start = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
)

func enqueue(t *testing.T, d *db.DB, q *job.Queue, kind string, payload any, o job.EnqueueOptions) string {
	t.Helper()
	var id string
	if err := d.InTx(ctx, func(tx *db.Tx) (err error) {
		id, err = q.Enqueue(ctx, tx, kind, payload, o)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

func state(t *testing.T, d *db.DB, id string) (st string, attempts int, lastErr string) {
	t.Helper()
	if err := d.Read.QueryRowContext(ctx, `SELECT state, attempts, last_error FROM jobs WHERE id = $1`, id).Scan(&st, &attempts, &lastErr); err != nil {
		t.Fatalf("job %s: %v", id, err)
	}
	return
}

func runOne(t *testing.T, q *job.Queue) bool {
	t.Helper()
	ran, err := q.RunOne(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ran
}

func TestEnqueueFollowsTheTransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		q := job.New(d, clock.NewSettable(start), quiet)
		q.Register("k", job.Kind{Handler: func(context.Context, job.Job) error { return nil }})
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := q.Enqueue(ctx, tx, "k", nil, job.EnqueueOptions{}); err != nil {
				return err
			}
			return errors.New("the caller's change failed")
		})
		if err == nil {
			t.Fatal("want the transaction's error")
		}
		if runOne(t, q) {
			t.Fatal("a job enqueued in a rolled-back transaction ran")
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := q.Enqueue(ctx, tx, "unknown", nil, job.EnqueueOptions{})
			return err
		}); err == nil {
			t.Fatal("enqueued a kind with no handler")
		}
	})
}

func TestRetryBackoffAndDead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		clk := clock.NewSettable(start)
		q := job.New(d, clk, quiet)
		var got []string
		q.Register("flaky", job.Kind{MaxAttempts: 3, Handler: func(_ context.Context, j job.Job) error {
			var p struct{ N int }
			if err := j.Decode(&p); err != nil {
				return err
			}
			got = append(got, fmt.Sprintf("%d/%d", p.N, j.Attempt))
			return errors.New("remote down")
		}})
		id := enqueue(t, d, q, "flaky", map[string]int{"N": 7}, job.EnqueueOptions{})

		if !runOne(t, q) {
			t.Fatal("due job did not run")
		}
		if st, n, e := state(t, d, id); st != job.Queued || n != 1 || e != "remote down" {
			t.Fatalf("after first failure: %s %d %q", st, n, e)
		}
		clk.Advance(job.Backoff(1) - time.Second)
		if runOne(t, q) {
			t.Fatal("ran before its backoff ended")
		}
		clk.Advance(time.Second)
		runOne(t, q)
		clk.Advance(job.Backoff(2))
		runOne(t, q)
		if st, n, _ := state(t, d, id); st != job.Dead || n != 3 {
			t.Fatalf("after the last attempt: %s after %d attempts, want dead after 3", st, n)
		}
		clk.Advance(24 * time.Hour)
		if runOne(t, q) {
			t.Fatal("a dead job ran again")
		}
		if fmt.Sprint(got) != "[7/1 7/2 7/3]" {
			t.Fatalf("runs %v", got)
		}
	})
}

func TestPermanentAndPanic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		q := job.New(d, clock.NewSettable(start), quiet)
		q.Register("bad-payload", job.Kind{Handler: func(_ context.Context, j job.Job) error {
			var n int
			return j.Decode(&n)
		}})
		q.Register("panics", job.Kind{MaxAttempts: 2, Handler: func(context.Context, job.Job) error { panic("bug") }})
		bad := enqueue(t, d, q, "bad-payload", "not a number", job.EnqueueOptions{})
		pan := enqueue(t, d, q, "panics", nil, job.EnqueueOptions{})
		runOne(t, q)
		runOne(t, q)
		if st, n, _ := state(t, d, bad); st != job.Dead || n != 1 {
			t.Fatalf("bad payload: %s after %d attempts, want dead after 1", st, n)
		}
		if st, _, e := state(t, d, pan); st != job.Queued || len(e) < 10 || e[:10] != "panic: bug" {
			t.Fatalf("panicking job: %s %q, want queued again with the panic recorded", st, e)
		}
	})
}

func TestExpiredLeaseIsTakenOver(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		clk := clock.NewSettable(start)
		crashed := job.New(d, clk, quiet)
		block := make(chan struct{})
		crashed.Register("slow", job.Kind{Lease: time.Minute, Handler: func(ctx context.Context, _ job.Job) error {
			<-block // a worker that never comes back
			return nil
		}})
		id := enqueue(t, d, crashed, "slow", nil, job.EnqueueOptions{})
		go func() { _, _ = crashed.RunOne(ctx) }()
		waitFor(t, func() bool { st, _, _ := state(t, d, id); return st == job.Running })

		other := job.New(d, clk, quiet)
		var ran atomic.Int32
		other.Register("slow", job.Kind{Lease: time.Minute, Handler: func(context.Context, job.Job) error { ran.Add(1); return nil }})
		if runOne(t, other) {
			t.Fatal("took over a job whose lease has not ended")
		}
		clk.Advance(time.Minute + time.Second)
		if !runOne(t, other) || ran.Load() != 1 {
			t.Fatal("job with an ended lease was not taken over")
		}
		close(block) // the stale worker finishes late: its outcome must not count
		waitFor(t, func() bool { st, n, _ := state(t, d, id); return st == job.Done && n == 2 })
	})
}

// A job that keeps killing its worker does not come back forever: after its
// last attempt's lease ends, it is dead.
func TestCrashingJobEndsDead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		clk := clock.NewSettable(start)
		q := job.New(d, clk, quiet)
		q.Register("crash", job.Kind{MaxAttempts: 2, Lease: time.Minute, Handler: func(context.Context, job.Job) error { return nil }})
		id := enqueue(t, d, q, "crash", nil, job.EnqueueOptions{})
		for attempt := 1; attempt <= 2; attempt++ {
			// Claim as a worker that then dies: mark running by hand.
			if _, err := d.Write.ExecContext(ctx, `UPDATE jobs SET state = 'running', attempts = $1, lease_until = $2 WHERE id = $3`,
				attempt, clock.Micros(clk.Now().Add(time.Minute)), id); err != nil {
				t.Fatal(err)
			}
			clk.Advance(2 * time.Minute)
		}
		if runOne(t, q) {
			t.Fatal("a job whose last attempt died was claimed again")
		}
		if st, n, e := state(t, d, id); st != job.Dead || n != 2 || e == "" {
			t.Fatalf("after the last attempt died: %s, %d attempts, %q", st, n, e)
		}
	})
}

func TestPeriodicRunsOncePerSlotAcrossNodes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		clk := clock.NewSettable(start.Add(10 * time.Minute))
		var runs atomic.Int32
		nodes := []*job.Queue{job.New(d, clk, quiet), job.New(d, clk, quiet)}
		for _, q := range nodes {
			q.Register("hourly", job.Kind{Handler: func(context.Context, job.Job) error { runs.Add(1); return nil }})
			q.Every("hourly", time.Hour)
		}
		for _, q := range nodes {
			for i := 0; i < 2; i++ {
				if err := q.EnqueuePeriodic(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		for runOne(t, nodes[0]) {
		}
		if runs.Load() != 1 {
			t.Fatalf("hourly job ran %d times in one hour, want 1", runs.Load())
		}
		clk.Advance(time.Hour)
		_ = nodes[1].EnqueuePeriodic(ctx)
		for runOne(t, nodes[1]) {
		}
		if runs.Load() != 2 {
			t.Fatalf("hourly job ran %d times in two hours, want 2", runs.Load())
		}
	})
}

// Two queues on one database, four workers each, share 200 jobs: every job
// runs exactly once.
func TestCompetingWorkers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const jobs = 200
		var mu sync.Mutex
		runs := map[int]int{}
		byNode := [2]int{}
		nodes := []*job.Queue{job.New(d, clock.System{}, quiet), job.New(d, clock.System{}, quiet)}
		for i, q := range nodes {
			q.PollInterval = 10 * time.Millisecond
			q.Register("work", job.Kind{Handler: func(_ context.Context, j job.Job) error {
				var n int
				if err := j.Decode(&n); err != nil {
					return err
				}
				mu.Lock()
				runs[n]++
				byNode[i]++
				mu.Unlock()
				return nil
			}})
		}
		for n := 0; n < jobs; n++ {
			enqueue(t, d, nodes[0], "work", n, job.EnqueueOptions{})
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, q := range nodes {
			wg.Add(1)
			go func() { defer wg.Done(); q.Run(runCtx, 4) }()
		}
		waitFor(t, func() bool {
			c, err := nodes[0].Counts(ctx)
			// The queue's own daily clean-up job may be among the done.
			return err == nil && c[job.Done] >= jobs && c[job.Queued] == 0 && c[job.Running] == 0
		})
		stop()
		wg.Wait()
		for n := 0; n < jobs; n++ {
			if runs[n] != 1 {
				t.Errorf("job %d ran %d times", n, runs[n])
			}
		}
		t.Logf("%s: node A ran %d jobs, node B %d", d.Engine, byNode[0], byNode[1])
		if byNode[0] == 0 || byNode[1] == 0 {
			t.Errorf("one node ran every job (%d, %d): the nodes did not compete", byNode[0], byNode[1])
		}
	})
}

func TestShutdownRequeuesWithoutCountingTheAttempt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		q := job.New(d, clock.System{}, quiet)
		started := make(chan struct{})
		q.Register("long", job.Kind{Handler: func(ctx context.Context, _ job.Job) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}})
		id := enqueue(t, d, q, "long", nil, job.EnqueueOptions{})
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { q.Run(runCtx, 1); close(done) }()
		<-started
		stop()
		<-done
		if st, n, _ := state(t, d, id); st != job.Queued || n != 0 {
			t.Fatalf("after shutdown: %s with %d attempts, want queued with 0", st, n)
		}
	})
}

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		attempt int
		want    time.Duration
	}{{1, 10 * time.Second}, {2, 20 * time.Second}, {4, 80 * time.Second}, {20, time.Hour}} {
		if got := job.Backoff(tt.attempt); got != tt.want {
			t.Errorf("Backoff(%d) = %v, want %v", tt.attempt, got, tt.want)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 20 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
