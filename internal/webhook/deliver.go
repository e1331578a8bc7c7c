package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/job"
)

// Message is one event sent to one endpoint, with its delivery attempts.
type Message struct {
	ID         string    `json:"id" doc:"The webhook-id header: the same on every attempt, a receiver's idempotency key."`
	EndpointID string    `json:"endpoint_id"`
	EventType  string    `json:"event_type"`
	Payload    string    `json:"payload" doc:"The body sent, exactly as signed."`
	State      string    `json:"state" enum:"queued,delivered,dead"`
	Attempts   int       `json:"attempts"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Log        []Attempt `json:"log" doc:"Every attempt, first first."`
}

// Attempt is one try at delivering a message.
type Attempt struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	Status     int       `json:"status" doc:"The receiver's HTTP status; 0 when no answer came."`
	Error      string    `json:"error,omitempty" doc:"Why the attempt failed, with the start of the receiver's answer."`
	DurationMS int64     `json:"duration_ms"`
}

// eventTypePattern follows the specification's advice: full-stop delimited
// identifiers of [a-zA-Z0-9_]. No other character may appear, since the
// signed content joins parts with full stops.
var eventTypePattern = regexp.MustCompile(`^[a-zA-Z0-9_]+(\.[a-zA-Z0-9_]+)*$`)

// envelope is the Standard Webhooks payload.
type envelope struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

func (s *Service) payload(eventType string, data any) (string, error) {
	if !eventTypePattern.MatchString(eventType) || len(eventType) > 100 {
		return "", fmt.Errorf("webhook: event type %q is not full-stop delimited identifiers", eventType)
	}
	if data == nil {
		data = struct{}{}
	}
	body, err := json.Marshal(envelope{Type: eventType, Timestamp: s.clock.Now().UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano), Data: data})
	if err != nil {
		return "", fmt.Errorf("webhook: encode %s: %w", eventType, err)
	}
	return string(body), nil
}

// newMessageID returns a webhook-id: "msg_" and a UUIDv7 without dashes, so
// ids sort by creation and hold no full stop.
func newMessageID(now time.Time) string {
	return "msg_" + strings.ReplaceAll(db.NewID(now), "-", "")
}

type deliverPayload struct {
	MessageID string `json:"message_id"`
}

// enqueue writes a message for one endpoint and the job that delivers it.
func (s *Service) enqueue(ctx context.Context, tx *db.Tx, orgID, endpointID, eventType, body string) (*Message, error) {
	now := s.clock.Now()
	m := &Message{ID: newMessageID(now), EndpointID: endpointID, EventType: eventType, Payload: body, State: Queued,
		CreatedAt: now, UpdatedAt: now, Log: []Attempt{}}
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_messages (id, org_id, endpoint_id, event_type, payload, state, attempts,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $6)`,
		m.ID, orgID, endpointID, eventType, body, clock.Micros(now)); err != nil {
		return nil, err
	}
	if _, err := s.queue.Enqueue(ctx, tx, deliverKind, deliverPayload{MessageID: m.ID}, job.EnqueueOptions{}); err != nil {
		return nil, err
	}
	return m, nil
}

// Publish sends an event of the organisation to every active endpoint
// subscribed to topic: in tx, the caller's transaction, it writes one
// message per endpoint and enqueues its delivery, so nothing is sent unless
// the change commits. data is the event's "data" member, encoded as JSON.
func (s *Service) Publish(ctx context.Context, tx *db.Tx, orgID, topic, eventType string, data any) error {
	if !slices.Contains(Topics, topic) {
		return fmt.Errorf("webhook: publish to unknown topic %q", topic)
	}
	body, err := s.payload(eventType, data)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, topics FROM webhook_endpoints
		WHERE org_id = $1 AND active AND deleted_at IS NULL ORDER BY created_at, id`, orgID)
	if err != nil {
		return fmt.Errorf("webhook: endpoints of %s: %w", topic, err)
	}
	var targets []string
	for rows.Next() {
		var id, topics string
		if err := rows.Scan(&id, &topics); err != nil {
			rows.Close()
			return err
		}
		var list []string
		if json.Unmarshal([]byte(topics), &list) == nil && slices.Contains(list, topic) {
			targets = append(targets, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Rows are closed before writing: SQLite's one connection cannot do both.
	for _, id := range targets {
		if _, err := s.enqueue(ctx, tx, orgID, id, eventType, body); err != nil {
			return fmt.Errorf("webhook: queue %s for %s: %w", eventType, id, err)
		}
	}
	return nil
}

// SendTest sends a webhook.test event to one endpoint, whatever its topics,
// so an admin can check the receiver and its signature verification.
func (s *Service) SendTest(ctx context.Context, orgID, id string) (*Message, error) {
	var m *Message
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var active bool
		err := tx.QueryRowContext(ctx, `SELECT active FROM webhook_endpoints WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
			orgID, id).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoEndpoint
		}
		if err != nil {
			return err
		}
		if !active {
			return apperr.New(apperr.Conflict, "the endpoint is paused: activate it before sending a test event")
		}
		body, err := s.payload(TestEventType, map[string]string{"endpoint_id": id,
			"message": "A test event from Evident. Verify its signature with the endpoint's secret, then answer 2xx."})
		if err != nil {
			return err
		}
		if m, err = s.enqueue(ctx, tx, orgID, id, TestEventType, body); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "webhook.test", TargetType: "webhook_endpoint", TargetID: id,
			Fields: map[string]any{"message_id": m.ID}})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "send test webhook")
	}
	return m, nil
}

// Redeliver queues a dead message again, with a fresh set of attempts; its
// webhook-id stays, so a receiver that did process it can tell.
func (s *Service) Redeliver(ctx context.Context, orgID, messageID string) (*Message, error) {
	var endpointID string
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var state string
		var active bool
		var deleted sql.NullInt64
		var updated int64
		err := tx.QueryRowContext(ctx, `SELECT m.endpoint_id, m.state, e.active, e.deleted_at, m.updated_at
			FROM webhook_messages m JOIN webhook_endpoints e ON e.org_id = m.org_id AND e.id = m.endpoint_id
			WHERE m.org_id = $1 AND m.id = $2`+tx.ForUpdate(), orgID, messageID).Scan(&endpointID, &state, &active, &deleted, &updated)
		// A message still queued long after any retry would have run lost
		// its job (its worker died on the last attempt): it may go again.
		abandoned := state == Queued && s.clock.Now().Sub(clock.FromMicros(updated)) > AbandonedAfter
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return apperr.New(apperr.NotFound, "no such webhook message")
		case err != nil:
			return err
		case deleted.Valid:
			return apperr.New(apperr.NotFound, "no such webhook message")
		case state != Dead && !abandoned:
			return apperr.New(apperr.Conflict, "only a dead message can be delivered again; this one is %s", state)
		case !active:
			return apperr.New(apperr.Conflict, "the endpoint is paused: activate it before delivering again")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_messages SET state = 'queued', updated_at = $3 WHERE org_id = $1 AND id = $2`,
			orgID, messageID, clock.Micros(s.clock.Now())); err != nil {
			return err
		}
		if _, err := s.queue.Enqueue(ctx, tx, deliverKind, deliverPayload{MessageID: messageID}, job.EnqueueOptions{}); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "webhook.redeliver", TargetType: "webhook_endpoint",
			TargetID: endpointID, Fields: map[string]any{"message_id": messageID}})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "redeliver webhook message")
	}
	list, err := s.messages(ctx, orgID, endpointID, messageID, 1)
	if err != nil || len(list) == 0 {
		return nil, apperr.Wrap(err, "redeliver webhook message")
	}
	return &list[0], nil
}

// AbandonedAfter is how long a queued message may go untouched before it
// counts as abandoned: longer than the longest wait between two attempts
// (an hour) and the lease of one.
const AbandonedAfter = 2 * time.Hour

// MaxDeliveries is the most messages Deliveries returns at once.
const MaxDeliveries = 200

// Deliveries returns the endpoint's newest messages, at most limit (1 to
// MaxDeliveries; 0 means 50), each with its attempts.
func (s *Service) Deliveries(ctx context.Context, orgID, endpointID string, limit int) ([]Message, error) {
	if _, err := s.Get(ctx, orgID, endpointID); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 50
	}
	return s.messages(ctx, orgID, endpointID, "", min(limit, MaxDeliveries))
}

// messages reads an endpoint's newest messages, or the one named by only.
func (s *Service) messages(ctx context.Context, orgID, endpointID, only string, limit int) ([]Message, error) {
	const page = `SELECT id FROM webhook_messages WHERE org_id = $1 AND endpoint_id = $2 AND ($3 = '' OR id = $3)
		ORDER BY created_at DESC, id DESC LIMIT $4`
	rows, err := s.db.Read.QueryContext(ctx, `SELECT id, endpoint_id, event_type, payload, state, attempts, created_at, updated_at
		FROM webhook_messages WHERE org_id = $1 AND id IN (`+page+`) ORDER BY created_at DESC, id DESC`, orgID, endpointID, only, limit)
	if err != nil {
		return nil, apperr.Wrap(err, "list webhook deliveries")
	}
	out := []Message{}
	at := map[string]int{}
	for rows.Next() {
		var m Message
		var created, updated int64
		if err := rows.Scan(&m.ID, &m.EndpointID, &m.EventType, &m.Payload, &m.State, &m.Attempts, &created, &updated); err != nil {
			rows.Close()
			return nil, apperr.Wrap(err, "list webhook deliveries")
		}
		m.CreatedAt, m.UpdatedAt, m.Log = clock.FromMicros(created), clock.FromMicros(updated), []Attempt{}
		at[m.ID] = len(out)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, "list webhook deliveries")
	}
	rows, err = s.db.Read.QueryContext(ctx, `SELECT message_id, attempt, at, status, error, duration_ms
		FROM webhook_attempts WHERE org_id = $1 AND message_id IN (`+page+`) ORDER BY message_id, attempt`, orgID, endpointID, only, limit)
	if err != nil {
		return nil, apperr.Wrap(err, "list webhook attempts")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var a Attempt
		var when int64
		if err := rows.Scan(&id, &a.Attempt, &when, &a.Status, &a.Error, &a.DurationMS); err != nil {
			return nil, apperr.Wrap(err, "list webhook attempts")
		}
		a.At = clock.FromMicros(when)
		if i, ok := at[id]; ok {
			out[i].Log = append(out[i].Log, a)
		}
	}
	return out, apperr.Wrap(rows.Err(), "list webhook attempts")
}

// ---- delivery ---------------------------------------------------------------

// sign returns the value of the webhook-signature header for one attempt:
// "v1," and the base64 HMAC-SHA256, under the secret's bytes, of
// "{webhook-id}.{webhook-timestamp}.{body}".
func sign(secret []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// userAgent names the sender, so a receiver's logs say who called.
const userAgent = "Evident-Webhooks/1 (+https://github.com/evident-isms/evident)"

// maxAnswer is how much of a receiver's answer is read; only a short
// excerpt of it is kept, in the attempt's error.
const (
	maxAnswer  = 4 << 10
	maxExcerpt = 200
	maxError   = 1000
)

// outcome is what one attempt came to.
type outcome struct {
	status   int
	err      string
	gone     bool // 410: the receiver wants no more messages
	duration time.Duration
}

// deliver is the job that sends one message: one attempt per run. The job
// queue retries a failed attempt with its backoff until the configured
// number of attempts; the message is then dead.
func (s *Service) deliver(ctx context.Context, j job.Job) error {
	var p deliverPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	var orgID, endpointID, rawURL, sealed, body, state string
	var active bool
	var deleted sql.NullInt64
	err := s.db.Read.QueryRowContext(ctx, `SELECT m.org_id, m.endpoint_id, m.payload, m.state, e.url, e.secret_sealed, e.active, e.deleted_at
		FROM webhook_messages m JOIN webhook_endpoints e ON e.org_id = m.org_id AND e.id = m.endpoint_id WHERE m.id = $1`, p.MessageID).
		Scan(&orgID, &endpointID, &body, &state, &rawURL, &sealed, &active, &deleted)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && state != Queued) {
		return nil // removed by retention, or already settled
	}
	if err != nil {
		return err
	}
	var o outcome
	switch {
	case deleted.Valid:
		o.err = "not sent: the endpoint was deleted"
	case !active:
		o.err = "not sent: the endpoint is paused"
	}
	if o.err != "" {
		return s.settle(p.MessageID, orgID, endpointID, o, Dead)
	}
	secret, err := s.keys.Open(sealed, secretColumn.AAD(endpointID))
	if err != nil {
		o.err = "not sent: the signing secret cannot be opened: " + err.Error()
		if serr := s.settle(p.MessageID, orgID, endpointID, o, Dead); serr != nil {
			return serr
		}
		return job.Permanent(errors.New(o.err))
	}

	o = s.post(ctx, rawURL, p.MessageID, secret, []byte(body))
	if o.status >= 200 && o.status < 300 {
		return s.settle(p.MessageID, orgID, endpointID, o, Delivered)
	}
	failure := errors.New(o.err)
	next := Queued
	if o.gone {
		failure = job.Permanent(failure)
	}
	if o.gone || j.Attempt >= j.MaxAttempts {
		next = Dead
	}
	if err := s.settle(p.MessageID, orgID, endpointID, o, next); err != nil {
		return err
	}
	return failure
}

// post makes one attempt. No transaction is open while it waits.
func (s *Service) post(ctx context.Context, rawURL, id string, secret, body []byte) outcome {
	start := s.clock.Now()
	ts := start.Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return outcome{err: "not sent: the URL cannot be used: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sign(secret, id, ts, body))
	resp, err := s.client.Do(req)
	if err != nil {
		// The URL is the endpoint's, shown beside the log already; the cause
		// alone is what the admin needs (refused address, timeout, TLS).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return outcome{err: "no answer: " + err.Error(), duration: s.clock.Now().Sub(start)}
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	o := outcome{status: resp.StatusCode, duration: s.clock.Now().Sub(start)}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		o.err = fmt.Sprintf("HTTP %d: redirects are not followed; update the endpoint's URL (the answer pointed to %q)",
			resp.StatusCode, excerpt([]byte(resp.Header.Get("Location"))))
	case resp.StatusCode == http.StatusGone:
		// The specification: 410 means the receiver wants no more messages,
		// and the sender disables the endpoint.
		o.gone = true
		o.err = "HTTP 410 Gone: the receiver asked for no more messages; the endpoint is paused"
	default:
		o.err = fmt.Sprintf("HTTP %d", resp.StatusCode)
		if e := excerpt(answer); e != "" {
			o.err += ": " + e
		}
	}
	return o
}

// excerpt is the start of a receiver's answer as one line of valid text.
func excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b), "�")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxExcerpt {
		s = string([]rune(s)[:maxExcerpt]) + "…"
	}
	return s
}

// settle logs an attempt and moves the message to state, in one
// transaction; after a 410 it also pauses the endpoint, as the receiver
// asked. It uses its own context: the attempt happened and is logged even
// when the worker is stopping.
func (s *Service) settle(messageID, orgID, endpointID string, o outcome, state string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = audit.WithActor(ctx, audit.System("webhook"))
	if utf8.RuneCountInString(o.err) > maxError {
		o.err = string([]rune(o.err)[:maxError]) + "…"
	}
	now := s.clock.Now()
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, `UPDATE webhook_messages SET attempts = attempts + 1, state = $3, updated_at = $4
			WHERE org_id = $1 AND id = $2 AND state = 'queued' RETURNING attempts`, orgID, messageID, state, clock.Micros(now)).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // settled meanwhile by another worker whose lease this one outlived
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (org_id, message_id, attempt, at, status, error, duration_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, orgID, messageID, n, clock.Micros(now), o.status, o.err, o.duration.Milliseconds()); err != nil {
			return err
		}
		if !o.gone {
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET active = FALSE, updated_at = $3
			WHERE org_id = $1 AND id = $2 AND active AND deleted_at IS NULL`, orgID, endpointID, clock.Micros(now))
		if err != nil {
			return err
		}
		if changed, _ := res.RowsAffected(); changed == 0 {
			return nil
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "webhook.pause", TargetType: "webhook_endpoint", TargetID: endpointID,
			Fields: map[string]any{"active": false, "reason": "the receiver answered 410 Gone", "message_id": messageID}})
	})
}
