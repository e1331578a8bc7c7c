package db

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/evident-isms/evident/internal/clock"
)

// The personal-data registry: every table of the schema is listed here with
// the columns that hold personal data (possibly none) and, where it has any,
// how long rows are kept. A migration that adds a table or a personal-data
// column adds it here in the same change; TestPersonalDataRegistry compares
// this list with the live schema of both engines. The registry is the source
// for retention (ApplyRetention) and, later, for data-subject requests.

// RetentionAction says what happens to a row when its retention ends.
type RetentionAction string

const (
	// Delete removes the row.
	Delete RetentionAction = "delete"
	// Anonymise blanks the personal columns and keeps the row.
	Anonymise RetentionAction = "anonymise"
)

// Retention is a table's retention rule: rows whose instant column is older
// than Keep are deleted or anonymised.
type Retention struct {
	After  string // the BIGINT instant column the period runs from
	Keep   time.Duration
	Action RetentionAction
	Why    string
}

// TableData is one table's entry in the registry.
type TableData struct {
	Table    string
	Personal []string // columns holding personal data
	Purpose  string   // why the personal data is kept
	Retain   *Retention
}

// PersonalData is the registry. Keep it in schema order.
var PersonalData = []TableData{
	{Table: "orgs"},
	{Table: "jobs"}, // payloads carry identifiers only, never personal data
	{
		Table:    "mail_messages",
		Personal: []string{"recipient", "text_body"},
		Purpose:  "deliver e-mail and let the operator see what was sent or held",
		Retain: &Retention{After: "created_at", Keep: 30 * 24 * time.Hour, Action: Delete,
			Why: "long enough to investigate a delivery problem"},
	},
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// ApplyRetention applies every retention rule of the registry at now and
// returns how many rows each table lost or had blanked.
func (d *DB) ApplyRetention(ctx context.Context, now time.Time) (map[string]int64, error) {
	done := map[string]int64{}
	for _, t := range PersonalData {
		if t.Retain == nil {
			continue
		}
		// Names come from the registry in code, never from input; check them
		// anyway before they go into SQL text.
		names := append([]string{t.Table, t.Retain.After}, t.Personal...)
		for _, n := range names {
			if !identifier.MatchString(n) {
				return done, fmt.Errorf("retention: bad identifier %q", n)
			}
		}
		cutoff := clock.Micros(now.Add(-t.Retain.Keep))
		var query string
		switch t.Retain.Action {
		case Delete:
			query = fmt.Sprintf(`DELETE FROM %s WHERE %s < $1`, t.Table, t.Retain.After)
		case Anonymise:
			set := ""
			for i, c := range t.Personal {
				if i > 0 {
					set += ", "
				}
				set += c + " = ''"
			}
			query = fmt.Sprintf(`UPDATE %s SET %s WHERE %s < $1`, t.Table, set, t.Retain.After)
		default:
			return done, fmt.Errorf("retention: unknown action %q for %s", t.Retain.Action, t.Table)
		}
		res, err := d.Write.ExecContext(ctx, query, cutoff)
		if err != nil {
			return done, fmt.Errorf("retention on %s: %w", t.Table, err)
		}
		n, _ := res.RowsAffected()
		done[t.Table] = n
	}
	return done, nil
}
