package evidence

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/check"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/valid"
)

// Pushed results: a CI job or a script reports pass or fail for a named
// check (a dependency scan, a restore test, an MDM compliance export). The
// first push of a name creates a check of kind push linked to the given
// controls; every push is one run of it, so a push check is failing, current
// and stale exactly like a check Evident runs itself.

// PushKind is the kind of checks whose results are pushed.
const PushKind = "push"

// PushInput is one pushed result.
type PushInput struct {
	Check           string            // the check's name, e.g. "dependency-scan"
	Passed          bool              //
	Summary         string            // one line on the outcome
	Measured        map[string]string // measured values: "critical_vulnerabilities": "0"
	ControlIDs      []string          // controls the check supports (added on every push)
	IntervalMinutes int               // how often results come; current for twice that (default a day)
	Title           string            // for the first push; default the name
}

// PushResult is what a push did.
type PushResult struct {
	Check   *Evidence `json:"check"`
	Created bool      `json:"created" doc:"This push created the check."`
	Run     *CheckRun `json:"run"`
	File    *Evidence `json:"file,omitempty" doc:"The file pushed with the result, stored as its own evidence item."`
}

var checkName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$`)

// Limits of pushed values.
const (
	MaxMeasured      = 20
	maxMeasuredKey   = 64
	maxMeasuredValue = 200
	maxSummary       = 2000
)

func (in *PushInput) validate() error {
	in.Check = strings.TrimSpace(in.Check)
	in.Summary = strings.TrimSpace(in.Summary)
	in.Title = strings.TrimSpace(in.Title)
	if !checkName.MatchString(in.Check) {
		return apperr.Field("check", "name the check with 1 to 100 letters, digits and . _ : / - (for example dependency-scan)")
	}
	if utf8.RuneCountInString(in.Summary) > maxSummary || !valid.PlainText(in.Summary) {
		return apperr.Field("summary", "the summary is text of at most %d characters", maxSummary)
	}
	if len(in.Measured) > MaxMeasured {
		return apperr.Field("measured", "at most %d measured values", MaxMeasured)
	}
	for k, v := range in.Measured {
		if k == "" || len(k) > maxMeasuredKey || len(v) > maxMeasuredValue || !valid.PlainText(k) || !valid.PlainText(v) {
			return apperr.Field("measured", "measured values are names of at most %d and values of at most %d characters", maxMeasuredKey, maxMeasuredValue)
		}
	}
	if in.IntervalMinutes == 0 {
		in.IntervalMinutes = 24 * 60
	}
	if in.IntervalMinutes < MinCheckInterval || in.IntervalMinutes > MaxCheckInterval {
		return apperr.Field("interval_minutes", "results come every %d minutes to 7 days (%d minutes)", MinCheckInterval, MaxCheckInterval)
	}
	if in.Title == "" {
		in.Title = in.Check
	}
	if utf8.RuneCountInString(in.Title) > MaxTitle || !valid.PlainText(in.Title) {
		return apperr.Field("title", "the title is text of at most %d characters", MaxTitle)
	}
	if len(in.ControlIDs) > MaxControls {
		return apperr.Field("control_ids", "a check links to at most %d controls", MaxControls)
	}
	return nil
}

// Push records a pushed result, and with filename set stores r as a file
// linked to the same controls.
func (s *Service) Push(ctx context.Context, orgID string, in PushInput, filename string, r io.Reader) (*PushResult, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	res := &PushResult{}
	now := s.clock.Now()
	run := &CheckRun{At: now, Passed: in.Passed, Measured: in.Measured, Assertions: []check.Assertion{{Name: "pushed_result",
		Passed: in.Passed, Detail: in.Summary}}}
	var id string
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		// Pushes of one name take turns, so the first ones of a new name
		// make one check (a row lock cannot hold a row not yet there).
		if lock := s.db.Dialect.LockTx(); lock != "" {
			h := fnv.New64a()
			h.Write([]byte(orgID + "\x00" + in.Check))
			if _, err := tx.ExecContext(ctx, lock, int64(h.Sum64())); err != nil {
				return err
			}
		}
		// The check of this name, or a new one.
		err := tx.QueryRowContext(ctx, `SELECT c.evidence_id FROM checks c JOIN evidence e ON e.org_id = c.org_id AND e.id = c.evidence_id
			WHERE c.org_id = $1 AND c.kind = 'push' AND c.target = $2 AND e.deleted_at IS NULL`+s.db.Dialect.ForUpdate(), orgID, in.Check).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			loc, err := s.orgLocation(ctx, tx, orgID)
			if err != nil {
				return err
			}
			item := &Evidence{ID: db.NewID(now), Kind: Check, Title: in.Title, Description: "Results pushed by a CI job or script.",
				CollectedOn: clock.DateIn(now, loc), Visibility: Private, CreatedBy: actorID(ctx), UploadedAt: now, UpdatedAt: now}
			if err := insertItem(ctx, tx, orgID, item); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO checks (org_id, evidence_id, kind, target, assertions, interval_minutes, next_run_at)
				VALUES ($1, $2, 'push', $3, '[]', $4, $5)`, orgID, item.ID, in.Check, in.IntervalMinutes, clock.Micros(now)); err != nil {
				return err
			}
			if err := s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "check.create", TargetType: "evidence", TargetID: item.ID,
				Fields: map[string]any{"title": item.Title, "check_kind": PushKind, "target": in.Check, "interval_minutes": in.IntervalMinutes}}); err != nil {
				return err
			}
			id, res.Created = item.ID, true
		case err != nil:
			return err
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE checks SET interval_minutes = $3 WHERE org_id = $1 AND evidence_id = $2`,
				orgID, id, in.IntervalMinutes); err != nil {
				return err
			}
		}
		if err := s.linkControls(ctx, tx, orgID, id, in.ControlIDs); err != nil {
			return err
		}
		c, err := loadCheck(ctx, tx, orgID, id)
		if err != nil {
			return err
		}
		if err := s.recordRun(ctx, tx, orgID, id, c, run); err != nil {
			return err
		}
		measured := make([]string, 0, len(in.Measured))
		for k, v := range in.Measured {
			measured = append(measured, k+"="+v)
		}
		sort.Strings(measured)
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "check.push", TargetType: "evidence", TargetID: id,
			Fields: map[string]any{"passed": in.Passed, "summary": in.Summary, "measured": measured, "control_ids": uniqueSorted(in.ControlIDs),
				"interval_minutes": in.IntervalMinutes}})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "record the pushed result")
	}
	res.Run = run
	if res.Check, err = s.Get(ctx, orgID, id, Reader{Restricted: true}); err != nil {
		return nil, err
	}
	if filename != "" && r != nil {
		f, err := s.Upload(ctx, orgID, Input{Title: in.Check + ": " + cleanFilename(filename), ControlIDs: res.Check.ControlIDs,
			Description: "Pushed with the result of " + in.Check + ".", Visibility: Private}, filename, r)
		if err != nil {
			return res, err
		}
		res.File = f
	}
	return res, nil
}

// PushRecord is one result of a file given to `evident evidence import`.
type PushRecord struct {
	Check           string            `json:"check"`
	Passed          *bool             `json:"passed"`
	Summary         string            `json:"summary,omitempty"`
	Measured        map[string]string `json:"measured,omitempty"`
	ControlIDs      []string          `json:"control_ids,omitempty"`
	IntervalMinutes int               `json:"interval_minutes,omitempty"`
	Title           string            `json:"title,omitempty"`
}

// ParsePushJSON reads results as a JSON array of PushRecord (or one object).
func ParsePushJSON(data []byte) ([]PushInput, error) {
	data = []byte(strings.TrimSpace(string(data)))
	var records []PushRecord
	if len(data) > 0 && data[0] == '{' {
		var one PushRecord
		if err := json.Unmarshal(data, &one); err != nil {
			return nil, apperr.New(apperr.Invalid, "the file is not valid JSON: %v", err)
		}
		records = []PushRecord{one}
	} else if err := json.Unmarshal(data, &records); err != nil {
		return nil, apperr.New(apperr.Invalid, "the file is not a JSON array of results: %v", err)
	}
	out := make([]PushInput, 0, len(records))
	for i, r := range records {
		if r.Passed == nil {
			return nil, apperr.New(apperr.Invalid, "result %d (%q): \"passed\" is required (true or false)", i+1, r.Check)
		}
		in := PushInput{Check: r.Check, Passed: *r.Passed, Summary: r.Summary, Measured: r.Measured, ControlIDs: r.ControlIDs,
			IntervalMinutes: r.IntervalMinutes, Title: r.Title}
		if err := in.validate(); err != nil {
			return nil, apperr.New(apperr.Invalid, "result %d (%q): %s", i+1, r.Check, apperr.MessageOf(err))
		}
		out = append(out, in)
	}
	return out, nil
}

// ParsePushCSV reads results from CSV with a header naming the columns
// check and passed (true or false), and optionally summary, control_ids
// (separated by ;), interval_minutes and title.
func ParsePushCSV(data []byte) ([]PushInput, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "the file has no header row (check,passed,…)")
	}
	cols := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch name {
		case "check", "passed", "summary", "control_ids", "interval_minutes", "title":
			cols[name] = i
		default:
			return nil, apperr.New(apperr.Invalid, "line 1, column %d: unknown column %q", i+1, h)
		}
	}
	if _, ok := cols["check"]; !ok {
		return nil, apperr.New(apperr.Invalid, "line 1: the header lacks the \"check\" column")
	}
	if _, ok := cols["passed"]; !ok {
		return nil, apperr.New(apperr.Invalid, "line 1: the header lacks the \"passed\" column")
	}
	var out []PushInput
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, apperr.New(apperr.Invalid, "the file is not valid CSV: %v", err)
		}
		line, _ := r.FieldPos(0)
		get := func(name string) string {
			if i, ok := cols[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		in := PushInput{Check: get("check"), Summary: get("summary"), Title: get("title")}
		switch strings.ToLower(get("passed")) {
		case "true", "yes", "1", "pass", "passed":
			in.Passed = true
		case "false", "no", "0", "fail", "failed":
		default:
			return nil, apperr.New(apperr.Invalid, "line %d: passed is %q; use true or false", line, get("passed"))
		}
		for _, id := range strings.Split(get("control_ids"), ";") {
			if id = strings.TrimSpace(id); id != "" {
				in.ControlIDs = append(in.ControlIDs, id)
			}
		}
		if v := get("interval_minutes"); v != "" {
			if in.IntervalMinutes, err = strconv.Atoi(v); err != nil {
				return nil, apperr.New(apperr.Invalid, "line %d: interval_minutes %q is not a number", line, v)
			}
		}
		if err := in.validate(); err != nil {
			return nil, apperr.New(apperr.Invalid, "line %d: %s", line, apperr.MessageOf(err))
		}
		out = append(out, in)
	}
	if len(out) == 0 {
		return nil, apperr.New(apperr.Invalid, "the file holds no results")
	}
	return out, nil
}
