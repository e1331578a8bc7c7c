package evidence

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/check"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/job"
	"github.com/evident-isms/evident/internal/valid"
)

// An automated check is an evidence item of kind check: a target, the
// assertions that must pass, an interval. It is failing while its latest
// run failed, and current while its latest passing run is younger than twice
// its interval. Runs are jobs; their network I/O never holds a transaction.

// Job kinds of checks.
const (
	RunCheckJob    = "check.run"      // one run of one check
	ScheduleJob    = "check.schedule" // every minute: enqueue the checks that are due
	DailyStatesJob = "check.daily"    // once a day: one summary state per check
)

// Interval bounds, in minutes.
const (
	MinCheckInterval     = 5
	MaxCheckInterval     = 7 * 24 * 60
	DefaultCheckInterval = 60
)

// CheckInfo is the check behind an evidence item of kind check.
type CheckInfo struct {
	Kind            string     `json:"kind" enum:"http_headers,tls,dns,security_txt,http_up"`
	Target          string     `json:"target"`
	Assertions      []string   `json:"assertions" doc:"Assertions that must pass; empty: all of the kind's."`
	IntervalMinutes int        `json:"interval_minutes"`
	State           string     `json:"state" enum:"pending,passing,failing" doc:"pending until the first run."`
	LastRunAt       *time.Time `json:"last_run_at,omitempty"`
	LastPassedAt    *time.Time `json:"last_passed_at,omitempty"`
	NextRunAt       time.Time  `json:"next_run_at"`
}

// CheckInput is what a user sets on a check.
type CheckInput struct {
	Title           string
	Description     string
	Kind            string
	Target          string
	Assertions      []string
	IntervalMinutes int
	Visibility      Visibility
	ControlIDs      []string
}

// CheckRun is one run's outcome.
type CheckRun struct {
	At         time.Time         `json:"at"`
	DurationMS int64             `json:"duration_ms"`
	Passed     bool              `json:"passed"`
	Error      string            `json:"error,omitempty"`
	Assertions []check.Assertion `json:"assertions"`
	Measured   map[string]string `json:"measured,omitempty"`
}

// SetChecks gives the service what checks need: the runner (with its
// guarded dialer) and the job queue runs are enqueued on. It registers the
// job kinds.
func (s *Service) SetChecks(r *check.Runner, q *job.Queue) {
	s.runner, s.queue = r, q
	q.Register(RunCheckJob, job.Kind{MaxAttempts: 2, Handler: func(ctx context.Context, j job.Job) error {
		var p runPayload
		if err := j.Decode(&p); err != nil {
			return err
		}
		_, err := s.RunCheck(audit.WithActor(ctx, audit.System("check")), p.OrgID, p.ID)
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil // deleted meanwhile
		}
		return err
	}})
	q.Register(ScheduleJob, job.Kind{Handler: func(ctx context.Context, _ job.Job) error { return s.enqueueDue(ctx) }})
	q.Every(ScheduleJob, time.Minute)
	q.Register(DailyStatesJob, job.Kind{Handler: func(ctx context.Context, _ job.Job) error { return s.dailyStates(ctx) }})
	q.Every(DailyStatesJob, 24*time.Hour)
}

type runPayload struct {
	OrgID string `json:"org_id"`
	ID    string `json:"id"`
}

func (in *CheckInput) validate() error {
	in.Title = strings.TrimSpace(in.Title)
	in.Description = strings.TrimSpace(in.Description)
	in.Target = strings.TrimSpace(in.Target)
	switch {
	case in.Kind == PushKind: // named by its pushes, never run here
	case !slices.Contains(check.Kinds, in.Kind):
		return apperr.Field("check_kind", "check kind %q is not one of %s", in.Kind, strings.Join(check.Kinds, ", "))
	default:
		if err := check.ValidateTarget(in.Kind, in.Target); err != nil {
			return apperr.Field("target", "%s", err.Error())
		}
	}
	if in.Title == "" {
		in.Title = strings.ReplaceAll(in.Kind, "_", " ") + " check of " + in.Target
	}
	if utf8.RuneCountInString(in.Title) > MaxTitle || !valid.PlainText(in.Title) {
		return apperr.Field("title", "the title is text of at most %d characters", MaxTitle)
	}
	if utf8.RuneCountInString(in.Description) > MaxDescription || !valid.PlainText(in.Description) {
		return apperr.Field("description", "the description is text of at most %d characters", MaxDescription)
	}
	if in.IntervalMinutes == 0 {
		in.IntervalMinutes = DefaultCheckInterval
	}
	if in.IntervalMinutes < MinCheckInterval || in.IntervalMinutes > MaxCheckInterval {
		return apperr.Field("interval_minutes", "a check runs every %d minutes to 7 days (%d minutes)", MinCheckInterval, MaxCheckInterval)
	}
	known := AssertionsOf(in.Kind)
	for _, a := range in.Assertions {
		if !slices.Contains(known, a) {
			return apperr.Field("assertions", "%s checks have no assertion %q; they have %s", in.Kind, a, strings.Join(known, ", "))
		}
	}
	if in.Visibility == "" {
		in.Visibility = Private
	}
	if in.Visibility != Public && in.Visibility != Private && in.Visibility != Restricted {
		return apperr.Field("visibility", "visibility %q is not one of public, private, restricted", in.Visibility)
	}
	if len(in.ControlIDs) > MaxControls {
		return apperr.Field("control_ids", "an item links to at most %d controls", MaxControls)
	}
	return nil
}

// AssertionsOf lists the assertions of a kind of check.
func AssertionsOf(kind string) []string {
	switch kind {
	case check.KindHTTPHeaders:
		return []string{"hsts_max_age", "csp_present", "frame_protection", "content_type_nosniff", "referrer_policy"}
	case check.KindTLS:
		return []string{"tls_1_2_or_newer", "old_versions_refused", "certificate_valid", "certificate_not_expiring"}
	case check.KindDNS:
		return []string{"spf_present", "spf_no_pass_all", "dmarc_policy", "caa_present"}
	case check.KindSecurityTxt:
		return []string{"status_ok", "content_type", "contact", "expires"}
	case check.KindHTTPUp:
		return []string{"status_ok"}
	}
	return nil
}

// CreateCheck adds a check and enqueues its first run.
func (s *Service) CreateCheck(ctx context.Context, orgID string, in CheckInput) (*Evidence, error) {
	if s.queue == nil {
		return nil, apperr.New(apperr.Internal, "checks are not configured")
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	var item *Evidence
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		loc, err := s.orgLocation(ctx, tx, orgID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		item = &Evidence{ID: db.NewID(now), Kind: Check, Title: in.Title, Description: in.Description,
			CollectedOn: clock.DateIn(now, loc), Visibility: in.Visibility, CreatedBy: actorID(ctx), UploadedAt: now, UpdatedAt: now,
			Check: &CheckInfo{Kind: in.Kind, Target: in.Target, Assertions: nonNil(in.Assertions), IntervalMinutes: in.IntervalMinutes,
				State: "pending", NextRunAt: now}}
		if err := insertItem(ctx, tx, orgID, item); err != nil {
			return err
		}
		assertions, _ := json.Marshal(item.Check.Assertions)
		if _, err := tx.ExecContext(ctx, `INSERT INTO checks (org_id, evidence_id, kind, target, assertions, interval_minutes, next_run_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, orgID, item.ID, in.Kind, in.Target, string(assertions), in.IntervalMinutes,
			clock.Micros(now)); err != nil {
			return err
		}
		if err := s.linkControls(ctx, tx, orgID, item.ID, in.ControlIDs); err != nil {
			return err
		}
		item.ControlIDs = uniqueSorted(in.ControlIDs)
		if _, err := s.queue.Enqueue(ctx, tx, RunCheckJob, runPayload{OrgID: orgID, ID: item.ID},
			job.EnqueueOptions{Slot: runSlot(item.ID, now)}); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "check.create", TargetType: "evidence", TargetID: item.ID,
			Fields: map[string]any{"title": item.Title, "check_kind": in.Kind, "target": in.Target, "assertions": item.Check.Assertions,
				"interval_minutes": in.IntervalMinutes, "visibility": string(in.Visibility), "control_ids": item.ControlIDs}})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "create check")
	}
	item.finish(s.clock.Now(), s.mustLocation(ctx, orgID))
	return item, nil
}

func runSlot(id string, at time.Time) string { return id + "/" + fmt.Sprint(clock.Micros(at)) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// checkRow is a stored check.
type checkRow struct {
	CheckInfo
	lastPassed sql.NullBool
}

func loadCheck(ctx context.Context, q db.Querier, orgID, id string) (*checkRow, error) {
	var c checkRow
	var assertions string
	var next int64
	var lastRun, lastPassedAt sql.NullInt64
	if !validID(id) {
		return nil, apperr.New(apperr.NotFound, "no such check")
	}
	err := q.QueryRowContext(ctx, `SELECT c.kind, c.target, c.assertions, c.interval_minutes, c.next_run_at, c.last_run_at, c.last_passed,
		c.last_passed_at FROM checks c JOIN evidence e ON e.org_id = c.org_id AND e.id = c.evidence_id
		WHERE c.org_id = $1 AND c.evidence_id = $2 AND e.deleted_at IS NULL`, orgID, id).Scan(&c.Kind, &c.Target, &assertions, &c.IntervalMinutes,
		&next, &lastRun, &c.lastPassed, &lastPassedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no such check")
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(assertions), &c.Assertions); err != nil {
		return nil, err
	}
	c.fill(next, lastRun, lastPassedAt)
	return &c, nil
}

func (c *checkRow) fill(next int64, lastRun, lastPassedAt sql.NullInt64) {
	c.NextRunAt = clock.FromMicros(next)
	c.State = "pending"
	if lastRun.Valid {
		t := clock.FromMicros(lastRun.Int64)
		c.LastRunAt = &t
		c.State = "failing"
		if c.lastPassed.Valid && c.lastPassed.Bool {
			c.State = "passing"
		}
	}
	if lastPassedAt.Valid {
		t := clock.FromMicros(lastPassedAt.Int64)
		c.LastPassedAt = &t
	}
}

// CurrentUntil is when a check stops counting as current evidence: twice
// its interval after its latest passing run.
func (c *CheckInfo) CurrentUntil() time.Time {
	if c.LastPassedAt == nil {
		return time.Time{}
	}
	return c.LastPassedAt.Add(2 * time.Duration(c.IntervalMinutes) * time.Minute)
}

// RunCheck runs a check now and records the run, its state change (audited)
// and the next run.
func (s *Service) RunCheck(ctx context.Context, orgID, id string) (*CheckRun, error) {
	c, err := loadCheck(ctx, s.db.Read, orgID, id)
	if err != nil {
		return nil, err
	}
	if c.Kind == PushKind {
		return nil, apperr.New(apperr.Invalid, "this check is pushed by a CI job or script (POST /api/v1/evidence/push); Evident does not run it")
	}
	if s.runner == nil {
		return nil, apperr.New(apperr.Internal, "checks are not configured")
	}
	start := s.clock.Now()
	res := s.runner.Run(ctx, c.Kind, c.Target) // network I/O: no transaction is open
	run := &CheckRun{At: start, DurationMS: s.clock.Now().Sub(start).Milliseconds(), Error: res.Error,
		Assertions: res.Assertions, Measured: res.Measured}
	run.Passed = res.Error == "" && len(res.Assertions) > 0
	for _, a := range res.Assertions {
		if !a.Passed && (len(c.Assertions) == 0 || slices.Contains(c.Assertions, a.Name)) {
			run.Passed = false
		}
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error { return s.recordRun(ctx, tx, orgID, id, c, run) })
	if err != nil {
		return nil, apperr.Wrap(err, "record the check run")
	}
	return run, nil
}

// recordRun stores a run, moves the check's latest outcome and next run,
// and records a change of state in the history and the audit log.
func (s *Service) recordRun(ctx context.Context, tx *db.Tx, orgID, id string, c *checkRow, run *CheckRun) error {
	now := s.clock.Now()
	// The state to compare with is read again, locked: another run may
	// have finished while this one was on the network.
	var lastRun sql.NullInt64
	var lastPassed sql.NullBool
	if err := tx.QueryRowContext(ctx, `SELECT last_run_at, last_passed FROM checks WHERE org_id = $1 AND evidence_id = $2`+
		s.db.Dialect.ForUpdate(), orgID, id).Scan(&lastRun, &lastPassed); err != nil {
		return err
	}
	c.State = "pending"
	if lastRun.Valid {
		c.State = map[bool]string{true: "passing", false: "failing"}[lastPassed.Valid && lastPassed.Bool]
	}
	assertions, _ := json.Marshal(nonNilAssertions(run.Assertions))
	measured, _ := json.Marshal(run.Measured)
	if _, err := tx.ExecContext(ctx, `INSERT INTO check_runs (id, org_id, evidence_id, at, duration_ms, passed, error, assertions, measured)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, db.NewID(now), orgID, id, clock.Micros(run.At), run.DurationMS, run.Passed,
		run.Error, string(assertions), string(measured)); err != nil {
		return err
	}
	var passedAt any
	if run.Passed {
		passedAt = clock.Micros(run.At)
	}
	next := now.Add(time.Duration(c.IntervalMinutes) * time.Minute)
	if _, err := tx.ExecContext(ctx, `UPDATE checks SET last_run_at = $3, last_passed = $4,
		last_passed_at = COALESCE($5, last_passed_at), next_run_at = $6 WHERE org_id = $1 AND evidence_id = $2`,
		orgID, id, clock.Micros(run.At), run.Passed, passedAt, clock.Micros(next)); err != nil {
		return err
	}
	state := map[bool]string{true: "passing", false: "failing"}[run.Passed]
	if state == c.State {
		return s.audit.Touch(ctx, tx, orgID) // the public page shows the latest run's time
	}
	detail := summary(run)
	if _, err := tx.ExecContext(ctx, `INSERT INTO check_states (org_id, evidence_id, at, state, reason, detail)
		VALUES ($1, $2, $3, $4, 'change', $5)`, orgID, id, clock.Micros(run.At), state, detail); err != nil {
		return err
	}
	return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "check.state_change", TargetType: "evidence", TargetID: id,
		Fields: map[string]any{"from": c.State, "to": state, "detail": detail}})
}

func nonNilAssertions(a []check.Assertion) []check.Assertion {
	if a == nil {
		return []check.Assertion{}
	}
	return a
}

// summary says in one line why a run failed (or that it passed).
func summary(run *CheckRun) string {
	if run.Error != "" {
		return run.Error
	}
	var failed []string
	for _, a := range run.Assertions {
		if !a.Passed {
			failed = append(failed, a.Name+": "+a.Detail)
		}
	}
	if len(failed) == 0 {
		return "all assertions passed"
	}
	return strings.Join(failed, "; ")
}

// enqueueDue enqueues a run of every check that is due; the slot makes each
// due run one job however many nodes schedule.
func (s *Service) enqueueDue(ctx context.Context) error {
	now := s.clock.Now()
	rows, err := s.db.Read.QueryContext(ctx, `SELECT c.org_id, c.evidence_id, c.next_run_at FROM checks c
		JOIN evidence e ON e.org_id = c.org_id AND e.id = c.evidence_id
		WHERE c.next_run_at <= $1 AND c.kind <> 'push' AND e.deleted_at IS NULL`, clock.Micros(now))
	if err != nil {
		return err
	}
	type due struct {
		org, id string
		at      int64
	}
	var list []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.org, &d.id, &d.at); err != nil {
			rows.Close()
			return err
		}
		list = append(list, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, d := range list {
		if err := s.db.InTx(ctx, func(tx *db.Tx) error {
			// The slot names the due run and the hour: one job per due
			// run however many nodes schedule, and a run whose job died
			// is tried again the next hour instead of never.
			_, err := s.queue.Enqueue(ctx, tx, RunCheckJob, runPayload{OrgID: d.org, ID: d.id},
				job.EnqueueOptions{Slot: runSlot(d.id, clock.FromMicros(d.at)) + "/" + now.UTC().Format("2006010215")})
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// dailyStates records one summary state per check that has run, so the
// history shows every day of an audit period, not only the changes.
func (s *Service) dailyStates(ctx context.Context) error {
	now := clock.Micros(s.clock.Now())
	_, err := s.db.Write.ExecContext(ctx, `INSERT INTO check_states (org_id, evidence_id, at, state, reason, detail)
		SELECT c.org_id, c.evidence_id, $1, CASE WHEN c.last_passed THEN 'passing' ELSE 'failing' END, 'daily', ''
		FROM checks c JOIN evidence e ON e.org_id = c.org_id AND e.id = c.evidence_id
		WHERE c.last_run_at IS NOT NULL AND e.deleted_at IS NULL`, now)
	return err
}

// CheckState is one entry of a check's state history.
type CheckState struct {
	At     time.Time `json:"at"`
	State  string    `json:"state" enum:"passing,failing"`
	Reason string    `json:"reason" enum:"change,daily"`
	Detail string    `json:"detail,omitempty"`
}

// CheckHistory returns a check's latest runs (kept 7 days) and its state
// history (kept 400 days), newest first.
func (s *Service) CheckHistory(ctx context.Context, orgID, id string, rd Reader) ([]CheckRun, []CheckState, error) {
	it, err := s.Get(ctx, orgID, id, rd)
	if err != nil {
		return nil, nil, err
	}
	if it.Kind != Check {
		return nil, nil, apperr.New(apperr.NotFound, "this evidence item is not a check")
	}
	runs := []CheckRun{}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT at, duration_ms, passed, error, assertions, measured FROM check_runs
		WHERE org_id = $1 AND evidence_id = $2 ORDER BY at DESC LIMIT 100`, orgID, id)
	if err != nil {
		return nil, nil, apperr.Wrap(err, "read check runs")
	}
	for rows.Next() {
		var r CheckRun
		var at int64
		var assertions, measured string
		if err := rows.Scan(&at, &r.DurationMS, &r.Passed, &r.Error, &assertions, &measured); err != nil {
			rows.Close()
			return nil, nil, apperr.Wrap(err, "read check runs")
		}
		r.At = clock.FromMicros(at)
		_ = json.Unmarshal([]byte(assertions), &r.Assertions)
		_ = json.Unmarshal([]byte(measured), &r.Measured)
		runs = append(runs, r)
	}
	rows.Close()
	states := []CheckState{}
	rows, err = s.db.Read.QueryContext(ctx, `SELECT at, state, reason, detail FROM check_states
		WHERE org_id = $1 AND evidence_id = $2 ORDER BY at DESC LIMIT 1000`, orgID, id)
	if err != nil {
		return nil, nil, apperr.Wrap(err, "read check states")
	}
	defer rows.Close()
	for rows.Next() {
		var st CheckState
		var at int64
		if err := rows.Scan(&at, &st.State, &st.Reason, &st.Detail); err != nil {
			return nil, nil, apperr.Wrap(err, "read check states")
		}
		st.At = clock.FromMicros(at)
		states = append(states, st)
	}
	return runs, states, apperr.Wrap(rows.Err(), "read check states")
}

// OrgOfEvidence finds the organisation of an evidence item, for the CLI.
func (s *Service) OrgOfEvidence(ctx context.Context, id string) (string, error) {
	if !validID(id) {
		return "", apperr.New(apperr.NotFound, "no evidence item %q", id)
	}
	var orgID string
	err := s.db.Read.QueryRowContext(ctx, `SELECT org_id FROM evidence WHERE id = $1 AND deleted_at IS NULL`, id).Scan(&orgID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", apperr.New(apperr.NotFound, "no evidence item %q", id)
	}
	return orgID, apperr.Wrap(err, "find evidence")
}
