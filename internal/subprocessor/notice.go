package subprocessor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/i18n"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/subscriber"
	"github.com/evident-isms/evident/internal/valid"
)

// Change notices. Customers of a processor are owed notice before a
// subprocessor they can see is added, changed or removed (GDPR Art. 28(2):
// the seeds promise 30 days). Every such change of a public subprocessor
// makes a notice in the same transaction; its effective date is at least the
// organisation's notice period away unless a reason for a shorter notice is
// recorded. The notice is published (public page, Atom feed), mailed to the
// subscribers of the topic and sent to the webhooks of the topic, and a
// subscriber can object to it through a link in the message.

// DefaultNoticeDays is the notice period of a new organisation.
const DefaultNoticeDays = 30

// MaxNoticeDays bounds the notice period.
const MaxNoticeDays = 365

// Kinds of change.
const (
	Added   = "added"
	Changed = "changed"
	Removed = "removed"
)

// FieldChange is one field of a changed subprocessor, before and after.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Notice is the announcement of a change to a public subprocessor.
type Notice struct {
	ID               string        `json:"id"`
	SubprocessorID   string        `json:"subprocessor_id"`
	Change           string        `json:"change" enum:"added,changed,removed"`
	SubprocessorName string        `json:"subprocessor_name" doc:"The name when the notice was given."`
	Changes          []FieldChange `json:"changes" doc:"For a change: each public field before and after."`
	AnnouncedAt      time.Time     `json:"announced_at"`
	EffectiveOn      string        `json:"effective_on" doc:"YYYY-MM-DD, in the organisation's time zone."`
	NoticeDays       int           `json:"notice_days" doc:"The notice period in force when the notice was given."`
	ShortReason      string        `json:"short_notice_reason,omitempty" doc:"Why the notice is shorter than the period."`
	Objections       int           `json:"objections" doc:"How many subscribers objected."`
}

// Terms are what the user says about the notice of a change: when it takes
// effect, and why sooner than the notice period if it does.
type Terms struct {
	EffectiveOn string // YYYY-MM-DD; empty: the end of the notice period
	Reason      string // required when EffectiveOn is before the end of the notice period
}

// Announcer sends a notice to the topic's subscribers.
type Announcer interface {
	Announce(ctx context.Context, tx *db.Tx, orgID, topic, ref string) error
}

// Publisher sends an event to the organisation's webhooks of a topic.
type Publisher interface {
	Publish(ctx context.Context, tx *db.Tx, orgID, topic, eventType string, data any) error
}

// SetNotifiers sets where notices go besides the public page and the feed.
// Either may be nil.
func (s *Service) SetNotifiers(a Announcer, p Publisher) {
	s.announcer, s.publisher = a, p
}

// publicView is what a visitor sees of a subprocessor; nil when nothing.
func publicView(sp *Subprocessor) map[string]string {
	if sp == nil || sp.Visibility != "public" || sp.Status == "removed" {
		return nil
	}
	return map[string]string{
		"name": sp.Name, "lei": sp.LEI, "purpose": sp.Purpose, "function": sp.Function,
		"data_categories": strings.Join(sp.DataCategories, ", "), "processing_countries": strings.Join(sp.ProcessingCountries, ", "),
		"storage_countries": strings.Join(sp.StorageCountries, ", "), "transfer_mechanism": sp.TransferMechanism,
		"dpa_status": sp.DPAStatus, "dpa_url": sp.DPAURL, "website": sp.Website, "category": sp.Category, "status": sp.Status,
		"since": sp.Since,
	}
}

// publicFields is the order changes are listed in.
var publicFields = []string{"name", "lei", "purpose", "function", "data_categories", "processing_countries", "storage_countries",
	"transfer_mechanism", "dpa_status", "dpa_url", "website", "category", "status", "since"}

// noticeOf says which notice, if any, a change from before to after calls
// for. Both nil-able: nil before is a creation, nil after a deletion.
func noticeOf(before, after *Subprocessor) (change string, changes []FieldChange) {
	was, is := publicView(before), publicView(after)
	switch {
	case was == nil && is == nil:
		return "", nil
	case was == nil:
		return Added, nil
	case is == nil:
		return Removed, nil
	}
	for _, f := range publicFields {
		if was[f] != is[f] {
			changes = append(changes, FieldChange{Field: f, From: was[f], To: is[f]})
		}
	}
	if len(changes) == 0 {
		return "", nil
	}
	return Changed, changes
}

// orgTerms reads the organisation's notice period and time zone.
func orgTerms(ctx context.Context, q db.Querier, orgID string) (days int, loc *time.Location, err error) {
	var tz string
	if err := q.QueryRowContext(ctx, `SELECT subprocessor_notice_days, time_zone FROM orgs WHERE id = $1`, orgID).Scan(&days, &tz); err != nil {
		return 0, nil, err
	}
	loc, err = time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	return days, loc, nil
}

// effectiveDate checks the terms against the notice period and returns the
// effective date and the reason to record.
func effectiveDate(t Terms, days int, now time.Time, loc *time.Location) (string, string, error) {
	t.EffectiveOn, t.Reason = strings.TrimSpace(t.EffectiveOn), strings.TrimSpace(t.Reason)
	today := clock.DateIn(now, loc)
	earliest := clock.DateIn(now.In(loc).AddDate(0, 0, days), loc)
	if utf8.RuneCountInString(t.Reason) > 1000 || !valid.PlainText(t.Reason) {
		return "", "", apperr.Field("notice_reason", "the reason is text of at most 1,000 characters")
	}
	if t.EffectiveOn == "" {
		return earliest, "", nil
	}
	if _, err := clock.ParseDate(t.EffectiveOn, loc); err != nil {
		return "", "", apperr.Field("notice_effective_on", "%q is not a date such as %s", t.EffectiveOn, earliest)
	}
	if t.EffectiveOn < today {
		return "", "", apperr.Field("notice_effective_on", "a notice cannot take effect in the past (today is %s)", today)
	}
	if t.EffectiveOn < earliest {
		if t.Reason == "" {
			return "", "", apperr.Field("notice_reason",
				"the notice period is %d days: a change effective before %s needs a recorded reason for the shorter notice", days, earliest)
		}
		return t.EffectiveOn, t.Reason, nil
	}
	return t.EffectiveOn, "", nil // a reason for a notice that is not short would mislead
}

// giveNotice records the notice a change calls for, if any, and sends it
// on. It runs in the change's transaction.
func (s *Service) giveNotice(ctx context.Context, tx *db.Tx, orgID string, before, after *Subprocessor, terms Terms) (*Notice, error) {
	change, changes := noticeOf(before, after)
	if change == "" {
		return nil, nil
	}
	days, loc, err := orgTerms(ctx, tx, orgID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	effective, reason, err := effectiveDate(terms, days, now, loc)
	if err != nil {
		return nil, err
	}
	subject := after
	if subject == nil {
		subject = before
	}
	if changes == nil {
		changes = []FieldChange{}
	}
	n := &Notice{ID: db.NewID(now), SubprocessorID: subject.ID, Change: change, SubprocessorName: subject.Name, Changes: changes,
		AnnouncedAt: now, EffectiveOn: effective, NoticeDays: days, ShortReason: reason}
	body, _ := json.Marshal(changes)
	if _, err := tx.ExecContext(ctx, `INSERT INTO subprocessor_notices (id, org_id, subprocessor_id, change, subprocessor_name, changes,
		announced_at, effective_on, notice_days, short_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		n.ID, orgID, n.SubprocessorID, n.Change, n.SubprocessorName, string(body), clock.Micros(now), n.EffectiveOn, n.NoticeDays,
		n.ShortReason); err != nil {
		return nil, err
	}
	if err := s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "notice.create", TargetType: "subprocessor_notice", TargetID: n.ID,
		Fields: map[string]any{"subprocessor_id": n.SubprocessorID, "change": n.Change, "effective_on": n.EffectiveOn,
			"notice_days": n.NoticeDays, "short_notice_reason": n.ShortReason}}); err != nil {
		return nil, err
	}
	if s.announcer != nil {
		if err := s.announcer.Announce(ctx, tx, orgID, subscriber.TopicSubprocessors, n.ID); err != nil {
			return nil, err
		}
	}
	if s.publisher != nil {
		if err := s.publisher.Publish(ctx, tx, orgID, subscriber.TopicSubprocessors, "subprocessor.notice.created", n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

const noticeColumns = `n.id, n.subprocessor_id, n.change, n.subprocessor_name, n.changes, n.announced_at, n.effective_on, n.notice_days,
	n.short_reason, (SELECT COUNT(*) FROM objections o WHERE o.notice_id = n.id)`

func scanNotice(r interface{ Scan(...any) error }) (*Notice, error) {
	var n Notice
	var changes string
	var at int64
	if err := r.Scan(&n.ID, &n.SubprocessorID, &n.Change, &n.SubprocessorName, &changes, &at, &n.EffectiveOn, &n.NoticeDays,
		&n.ShortReason, &n.Objections); err != nil {
		return nil, err
	}
	n.Changes = []FieldChange{}
	_ = json.Unmarshal([]byte(changes), &n.Changes)
	n.AnnouncedAt = clock.FromMicros(at)
	return &n, nil
}

// Notices returns the organisation's notices, newest first, at most limit.
func (s *Service) Notices(ctx context.Context, orgID string, limit int) ([]Notice, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+noticeColumns+` FROM subprocessor_notices n WHERE n.org_id = $1
		ORDER BY n.announced_at DESC, n.id DESC LIMIT $2`, orgID, limit)
	if err != nil {
		return nil, apperr.Wrap(err, "list notices")
	}
	defer rows.Close()
	out := []Notice{}
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return nil, apperr.Wrap(err, "list notices")
		}
		out = append(out, *n)
	}
	return out, apperr.Wrap(rows.Err(), "list notices")
}

// GetNotice returns one notice.
func (s *Service) GetNotice(ctx context.Context, orgID, id string) (*Notice, error) {
	n, err := scanNotice(s.db.Read.QueryRowContext(ctx, `SELECT `+noticeColumns+` FROM subprocessor_notices n
		WHERE n.org_id = $1 AND n.id = $2`, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no such notice")
	}
	return n, apperr.Wrap(err, "read notice")
}

// NoticeDays returns the organisation's notice period in days.
func (s *Service) NoticeDays(ctx context.Context, orgID string) (int, error) {
	days, _, err := orgTerms(ctx, s.db.Read, orgID)
	return days, apperr.Wrap(err, "read notice period")
}

// SetNoticeDays changes the organisation's notice period.
func (s *Service) SetNoticeDays(ctx context.Context, orgID string, days int) error {
	if days < 0 || days > MaxNoticeDays {
		return apperr.Field("notice_days", "the notice period is 0 to %d days", MaxNoticeDays)
	}
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE orgs SET subprocessor_notice_days = $2, updated_at = $3 WHERE id = $1`,
			orgID, days, clock.Micros(s.clock.Now())); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "org.notice_period", TargetType: "org", TargetID: orgID,
			Fields: map[string]any{"subprocessor_notice_days": days}})
	}), "set notice period")
}

// Objection is a subscriber's objection to a notice.
type Objection struct {
	ID        string    `json:"id"`
	NoticeID  string    `json:"notice_id"`
	Email     string    `json:"email"`
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}

// MaxObjection bounds the text of an objection.
const MaxObjection = 5000

// Object records a subscriber's objection to a notice. The address comes
// from the link in the notice, never from the form. Objecting again
// replaces the reason.
func (s *Service) Object(ctx context.Context, orgID, noticeID, email, reason string) error {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > MaxObjection || !valid.PlainText(reason) {
		return apperr.Field("reason", "the reason is at most %d characters", MaxObjection)
	}
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM subprocessor_notices WHERE org_id = $1 AND id = $2`, orgID, noticeID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.NotFound, "no such notice")
		}
		now := s.clock.Now()
		id := db.NewID(now)
		if err := tx.QueryRowContext(ctx, `INSERT INTO objections (id, org_id, notice_id, email, email_norm, reason, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (notice_id, email_norm) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at
			RETURNING id`, id, orgID, noticeID, email, identity.NormaliseEmail(email), reason, clock.Micros(now)).Scan(&id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "notice.object", Actor: audit.System("public"),
			TargetType: "subprocessor_notice", TargetID: noticeID, Personal: map[string]string{"email": email}})
	}), "record objection")
}

// Objections returns the objections to the organisation's notices (one
// notice's when noticeID is set), newest first.
func (s *Service) Objections(ctx context.Context, orgID, noticeID string) ([]Objection, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, notice_id, email, reason, created_at FROM objections
		WHERE org_id = $1 AND ($2 = '' OR notice_id = $2) ORDER BY created_at DESC, id DESC`, orgID, noticeID)
	if err != nil {
		return nil, apperr.Wrap(err, "list objections")
	}
	defer rows.Close()
	out := []Objection{}
	for rows.Next() {
		var o Objection
		var at int64
		if err := rows.Scan(&o.ID, &o.NoticeID, &o.Email, &o.Reason, &at); err != nil {
			return nil, apperr.Wrap(err, "list objections")
		}
		o.CreatedAt = clock.FromMicros(at)
		out = append(out, o)
	}
	return out, apperr.Wrap(rows.Err(), "list objections")
}

// ValueLabel is a field's value as a visitor reads it: the words for a
// transfer mechanism or a status, the value itself for free text.
func ValueLabel(lang, field, v string) string {
	switch {
	case v == "":
		return v
	case field == "transfer_mechanism":
		return i18n.T(lang, "mechanism."+v)
	case field == "status":
		return i18n.T(lang, "status."+v)
	}
	return v
}

// RenderNotice writes the e-mail announcing a notice to one subscriber, in
// the subscriber's language.
func (s *Service) RenderNotice(ctx context.Context, orgID, noticeID string, to subscriber.Recipient) (string, string, error) {
	n, err := s.GetNotice(ctx, orgID, noticeID)
	if err != nil {
		return "", "", err
	}
	var name string
	if err := s.db.Read.QueryRowContext(ctx, `SELECT name FROM orgs WHERE id = $1`, orgID).Scan(&name); err != nil {
		return "", "", err
	}
	lang := to.Lang
	subject := i18n.T(lang, "notice.mail.subject."+n.Change, name, n.SubprocessorName, n.EffectiveOn)
	var b strings.Builder
	b.WriteString(i18n.T(lang, "notice.mail.intro", name))
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "%s: %s\n", i18n.T(lang, "notice.subprocessor"), n.SubprocessorName)
	fmt.Fprintf(&b, "%s: %s\n", i18n.T(lang, "notice.change"), i18n.T(lang, "notice.change."+n.Change))
	fmt.Fprintf(&b, "%s: %s\n", i18n.T(lang, "notice.effective"), n.EffectiveOn)
	if n.ShortReason != "" {
		fmt.Fprintf(&b, "%s: %s\n", i18n.T(lang, "notice.short_reason", n.NoticeDays), n.ShortReason)
	}
	if len(n.Changes) > 0 {
		fmt.Fprintf(&b, "\n%s\n", i18n.T(lang, "notice.changes"))
		for _, c := range n.Changes {
			fmt.Fprintf(&b, "- %s: %q → %q\n", i18n.T(lang, "subprocessor.field."+c.Field), ValueLabel(lang, c.Field, c.From), ValueLabel(lang, c.Field, c.To))
		}
	}
	b.WriteString("\n" + i18n.T(lang, "notice.mail.list", to.SiteURL+"subprocessors") + "\n")
	b.WriteString("\n" + i18n.T(lang, "notice.mail.object", to.ObjectURL) + "\n")
	b.WriteString("\n-- \n" + i18n.T(lang, "notice.mail.footer", name, to.UnsubscribeURL) + "\n")
	return subject, b.String(), nil
}
