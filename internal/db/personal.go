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
	// OrgDays, when set, names a column of orgs with a number of days that
	// replaces Keep for the rows of that organisation (0 keeps the default).
	// The table must have org_id.
	OrgDays string
}

// TableData is one table's entry in the registry.
type TableData struct {
	Table    string
	Personal []string // columns holding personal data
	Purpose  string   // why the personal data is kept
	Retain   *Retention
	// KeptWhile says how long rows live when no period applies ("while
	// the account exists"); erasure on request covers them.
	KeptWhile string
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
	{
		Table:     "users",
		Personal:  []string{"email", "email_norm", "name"},
		Purpose:   "sign in, and say who did what",
		KeptWhile: "the account exists",
	},
	{Table: "memberships"},
	{
		Table:    "sessions",
		Personal: []string{"client_ip", "user_agent"},
		Purpose:  "let users recognise and revoke their sessions",
		Retain: &Retention{After: "expires_at", Keep: 30 * 24 * time.Hour, Action: Delete,
			Why: "a session is of no use a month after it expired"},
	},
	{Table: "recovery_codes"}, // hashes only
	{
		Table:  "password_resets", // hashes only; rows are useless once expired
		Retain: &Retention{After: "expires_at", Keep: 7 * 24 * time.Hour, Action: Delete, Why: "expired links serve nothing"},
	},
	{
		Table:    "invitations",
		Personal: []string{"email", "email_norm"},
		Purpose:  "invite a person to an organisation",
		Retain: &Retention{After: "expires_at", Keep: 90 * 24 * time.Hour, Action: Delete,
			Why: "an admin may want to see who was invited last quarter"},
	},
	{Table: "api_tokens"},
	{
		Table:    "rate_limits",
		Personal: []string{"key"}, // a hash of an e-mail address or client address
		Purpose:  "slow down password guessing",
		Retain: &Retention{After: "updated_at", Keep: 24 * time.Hour, Action: Delete,
			Why: "failures older than an hour are already forgotten"},
	},
	{Table: "audit_heads"},
	{Table: "audit_events"}, // personal data enters only as salted commitments
	{
		Table:    "audit_personal",
		Personal: []string{"value"},
		Purpose:  "say who did what, from where, in the audit log",
		Retain: &Retention{After: "at", Keep: AuditPersonalRetention, Action: Delete, OrgDays: "audit_retention_days",
			Why: "13 months covers a yearly audit period; the entries and their commitments stay"},
	},
	{Table: "audit_checkpoints"},
	{Table: "frameworks"},
	{Table: "requirements"},
	{Table: "mappings"},
	{Table: "org_frameworks"},
	{Table: "controls"}, // owner_id names a user; the user's own data lives in users
	{Table: "control_requirements"},
	{Table: "requirement_exclusions"},
	{Table: "org_mappings"},
	{Table: "translations"},
	{
		Table:    "evidence",
		Personal: []string{"attestor_name"},
		Purpose:  "name the independent party who attested a control, as auditors expect",
		// Kept while the item lives (deleted_at is NULL); deleted items are
		// only marked, so the name goes a month after the deletion.
		Retain: &Retention{After: "deleted_at", Keep: 30 * 24 * time.Hour, Action: Anonymise,
			Why: "kept while the item lives; a deleted item's attestor is not needed once the deletion is settled"},
	},
	{Table: "evidence_controls"},
	{Table: "checks"},
	{
		Table:  "check_runs", // results only, no personal data; raw runs are bulky
		Retain: &Retention{After: "at", Keep: 7 * 24 * time.Hour, Action: Delete, Why: "the state history keeps what audits need"},
	},
	{
		Table:  "check_states",
		Retain: &Retention{After: "at", Keep: 400 * 24 * time.Hour, Action: Delete, Why: "more than 13 months covers a yearly audit period"},
	},
	{Table: "measures"},
	{Table: "measure_controls"},
	{Table: "subprocessors"}, // companies, not people
	{
		Table:     "org_profiles",
		Personal:  []string{"security_email"}, // a role address, listed in case it names a person
		Purpose:   "publish how to report a vulnerability to the organisation",
		KeptWhile: "the organisation exists",
	},
	{Table: "certifications"}, // firms and bodies, not people
	{Table: "roadmap_items"},
	{Table: "gdpr_commitments"},
	{Table: "webhook_endpoints"}, // receivers' addresses chosen by admins: systems, not people
	{
		Table: "webhook_messages", // events about the organisation's content (subprocessor changes), not about people
		Retain: &Retention{After: "updated_at", Keep: 30 * 24 * time.Hour, Action: Delete,
			Why: "long enough to investigate and redeliver a failed delivery; attempts go with their message"},
	},
	{
		Table:  "webhook_attempts", // statuses, and errors with a short excerpt of the receiver's answer
		Retain: &Retention{After: "at", Keep: 30 * 24 * time.Hour, Action: Delete, Why: "the delivery log serves debugging only"},
	},
	{
		Table:    "subscribers",
		Personal: []string{"email", "email_norm"},
		Purpose:  "send the notices a person asked for, with their consent on record",
		Retain: &Retention{After: "inactive_since", Keep: 30 * 24 * time.Hour, Action: Delete,
			Why: "unconfirmed requests and unsubscribed addresses are kept a month, to answer questions about them, then forgotten"},
	},
	{Table: "subprocessor_notices"},
	{
		Table:    "objections",
		Personal: []string{"email", "email_norm"},
		Purpose:  "let the organisation answer a customer who objects to a subprocessor change",
		Retain: &Retention{After: "created_at", Keep: 400 * 24 * time.Hour, Action: Delete,
			Why: "a change is settled well within a year of its notice; deleting the subscriber deletes its objections at once"},
	},
	{Table: "public_hosts"}, // host names the operator maps to organisations: systems, not people
	{
		Table: "access_requests",
		// The company alone names a firm, but beside a name it is about a
		// person; the reason is free text that may say anything about them.
		Personal: []string{"name", "email", "email_norm", "company", "reason"},
		Purpose:  "let the organisation answer a visitor who asks for a restricted document, and show whom it was sent to",
		Retain: &Retention{After: "created_at", Keep: 365 * 24 * time.Hour, Action: Delete,
			Why: "a year covers the customer reviews a request serves; an admin deletes one at once on an erasure request"},
	},
}

// AuditPersonalRetention is how long the personal data of audit entries is
// kept unless an organisation chooses otherwise.
const AuditPersonalRetention = 396 * 24 * time.Hour // 13 months of 30.5 days

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
		if t.Retain.OrgDays != "" {
			names = append(names, t.Retain.OrgDays)
		}
		for _, n := range names {
			if !identifier.MatchString(n) {
				return done, fmt.Errorf("retention: bad identifier %q", n)
			}
		}
		cutoff := clock.Micros(now.Add(-t.Retain.Keep))
		// expired is the condition on a row; with OrgDays the period is the
		// organisation's own when it set one.
		expired := fmt.Sprintf(`%s < $1`, t.Retain.After)
		args := []any{cutoff}
		if t.Retain.OrgDays != "" {
			expired = fmt.Sprintf(`%s < CAST($1 AS BIGINT) - CAST($2 AS BIGINT) * COALESCE((SELECT NULLIF(o.%s, 0) FROM orgs o WHERE o.id = %s.org_id), CAST($3 AS BIGINT))`,
				t.Retain.After, t.Retain.OrgDays, t.Table)
			day := int64(24 * time.Hour / time.Microsecond)
			args = []any{clock.Micros(now), day, int64(t.Retain.Keep / (24 * time.Hour))}
		}
		var query string
		switch t.Retain.Action {
		case Delete:
			query = fmt.Sprintf(`DELETE FROM %s WHERE %s`, t.Table, expired)
		case Anonymise:
			set := ""
			for i, c := range t.Personal {
				if i > 0 {
					set += ", "
				}
				set += c + " = ''"
			}
			query = fmt.Sprintf(`UPDATE %s SET %s WHERE %s`, t.Table, set, expired)
		default:
			return done, fmt.Errorf("retention: unknown action %q for %s", t.Retain.Action, t.Table)
		}
		res, err := d.Write.ExecContext(ctx, query, args...)
		if err != nil {
			return done, fmt.Errorf("retention on %s: %w", t.Table, err)
		}
		n, _ := res.RowsAffected()
		done[t.Table] = n
	}
	return done, nil
}
