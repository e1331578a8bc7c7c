package audit

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/clock"
)

// Filter selects entries of one organisation's chain for reading.
type Filter struct {
	Actor      string    // an actor id (user or token id)
	Action     string    // an action, or a resource followed by a dot ("membership.")
	TargetType string    // with TargetID: one target
	TargetID   string    //
	From, To   time.Time // [From, To); zero: open
	Before     int64     // cursor: entries with a smaller sequence number; 0: from the newest
	Limit      int       // 1..200, default 50
}

// Item is an entry as people read it: the personal values still held in
// clear, the ones past retention gone.
type Item struct {
	Seq       int64             `json:"seq"`
	Time      time.Time         `json:"time"`
	Action    string            `json:"action"`
	Actor     Actor             `json:"actor"`
	Target    Target            `json:"target"`
	RequestID string            `json:"request_id,omitempty"`
	Fields    map[string]any    `json:"fields"`
	Personal  map[string]string `json:"personal,omitempty" doc:"Personal data still held (erased after the retention period)."`
	Hash      string            `json:"hash"`
}

// MaxListLimit is the largest page.
const MaxListLimit = 200

// List returns a page of an organisation's entries, newest first, and the
// cursor of the next page (0 at the end).
func (l *Log) List(ctx context.Context, orgID string, f Filter) ([]Item, int64, error) {
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > MaxListLimit {
		return nil, 0, apperr.Field("limit", "the page size is between 1 and %d", MaxListLimit)
	}
	if (f.TargetID != "") && f.TargetType == "" {
		return nil, 0, apperr.Field("target_type", "give the target's type with its id")
	}
	q := `SELECT ` + entryColumns + ` FROM audit_events WHERE chain = $1`
	args := []any{orgID}
	add := func(cond string, v any) {
		args = append(args, v)
		q += " AND " + strings.ReplaceAll(cond, "?", "$"+itoa(len(args)))
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		if strings.HasSuffix(f.Action, ".") {
			// A prefix match without LIKE, whose wildcards and collations
			// differ between engines: the resource part is compared exactly.
			add("substr(action, 1, "+itoa(len(f.Action))+") = ?", f.Action)
		} else {
			add("action = ?", f.Action)
		}
	}
	if f.TargetType != "" {
		add("target_type = ?", f.TargetType)
	}
	if f.TargetID != "" {
		add("target = ?", f.TargetID)
	}
	if !f.From.IsZero() {
		add("at >= ?", clock.Micros(f.From))
	}
	if !f.To.IsZero() {
		add("at < ?", clock.Micros(f.To))
	}
	if f.Before > 0 {
		add("seq < ?", f.Before)
	}
	args = append(args, f.Limit+1)
	q += " ORDER BY seq DESC LIMIT $" + itoa(len(args))
	rows, err := l.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, apperr.Wrap(err, "audit: list")
	}
	defer rows.Close()
	var items []Item
	for rows.Next() {
		e, err := scanEntry(rows, orgID)
		if err != nil {
			return nil, 0, apperr.Wrap(err, "audit: list")
		}
		it := Item{Seq: e.Seq, Time: clock.FromMicros(e.Time), Action: e.Action, Actor: Actor{Type: e.ActorType, ID: e.ActorID},
			Target: Target{Type: e.TargetType, ID: e.TargetID}, RequestID: e.RequestID, Hash: e.Hash, Fields: map[string]any{}}
		if err := json.Unmarshal([]byte(e.FieldsJSON), &it.Fields); err != nil {
			return nil, 0, apperr.Wrap(err, "audit: entry "+itoa(int(e.Seq))+" has unreadable fields")
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, apperr.Wrap(err, "audit: list")
	}
	var next int64
	if len(items) > f.Limit {
		items = items[:f.Limit]
		next = items[len(items)-1].Seq
	}
	if len(items) > 0 {
		if err := l.attachPersonal(ctx, orgID, items); err != nil {
			return nil, 0, err
		}
	}
	return items, next, nil
}

// attachPersonal fills in the personal values still held for a page.
func (l *Log) attachPersonal(ctx context.Context, chain string, items []Item) error {
	lo, hi := items[len(items)-1].Seq, items[0].Seq
	rows, err := l.db.Read.QueryContext(ctx, `SELECT seq, name, value FROM audit_personal WHERE chain = $1 AND seq >= $2 AND seq <= $3`, chain, lo, hi)
	if err != nil {
		return apperr.Wrap(err, "audit: read personal data")
	}
	defer rows.Close()
	bySeq := make(map[int64]*Item, len(items))
	for i := range items {
		bySeq[items[i].Seq] = &items[i]
	}
	for rows.Next() {
		var seq int64
		var name, value string
		if err := rows.Scan(&seq, &name, &value); err != nil {
			return apperr.Wrap(err, "audit: read personal data")
		}
		if it := bySeq[seq]; it != nil {
			if it.Personal == nil {
				it.Personal = map[string]string{}
			}
			it.Personal[name] = value
		}
	}
	return rows.Err()
}

func itoa(n int) string { return string(appendInt(nil, int64(n))) }
