package job

import (
	"context"
	"database/sql"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

var sqlNoRows = sql.ErrNoRows

// Run starts workers and the periodic scheduler and blocks until ctx ends.
// It then stops claiming and waits for running jobs; a job interrupted by the
// shutdown is queued again without counting the attempt.
func (q *Queue) Run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.work(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		q.schedule(ctx)
	}()
	wg.Wait()
}

func (q *Queue) work(ctx context.Context) {
	for ctx.Err() == nil {
		ran, err := q.RunOne(ctx)
		if err != nil && ctx.Err() == nil {
			q.log.Error("job queue", "err", err)
		}
		if ran {
			continue
		}
		select {
		case <-ctx.Done():
		case <-q.wake:
		case <-time.After(q.PollInterval):
		}
	}
}

func (q *Queue) schedule(ctx context.Context) {
	for {
		if err := q.EnqueuePeriodic(ctx); err != nil && ctx.Err() == nil {
			q.log.Error("periodic jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(q.PollInterval):
		}
	}
}

// EnqueuePeriodic enqueues the current period's job of every periodic kind
// that has none yet.
func (q *Queue) EnqueuePeriodic(ctx context.Context) error {
	now := q.clock.Now()
	q.mu.Lock()
	var due []*periodic
	for i := range q.periodic {
		p := &q.periodic[i]
		if slotOf(now, p.every) != p.lastSlot {
			due = append(due, p)
		}
	}
	q.mu.Unlock()
	for _, p := range due {
		slot := slotOf(now, p.every)
		start := now.Truncate(p.every)
		err := q.db.InTx(ctx, func(tx *db.Tx) error {
			_, err := q.Enqueue(ctx, tx, p.kind, struct{}{}, EnqueueOptions{Slot: slot, RunAt: start})
			return err
		})
		if err != nil {
			return err
		}
		q.mu.Lock()
		p.lastSlot = slot
		q.mu.Unlock()
	}
	return nil
}

func slotOf(t time.Time, every time.Duration) string {
	return t.Truncate(every).UTC().Format(time.RFC3339)
}

// RunOne claims and runs one due job. It reports whether there was one.
func (q *Queue) RunOne(ctx context.Context) (bool, error) {
	j, k, err := q.claim(ctx)
	if err != nil || j == nil {
		return false, err
	}
	started := q.clock.Now()
	runCtx, cancel := context.WithTimeout(ctx, k.Lease)
	err = safeRun(runCtx, k.Handler, *j)
	cancel()
	took := q.clock.Now().Sub(started)

	outcome, finishErr := q.finish(j, err, ctx.Err() != nil)
	if q.Observe != nil {
		q.Observe(j.Kind, outcome, took)
	}
	switch outcome {
	case Dead:
		q.log.Error("job dead", "kind", j.Kind, "job", j.ID, "attempt", j.Attempt, "err", err)
	case "retry":
		q.log.Warn("job failed, will retry", "kind", j.Kind, "job", j.ID, "attempt", j.Attempt, "err", err)
	}
	return true, finishErr
}

func safeRun(ctx context.Context, h Handler, j Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return h(ctx, j)
}

// finish records the outcome of a run. The update only applies while the job
// is still this run's (same attempt, still running): if its lease ran out and
// another worker took it over, that worker's outcome counts.
func (q *Queue) finish(j *Job, runErr error, shuttingDown bool) (string, error) {
	now := clock.Micros(q.clock.Now())
	// The worker's context may be ending: finish with a fresh one.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var outcome, query string
	var args []any
	switch {
	case runErr == nil:
		outcome = Done
		query = `UPDATE jobs SET state = 'done', lease_until = NULL, last_error = '', updated_at = $1 WHERE id = $2 AND attempts = $3 AND state = 'running'`
		args = []any{now, j.ID, j.Attempt}
	case shuttingDown:
		outcome = "interrupted"
		query = `UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_until = NULL, run_at = $1, updated_at = $1 WHERE id = $2 AND attempts = $3 AND state = 'running'`
		args = []any{now, j.ID, j.Attempt}
	case j.Attempt >= j.MaxAttempts || IsPermanent(runErr):
		outcome = Dead
		query = `UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = $1, updated_at = $2 WHERE id = $3 AND attempts = $4 AND state = 'running'`
		args = []any{truncate(runErr.Error()), now, j.ID, j.Attempt}
	default:
		outcome = "retry"
		next := now + Backoff(j.Attempt).Microseconds()
		query = `UPDATE jobs SET state = 'queued', lease_until = NULL, run_at = $1, last_error = $2, updated_at = $3 WHERE id = $4 AND attempts = $5 AND state = 'running'`
		args = []any{next, truncate(runErr.Error()), now, j.ID, j.Attempt}
	}
	if _, err := q.db.Write.ExecContext(ctx, query, args...); err != nil {
		return outcome, fmt.Errorf("record outcome of job %s: %w", j.ID, err)
	}
	return outcome, nil
}

// Backoff is the wait before the next attempt after the given one failed:
// 10 s doubling each time, at most an hour.
func Backoff(attempt int) time.Duration {
	d := 10 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

func truncate(s string) string {
	const limit = 4000
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}

const cleanupKind = "job.cleanup"

// cleanup forgets finished jobs after a week and dead ones after 90 days:
// long enough for an operator to look into a failure.
func (q *Queue) cleanup(ctx context.Context, _ Job) error {
	now := q.clock.Now()
	_, err := q.db.Write.ExecContext(ctx, `
		DELETE FROM jobs WHERE (state = 'done' AND updated_at < $1) OR (state = 'dead' AND updated_at < $2)`,
		clock.Micros(now.Add(-7*24*time.Hour)), clock.Micros(now.Add(-90*24*time.Hour)))
	return err
}

// Counts returns how many jobs are in each state, for metrics and status.
func (q *Queue) Counts(ctx context.Context) (map[string]int, error) {
	rows, err := q.db.Read.QueryContext(ctx, `SELECT state, COUNT(*) FROM jobs GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}
