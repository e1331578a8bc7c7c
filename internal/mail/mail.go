// Package mail sends e-mail through the job queue. A message is written in the
// caller's transaction together with the job that sends it, so it goes out
// exactly when the change that calls for it commits, and is retried while the
// SMTP server is unreachable. Without an SMTP server configured, messages are
// held and listed for the operator by `evident mail list`.
package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/job"
)

// States of a message.
const (
	Queued = "queued"
	Sent   = "sent"
	Held   = "held"   // no SMTP server configured: kept for the operator
	Failed = "failed" // every attempt failed
)

// TLS modes for the SMTP connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, required (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption: only for a relay on the same host
)

// Config is the SMTP server. An empty Host means: hold messages.
type Config struct {
	Host     string
	Port     int
	Username string
	Password string
	TLS      string
	From     string
	// RootCAs, when set, replaces the system's trusted roots for the SMTP
	// server's certificate (a private CA; tests).
	RootCAs *x509.CertPool
}

// Validate checks the settings an operator gave.
func (c Config) Validate() error {
	if c.Host == "" {
		return nil
	}
	if c.Port <= 0 || c.Port > 65535 {
		return fmt.Errorf("SMTP port %d is out of range", c.Port)
	}
	switch c.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return fmt.Errorf("SMTP TLS mode %q: use starttls, tls or none", c.TLS)
	}
	if _, err := netmail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("mail sender %q is not an e-mail address", c.From)
	}
	return nil
}

const sendKind = "mail.send"

// Mailer writes and sends messages.
type Mailer struct {
	db    *db.DB
	clock clock.Clock
	queue *job.Queue
	cfg   Config
	log   *slog.Logger
}

// New returns a mailer and registers its sending job on q.
func New(d *db.DB, c clock.Clock, q *job.Queue, cfg Config, log *slog.Logger) *Mailer {
	m := &Mailer{db: d, clock: c, queue: q, cfg: cfg, log: log}
	q.Register(sendKind, job.Kind{Handler: m.send, MaxAttempts: 10, Lease: 2 * time.Minute})
	return m
}

// Sends tells whether an SMTP server is configured. Without one, messages
// are held for the operator (see "evident mail list").
func (m *Mailer) Sends() bool { return m.cfg.Host != "" }

// Message is an e-mail to write. OrgID is empty for messages that belong to
// no organisation (a sign-in link, say).
type Message struct {
	OrgID   string
	To      string
	Subject string
	Text    string
	// Headers are extra header fields, only those of ExtraHeaders: mailing
	// lists need List-Unsubscribe and List-Unsubscribe-Post (RFC 8058).
	Headers map[string]string
}

// ExtraHeaders are the header fields a Message may add. The list is closed
// so no caller can set From, Reply-To or Bcc behind the mailer's back.
var ExtraHeaders = []string{"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"}

// Enqueue writes msg in tx and the job that sends it.
func (m *Mailer) Enqueue(ctx context.Context, tx *db.Tx, msg Message) (string, error) {
	addr, err := netmail.ParseAddress(msg.To)
	if err != nil || addr.Name != "" {
		return "", apperr.Field("to", "%q is not an e-mail address", msg.To)
	}
	if strings.ContainsAny(msg.Subject, "\r\n") || strings.TrimSpace(msg.Subject) == "" {
		return "", apperr.Field("subject", "the subject must be one non-empty line")
	}
	for name, value := range msg.Headers {
		if !slices.Contains(ExtraHeaders, name) {
			return "", apperr.Field("headers", "header %q cannot be set; only %s", name, strings.Join(ExtraHeaders, ", "))
		}
		if strings.ContainsAny(value, "\r\n") || strings.TrimSpace(value) == "" {
			return "", apperr.Field("headers", "header %s must be one non-empty line", name)
		}
	}
	headers, err := json.Marshal(msg.Headers)
	if err != nil {
		return "", apperr.Wrap(err, "write mail message")
	}
	if msg.Headers == nil {
		headers = []byte("{}")
	}
	now := m.clock.Now()
	id := db.NewID(now)
	_, err = tx.ExecContext(ctx, `
		INSERT INTO mail_messages (id, org_id, recipient, subject, text_body, headers, state, last_error, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, 'queued', '', $7)`,
		id, db.NullIfEmpty(msg.OrgID), addr.Address, msg.Subject, msg.Text, string(headers), clock.Micros(now))
	if err != nil {
		return "", apperr.Wrap(err, "write mail message")
	}
	if _, err := m.queue.Enqueue(ctx, tx, sendKind, sendPayload{MessageID: id}, job.EnqueueOptions{}); err != nil {
		return "", err
	}
	return id, nil
}

type sendPayload struct {
	MessageID string `json:"message_id"`
}

func (m *Mailer) send(ctx context.Context, j job.Job) error {
	var p sendPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	var to, subject, text, headerJSON, state string
	err := m.db.Read.QueryRowContext(ctx, `SELECT recipient, subject, text_body, headers, state FROM mail_messages WHERE id = $1`, p.MessageID).
		Scan(&to, &subject, &text, &headerJSON, &state)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && state != Queued) {
		return nil // deleted by retention, or already handled
	}
	if err != nil {
		return err
	}
	if m.cfg.Host == "" {
		return m.setState(p.MessageID, Held, "no SMTP server configured")
	}
	var headers map[string]string
	if err := json.Unmarshal([]byte(headerJSON), &headers); err != nil {
		return job.Permanent(fmt.Errorf("message %s: bad headers: %w", p.MessageID, err))
	}
	if err := m.deliver(ctx, to, subject, text, headers); err != nil {
		if j.Attempt >= j.MaxAttempts || job.IsPermanent(err) {
			if serr := m.setState(p.MessageID, Failed, err.Error()); serr != nil {
				return serr
			}
		} else if serr := m.setState(p.MessageID, Queued, err.Error()); serr != nil {
			return serr
		}
		return err
	}
	return m.setState(p.MessageID, Sent, "")
}

func (m *Mailer) setState(id, state, lastErr string) error {
	var sentAt any
	if state == Sent {
		sentAt = clock.Micros(m.clock.Now())
	}
	_, err := m.db.Write.ExecContext(context.Background(),
		`UPDATE mail_messages SET state = $1, last_error = $2, sent_at = $3 WHERE id = $4`, state, lastErr, sentAt, id)
	return err
}

func (m *Mailer) deliver(ctx context.Context, to, subject, text string, headers map[string]string) error {
	msg := gomail.NewMsg()
	if err := msg.From(m.cfg.From); err != nil {
		return job.Permanent(fmt.Errorf("sender: %w", err))
	}
	if err := msg.To(to); err != nil {
		return job.Permanent(fmt.Errorf("recipient: %w", err))
	}
	msg.Subject(subject)
	msg.SetDateWithValue(m.clock.Now())
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, text)
	for name, value := range headers {
		// Preformatted: a URL in angle brackets must not be encoded or folded.
		msg.SetGenHeaderPreformatted(gomail.Header(name), value)
	}

	opts := []gomail.Option{gomail.WithPort(m.cfg.Port), gomail.WithTimeout(30 * time.Second)}
	switch m.cfg.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if m.cfg.RootCAs != nil {
		opts = append(opts, gomail.WithTLSConfig(&tls.Config{ServerName: m.cfg.Host, RootCAs: m.cfg.RootCAs, MinVersion: tls.VersionTLS12}))
	}
	if m.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(m.cfg.Username), gomail.WithPassword(m.cfg.Password))
	}
	client, err := gomail.NewClient(m.cfg.Host, opts...)
	if err != nil {
		return job.Permanent(fmt.Errorf("SMTP settings: %w", err))
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		err = fmt.Errorf("send through %s:%d: %w", m.cfg.Host, m.cfg.Port, err)
		// A 5xx answer (no such mailbox, refused) will not change on retry.
		var se *gomail.SendError
		if errors.As(err, &se) && !se.IsTemp() {
			return job.Permanent(err)
		}
		return err
	}
	return nil
}

// Stored is a message as kept in the database.
type Stored struct {
	ID, OrgID, To, Subject, Text, State, LastError string
	CreatedAt                                      time.Time
	SentAt                                         time.Time
}

// List returns the newest messages first, at most limit, optionally only
// those in one state.
func (m *Mailer) List(ctx context.Context, state string, limit int) ([]Stored, error) {
	rows, err := m.db.Read.QueryContext(ctx, `
		SELECT id, COALESCE(org_id, ''), recipient, subject, text_body, state, last_error, created_at, COALESCE(sent_at, 0)
		FROM mail_messages WHERE ($1 = '' OR state = $1) ORDER BY created_at DESC, id DESC LIMIT $2`, state, limit)
	if err != nil {
		return nil, apperr.Wrap(err, "list mail")
	}
	defer rows.Close()
	var out []Stored
	for rows.Next() {
		var s Stored
		var created, sent int64
		if err := rows.Scan(&s.ID, &s.OrgID, &s.To, &s.Subject, &s.Text, &s.State, &s.LastError, &created, &sent); err != nil {
			return nil, apperr.Wrap(err, "list mail")
		}
		s.CreatedAt = clock.FromMicros(created)
		if sent != 0 {
			s.SentAt = clock.FromMicros(sent)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
