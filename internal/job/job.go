// Package job is the job queue, kept in the application's own database so a
// job is enqueued in the same transaction as the change that calls for it.
//
// Workers claim a job with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL; a
// single claiming UPDATE … RETURNING on SQLite, which has one writer), run its
// handler outside any transaction, and mark it done, or queue it again with
// backoff, or dead after its last attempt. A job whose worker died is claimed
// again when its lease ends. Periodic jobs are unique per (kind, slot), the
// slot being the period they belong to, so they run once however many nodes
// enqueue them.
package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// States of a job.
const (
	Queued  = "queued"
	Running = "running"
	Done    = "done"
	Dead    = "dead"
)

// Job is one claimed job, as its handler sees it.
type Job struct {
	ID          string
	Kind        string
	Slot        string
	Payload     json.RawMessage
	Attempt     int // 1 on the first run
	MaxAttempts int
}

// Decode reads the payload into v.
func (j Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return Permanent(fmt.Errorf("job %s: bad payload: %w", j.Kind, err))
	}
	return nil
}

// Handler runs one job. A returned error queues the job again with backoff,
// unless it is Permanent or the last attempt, when the job is dead.
type Handler func(ctx context.Context, j Job) error

// Kind describes how jobs of one kind run.
type Kind struct {
	Handler     Handler
	MaxAttempts int           // default 8
	Lease       time.Duration // how long one run may take before another worker may take it over; default 5 minutes
}

type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// Permanent marks err as not worth retrying: the job goes straight to dead.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent tells whether err was marked with Permanent.
func IsPermanent(err error) bool { return errors.As(err, new(permanentError)) }

// Queue enqueues and runs jobs.
type Queue struct {
	db    *db.DB
	clock clock.Clock
	log   *slog.Logger

	mu       sync.RWMutex
	kinds    map[string]Kind
	periodic []periodic

	wake chan struct{}
	// PollInterval is how often idle workers look for due jobs; enqueueing
	// in this process wakes them sooner.
	PollInterval time.Duration
	// Observe, when set, is told the outcome of every run (for metrics).
	Observe func(kind, outcome string, took time.Duration)
}

type periodic struct {
	kind     string
	every    time.Duration
	lastSlot string
}

// New returns a queue on d.
func New(d *db.DB, c clock.Clock, log *slog.Logger) *Queue {
	q := &Queue{db: d, clock: c, log: log, kinds: map[string]Kind{}, wake: make(chan struct{}, 1), PollInterval: time.Second}
	q.Register(cleanupKind, Kind{Handler: q.cleanup})
	q.Every(cleanupKind, 24*time.Hour)
	return q
}

// Register sets the handler of a kind. Call it before Run.
func (q *Queue) Register(kind string, k Kind) {
	if k.MaxAttempts <= 0 {
		k.MaxAttempts = 8
	}
	if k.Lease <= 0 {
		k.Lease = 5 * time.Minute
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.kinds[kind] = k
}

// Every makes a registered kind run once per period (aligned to the period
// since the epoch, in UTC), with an empty payload.
func (q *Queue) Every(kind string, every time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.periodic = append(q.periodic, periodic{kind: kind, every: every})
}

// EnqueueOptions adjust one enqueued job.
type EnqueueOptions struct {
	RunAt time.Time // default now
	// Slot makes the job unique per (kind, slot): a second job with the same
	// slot is not enqueued. Default: unique per job.
	Slot string
}

// Enqueue adds a job in tx, so it exists exactly when the caller's change
// commits. It returns the job id, or "" when a job with the same slot exists.
func (q *Queue) Enqueue(ctx context.Context, tx *db.Tx, kind string, payload any, o EnqueueOptions) (string, error) {
	q.mu.RLock()
	k, ok := q.kinds[kind]
	q.mu.RUnlock()
	if !ok {
		return "", fmt.Errorf("enqueue: no handler registered for job kind %q", kind)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("enqueue %s: %w", kind, err)
	}
	now := q.clock.Now()
	id := db.NewID(now)
	if o.Slot == "" {
		o.Slot = id
	}
	if o.RunAt.IsZero() {
		o.RunAt = now
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO jobs (id, kind, slot, payload, state, attempts, max_attempts, run_at, last_error, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, '', $7, $7)
		ON CONFLICT DO NOTHING`,
		id, kind, o.Slot, string(body), k.MaxAttempts, clock.Micros(o.RunAt), clock.Micros(now))
	if err != nil {
		return "", fmt.Errorf("enqueue %s: %w", kind, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", nil
	}
	tx.AfterCommit(q.poke)
	return id, nil
}

func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// claim takes the next due job this process can run, or returns nil.
func (q *Queue) claim(ctx context.Context) (*Job, Kind, error) {
	q.mu.RLock()
	kinds := make([]string, 0, len(q.kinds))
	for k := range q.kinds {
		kinds = append(kinds, k)
	}
	q.mu.RUnlock()

	now := clock.Micros(q.clock.Now())
	args := []any{now}
	marks := make([]string, len(kinds))
	for i, k := range kinds {
		args = append(args, k)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	// The lease depends on the kind, known only once claimed: the second
	// statement of the same transaction sets it.
	query := `
		UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, updated_at = $1
		WHERE id = (
			SELECT id FROM jobs
			WHERE kind IN (` + strings.Join(marks, ", ") + `)
			  AND ((state = 'queued' AND run_at <= $1) OR (state = 'running' AND lease_until < $1))
			ORDER BY run_at, id
			LIMIT 1` + q.db.ForUpdateSkipLocked() + `)
		RETURNING id, kind, slot, payload, attempts, max_attempts`
	var j Job
	var payload string
	// A job whose last attempt's lease ran out (its worker died, maybe
	// because of the job itself) is dead, not claimed again forever.
	if _, err := q.db.Write.ExecContext(ctx, `
		UPDATE jobs SET state = 'dead', lease_until = NULL, updated_at = $1,
			last_error = 'the worker of the last attempt stopped before finishing (lease ran out)'
		WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts`, now); err != nil {
		return nil, Kind{}, fmt.Errorf("bury abandoned jobs: %w", err)
	}
	err := q.db.InTx(ctx, func(tx *db.Tx) error {
		err := tx.QueryRowContext(ctx, query, args...).Scan(&j.ID, &j.Kind, &j.Slot, &payload, &j.Attempt, &j.MaxAttempts)
		if err != nil {
			return err
		}
		q.mu.RLock()
		lease := q.kinds[j.Kind].Lease
		q.mu.RUnlock()
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET lease_until = $1 WHERE id = $2`, now+lease.Microseconds(), j.ID)
		return err
	})
	if errors.Is(err, sqlNoRows) {
		return nil, Kind{}, nil
	}
	if err != nil {
		return nil, Kind{}, fmt.Errorf("claim job: %w", err)
	}
	j.Payload = json.RawMessage(payload)
	q.mu.RLock()
	k := q.kinds[j.Kind]
	q.mu.RUnlock()
	return &j, k, nil
}
