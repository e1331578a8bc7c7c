// Package subscriber keeps the public subscriptions of an organisation: one
// model for every topic a visitor can follow by e-mail (subprocessor change
// notices now, the status page later). A subscription is double opt-in: the
// form only sends a confirmation link, and nothing else is sent until the
// link is followed, whose time is kept as the consent. Every message carries
// a one-click unsubscribe link (RFC 8058).
//
// The public form must reveal nothing about who is subscribed: it gives the
// same answer, in about the same time, whatever the address's state, and
// its rate limits count per client address (answered openly) and per e-mail
// address (silently: a blocked address is simply not mailed again).
package subscriber

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/i18n"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/job"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/mail"
)

// Topics a visitor can subscribe to.
const (
	TopicSubprocessors = "subprocessors" // change notices of public subprocessors
)

// Topics lists every topic, in the order the form shows them.
var Topics = []string{TopicSubprocessors}

// States of a subscriber.
const (
	Pending      = "pending"
	Confirmed    = "confirmed"
	Unsubscribed = "unsubscribed"
)

// ConfirmValidity is how long a confirmation link works.
const ConfirmValidity = 7 * 24 * time.Hour

// Rate limits of the public form: per client address, and per e-mail
// address across the whole instance, so the forms of many organisations
// together cannot flood someone's mailbox.
var (
	AddressLimit = identity.Window{N: 10, Length: time.Hour}
	EmailLimit   = identity.Window{N: 3, Length: 24 * time.Hour}
)

// Token purposes; a token of one never passes for another.
const (
	purposeConfirm     = "subscription-confirm"
	purposeUnsubscribe = "subscription-unsubscribe"
	purposeObject      = "notice-object"
)

// Subscriber is one subscription, as an organisation's admins see it.
type Subscriber struct {
	ID            string     `json:"id"`
	Email         string     `json:"email"`
	Lang          string     `json:"lang"`
	Topics        []string   `json:"topics" doc:"Confirmed topics."`
	PendingTopics []string   `json:"pending_topics" doc:"Topics of a request not confirmed yet."`
	State         string     `json:"state" enum:"pending,confirmed,unsubscribed"`
	RequestedAt   time.Time  `json:"requested_at"`
	ConsentAt     *time.Time `json:"consent_at,omitempty" doc:"When the subscriber confirmed: the consent."`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Recipient is one subscriber as an announcement's renderer sees it: the
// language to write in and the links to put in the message.
type Recipient struct {
	SubscriberID string
	Lang         string
	// SiteURL is the organisation's public site, ending in a slash.
	SiteURL        string
	UnsubscribeURL string
	// ObjectURL is where the subscriber objects to the announced change.
	ObjectURL string
}

// Renderer writes the message announcing ref (a notice id, say) to one
// subscriber of a topic.
type Renderer func(ctx context.Context, orgID, ref string, to Recipient) (subject, text string, err error)

// Config wires the service.
type Config struct {
	DB      *db.DB
	Clock   clock.Clock
	Audit   *audit.Log
	Keys    *keys.Keys
	Mail    *mail.Mailer
	Queue   *job.Queue
	Limiter *identity.Limiter
	BaseURL string // every link is built from it
	Log     *slog.Logger
}

// Service keeps subscriptions and sends announcements to them.
type Service struct {
	cfg       Config
	mu        sync.RWMutex
	renderers map[string]Renderer
}

const (
	announceKind = "subscriber.announce" // one announcement: fans out to its subscribers
	sendKind     = "subscriber.send"     // one announcement to one subscriber
)

// New returns the service and registers its jobs on cfg.Queue.
func New(cfg Config) *Service {
	s := &Service{cfg: cfg, renderers: map[string]Renderer{}}
	cfg.Queue.Register(announceKind, job.Kind{Handler: s.fanOut, Lease: 10 * time.Minute})
	cfg.Queue.Register(sendKind, job.Kind{Handler: s.sendOne})
	return s
}

// Handle sets the renderer of a topic's announcements.
func (s *Service) Handle(topic string, r Renderer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renderers[topic] = r
}

// Request is what the public form sends.
type Request struct {
	Email  string
	Lang   string
	Topics []string
	// Client is who sent the form: its address is rate limited.
	Client identity.Client
}

func cleanTopics(topics []string) ([]string, error) {
	out := []string{}
	for _, t := range topics {
		t = strings.TrimSpace(t)
		if !slices.Contains(Topics, t) {
			return nil, apperr.Field("topics", "topic %q is not one of %s", t, strings.Join(Topics, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, apperr.Field("topics", "choose at least one topic")
	}
	slices.Sort(out)
	return out, nil
}

// Subscribe handles the public form. Whatever the address's state (new,
// pending, confirmed, unsubscribed), it mails a confirmation link for the
// topics asked and answers the same: nil. Only the client's own rate limit
// and its own input mistakes give another answer, neither of which says
// anything about the address.
func (s *Service) Subscribe(ctx context.Context, orgID string, req Request) error {
	if err := identity.CheckEmail(req.Email); err != nil {
		return err
	}
	email := strings.TrimSpace(req.Email)
	topics, err := cleanTopics(req.Topics)
	if err != nil {
		return err
	}
	lang := i18n.Match(req.Lang)
	if wait, err := s.cfg.Limiter.Take(ctx, identity.RateKey("subscribe-address", req.Client.LimitSubject()), AddressLimit); err != nil {
		return err
	} else if wait > 0 {
		return identity.TooManyAttempts(wait)
	}
	norm := identity.NormaliseEmail(email)
	if wait, err := s.cfg.Limiter.Take(ctx, identity.RateKey("subscribe-email", norm), EmailLimit); err != nil {
		return err
	} else if wait > 0 {
		return nil // the same answer: the address is not mailed again for now
	}
	return apperr.Wrap(s.cfg.DB.InTx(ctx, func(tx *db.Tx) error {
		name, slug, err := orgNames(ctx, tx, orgID)
		if err != nil {
			return err
		}
		now := s.cfg.Clock.Now()
		us := clock.Micros(now)
		id := db.NewID(now)
		// A confirmed subscriber stays confirmed, with its current topics
		// and language, until the new link is followed: whoever fills in
		// the form changes nothing of someone else's subscription. Anyone
		// else is pending, without consent.
		err = tx.QueryRowContext(ctx, `
			INSERT INTO subscribers (id, org_id, email, email_norm, lang, pending_lang, topics, pending_topics, state, requested_at,
				inactive_since, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $5, '[]', $6, 'pending', $7, $7, $7, $7)
			ON CONFLICT (org_id, email_norm) DO UPDATE SET
				email = CASE WHEN subscribers.state = 'confirmed' THEN subscribers.email ELSE excluded.email END,
				lang = CASE WHEN subscribers.state = 'confirmed' THEN subscribers.lang ELSE excluded.lang END,
				pending_lang = excluded.pending_lang, pending_topics = excluded.pending_topics,
				requested_at = excluded.requested_at, updated_at = excluded.updated_at,
				consent_at = CASE WHEN subscribers.state = 'confirmed' THEN subscribers.consent_at ELSE NULL END,
				state = CASE WHEN subscribers.state = 'confirmed' THEN 'confirmed' ELSE 'pending' END,
				inactive_since = CASE WHEN subscribers.state = 'confirmed' THEN NULL ELSE excluded.inactive_since END
			RETURNING id`, id, orgID, email, norm, lang, db.JSONList(topics), us).Scan(&id)
		if err != nil {
			return err
		}
		link := s.link(slug, "subscriptions/confirm", s.cfg.Keys.Token(purposeConfirm, join(orgID, id, strconv.FormatInt(us, 10))))
		var topicNames []string
		for _, t := range topics {
			topicNames = append(topicNames, i18n.T(lang, "topic."+t))
		}
		if _, err := s.cfg.Mail.Enqueue(ctx, tx, mail.Message{OrgID: orgID, To: email,
			Subject: i18n.T(lang, "subscribe.mail.subject", name),
			Text:    i18n.T(lang, "subscribe.mail.body", name, strings.Join(topicNames, ", "), link, int(ConfirmValidity/(24*time.Hour))),
		}); err != nil {
			return err
		}
		// The audit entry holds the address only as a commitment.
		return s.cfg.Audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "subscriber.request", Actor: audit.System("public"),
			TargetType: "subscriber", TargetID: id, Fields: map[string]any{"topics": topics, "lang": lang},
			Personal: map[string]string{"email": email}})
	}), "subscribe")
}

// PendingRequest describes a confirmation link before it is followed, for the page
// that asks the visitor to confirm with a button: mail scanners open links,
// and only a person should give consent.
type PendingRequest struct {
	Email  string
	Topics []string
}

// errLink is the answer to a link that is wrong, expired or replaced.
func errLink() error {
	return apperr.New(apperr.NotFound, "This link is not valid any more: it has expired, was replaced by a newer one, or was mistyped.")
}

// readConfirm checks a confirmation token and returns the subscriber it
// names, with its current row.
func (s *Service) readConfirm(ctx context.Context, q db.Querier, orgID, token string) (*Subscriber, error) {
	msg, ok := s.cfg.Keys.ReadToken(purposeConfirm, token)
	parts := strings.Split(msg, "|")
	if !ok || len(parts) != 3 || parts[0] != orgID {
		return nil, errLink()
	}
	requested, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return nil, errLink()
	}
	sub, err := get(ctx, q, orgID, parts[1])
	if err != nil {
		return nil, err
	}
	// A newer request replaces the link; an old one expires.
	if clock.Micros(sub.RequestedAt) != requested || s.cfg.Clock.Now().After(sub.RequestedAt.Add(ConfirmValidity)) {
		return nil, errLink()
	}
	return sub, nil
}

// PendingFor returns what a confirmation link would confirm.
func (s *Service) PendingFor(ctx context.Context, orgID, token string) (*PendingRequest, error) {
	sub, err := s.readConfirm(ctx, s.cfg.DB.Read, orgID, token)
	if err != nil {
		return nil, err
	}
	topics := sub.PendingTopics
	if len(topics) == 0 {
		topics = sub.Topics // confirmed already
	}
	return &PendingRequest{Email: sub.Email, Topics: topics}, nil
}

// Confirm follows a confirmation link: the subscriber's topics become the
// requested ones and the consent time is recorded. Following it twice is
// harmless.
func (s *Service) Confirm(ctx context.Context, orgID, token string) error {
	return apperr.Wrap(s.cfg.DB.InTx(ctx, func(tx *db.Tx) error {
		sub, err := s.readConfirm(ctx, tx, orgID, token)
		if err != nil {
			return err
		}
		if sub.State == Confirmed && len(sub.PendingTopics) == 0 {
			return nil
		}
		now := clock.Micros(s.cfg.Clock.Now())
		if _, err := tx.ExecContext(ctx, `UPDATE subscribers SET state = 'confirmed', topics = pending_topics, pending_topics = '[]',
			lang = pending_lang, consent_at = $3, inactive_since = NULL, updated_at = $3 WHERE org_id = $1 AND id = $2`, orgID, sub.ID, now); err != nil {
			return err
		}
		return s.cfg.Audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "subscriber.confirm", Actor: audit.System("public"),
			TargetType: "subscriber", TargetID: sub.ID, Fields: map[string]any{"topics": sub.PendingTopics}})
	}), "confirm subscription")
}

// CheckUnsubscribe tells whether token is an unsubscribe link of the
// organisation, before the page that follows it says whose it is.
func (s *Service) CheckUnsubscribe(orgID, token string) error {
	msg, ok := s.cfg.Keys.ReadToken(purposeUnsubscribe, token)
	if parts := strings.Split(msg, "|"); !ok || len(parts) != 2 || parts[0] != orgID {
		return errLink()
	}
	return nil
}

// Unsubscribe follows an unsubscribe link (a click, or a mail client's
// one-click POST): the subscriber gets nothing more. An address already
// unsubscribed, or forgotten since, gets the same answer.
func (s *Service) Unsubscribe(ctx context.Context, orgID, token string) error {
	msg, ok := s.cfg.Keys.ReadToken(purposeUnsubscribe, token)
	parts := strings.Split(msg, "|")
	if !ok || len(parts) != 2 || parts[0] != orgID {
		return errLink()
	}
	return apperr.Wrap(s.cfg.DB.InTx(ctx, func(tx *db.Tx) error {
		now := clock.Micros(s.cfg.Clock.Now())
		res, err := tx.ExecContext(ctx, `UPDATE subscribers SET state = 'unsubscribed', topics = '[]', pending_topics = '[]',
			consent_at = NULL, inactive_since = $3, updated_at = $3 WHERE org_id = $1 AND id = $2 AND state <> 'unsubscribed'`, orgID, parts[1], now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.cfg.Audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "subscriber.unsubscribe", Actor: audit.System("public"),
			TargetType: "subscriber", TargetID: parts[1]})
	}), "unsubscribe")
}

// ObjectionLink reads an objection token: the subscriber's address and the
// announcement (notice) it objects to.
func (s *Service) ObjectionLink(ctx context.Context, orgID, token string) (email, ref string, err error) {
	msg, ok := s.cfg.Keys.ReadToken(purposeObject, token)
	parts := strings.Split(msg, "|")
	if !ok || len(parts) != 3 || parts[0] != orgID {
		return "", "", errLink()
	}
	sub, err := get(ctx, s.cfg.DB.Read, orgID, parts[1])
	if err != nil {
		return "", "", err
	}
	return sub.Email, parts[2], nil
}

// Announce sends an announcement of topic to its confirmed subscribers,
// from a job enqueued in tx: the announcement goes out exactly when the
// change that makes it commits, and the transaction stays short however
// many subscribers there are.
func (s *Service) Announce(ctx context.Context, tx *db.Tx, orgID, topic, ref string) error {
	if !slices.Contains(Topics, topic) {
		return fmt.Errorf("announce: unknown topic %q", topic)
	}
	_, err := s.cfg.Queue.Enqueue(ctx, tx, announceKind, announcement{OrgID: orgID, Topic: topic, Ref: ref},
		job.EnqueueOptions{Slot: join(orgID, topic, ref)})
	return err
}

type announcement struct {
	OrgID string `json:"org_id"`
	Topic string `json:"topic"`
	Ref   string `json:"ref"`
}

type delivery struct {
	announcement
	SubscriberID string `json:"subscriber_id"`
}

// fanOut enqueues one sending job per confirmed subscriber of the topic.
// Each is unique per (announcement, subscriber), so a fan-out that fails
// half-way and runs again sends nobody the announcement twice.
func (s *Service) fanOut(ctx context.Context, j job.Job) error {
	var a announcement
	if err := j.Decode(&a); err != nil {
		return err
	}
	rows, err := s.cfg.DB.Read.QueryContext(ctx, `SELECT id, topics FROM subscribers WHERE org_id = $1 AND state = 'confirmed' ORDER BY id`, a.OrgID)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id, topics string
		if err := rows.Scan(&id, &topics); err != nil {
			rows.Close()
			return err
		}
		if slices.Contains(db.ParseJSONList(topics), a.Topic) {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for start := 0; start < len(ids); start += 200 {
		batch := ids[start:min(start+200, len(ids))]
		if err := s.cfg.DB.InTx(ctx, func(tx *db.Tx) error {
			for _, id := range batch {
				if _, err := s.cfg.Queue.Enqueue(ctx, tx, sendKind, delivery{announcement: a, SubscriberID: id},
					job.EnqueueOptions{Slot: join(a.OrgID, a.Topic, a.Ref, id)}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// sendOne writes the announcement to one subscriber, if still subscribed.
func (s *Service) sendOne(ctx context.Context, j job.Job) error {
	var d delivery
	if err := j.Decode(&d); err != nil {
		return err
	}
	s.mu.RLock()
	render := s.renderers[d.Topic]
	s.mu.RUnlock()
	if render == nil {
		return job.Permanent(fmt.Errorf("no renderer for topic %q", d.Topic))
	}
	return s.cfg.DB.InTx(ctx, func(tx *db.Tx) error {
		sub, err := get(ctx, tx, d.OrgID, d.SubscriberID)
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil // forgotten since
		}
		if err != nil {
			return err
		}
		if sub.State != Confirmed || !slices.Contains(sub.Topics, d.Topic) {
			return nil // unsubscribed since
		}
		_, slug, err := orgNames(ctx, tx, d.OrgID)
		if err != nil {
			return err
		}
		unsubscribe := s.UnsubscribeURL(slug, d.OrgID, sub.ID)
		to := Recipient{SubscriberID: sub.ID, Lang: sub.Lang, SiteURL: s.siteURL(slug), UnsubscribeURL: unsubscribe,
			ObjectURL: s.link(slug, "notices/"+d.Ref+"/object", s.cfg.Keys.Token(purposeObject, join(d.OrgID, sub.ID, d.Ref)))}
		subject, text, err := render(ctx, d.OrgID, d.Ref, to)
		if err != nil {
			return err
		}
		_, err = s.cfg.Mail.Enqueue(ctx, tx, mail.Message{OrgID: d.OrgID, To: sub.Email, Subject: subject, Text: text,
			Headers: map[string]string{
				"List-Unsubscribe":      "<" + unsubscribe + ">",
				"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
				"List-Id":               fmt.Sprintf("<%s.%s.evident>", d.Topic, slug),
			}})
		return err
	})
}

// UnsubscribeURL is the one-click unsubscribe link of a subscriber.
func (s *Service) UnsubscribeURL(slug, orgID, subscriberID string) string {
	return s.link(slug, "unsubscribe", s.cfg.Keys.Token(purposeUnsubscribe, join(orgID, subscriberID)))
}

func (s *Service) siteURL(slug string) string {
	return strings.TrimSuffix(s.cfg.BaseURL, "/") + "/t/" + slug + "/"
}

func (s *Service) link(slug, path, token string) string {
	return s.siteURL(slug) + path + "?t=" + token
}

// List returns the organisation's subscribers, newest first.
func (s *Service) List(ctx context.Context, orgID string) ([]Subscriber, error) {
	rows, err := s.cfg.DB.Read.QueryContext(ctx, `SELECT `+columns+` FROM subscribers WHERE org_id = $1 ORDER BY created_at DESC, id DESC`, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "list subscribers")
	}
	defer rows.Close()
	out := []Subscriber{}
	for rows.Next() {
		sub, err := scan(rows)
		if err != nil {
			return nil, apperr.Wrap(err, "list subscribers")
		}
		out = append(out, *sub)
	}
	return out, apperr.Wrap(rows.Err(), "list subscribers")
}

// Delete forgets a subscriber at once (an erasure request), with the
// objections sent from the address.
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	return apperr.Wrap(s.cfg.DB.InTx(ctx, func(tx *db.Tx) error {
		var email string
		err := tx.QueryRowContext(ctx, `DELETE FROM subscribers WHERE org_id = $1 AND id = $2 RETURNING email`, orgID, id).Scan(&email)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "no such subscriber")
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM objections WHERE org_id = $1 AND email_norm = $2`,
			orgID, identity.NormaliseEmail(email)); err != nil {
			return err
		}
		return s.cfg.Audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "subscriber.delete", TargetType: "subscriber", TargetID: id})
	}), "delete subscriber")
}

const columns = `id, email, lang, topics, pending_topics, state, requested_at, consent_at, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scan(r scanner) (*Subscriber, error) {
	var sub Subscriber
	var topics, pending string
	var requested, created, updated int64
	var consent sql.NullInt64
	if err := r.Scan(&sub.ID, &sub.Email, &sub.Lang, &topics, &pending, &sub.State, &requested, &consent, &created, &updated); err != nil {
		return nil, err
	}
	sub.Topics, sub.PendingTopics = db.ParseJSONList(topics), db.ParseJSONList(pending)
	sub.RequestedAt, sub.CreatedAt, sub.UpdatedAt = clock.FromMicros(requested), clock.FromMicros(created), clock.FromMicros(updated)
	if consent.Valid {
		t := clock.FromMicros(consent.Int64)
		sub.ConsentAt = &t
	}
	return &sub, nil
}

func get(ctx context.Context, q db.Querier, orgID, id string) (*Subscriber, error) {
	sub, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM subscribers WHERE org_id = $1 AND id = $2`, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errLink()
	}
	return sub, apperr.Wrap(err, "read subscriber")
}

func orgNames(ctx context.Context, q db.Querier, orgID string) (name, slug string, err error) {
	err = q.QueryRowContext(ctx, `SELECT name, slug FROM orgs WHERE id = $1`, orgID).Scan(&name, &slug)
	return name, slug, err
}

func join(parts ...string) string { return strings.Join(parts, "|") }
