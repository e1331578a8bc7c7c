// Package webhook sends an organisation's events to the endpoints its admins
// register, following the Standard Webhooks specification
// (https://www.standardwebhooks.com): a JSON body {type, timestamp, data},
// the headers webhook-id, webhook-timestamp and webhook-signature, an
// HMAC-SHA256 signature under a per-endpoint "whsec_" secret.
//
// Publish writes one message per subscribed endpoint in the caller's
// transaction and enqueues the job that delivers it, so an event is sent
// exactly when the change behind it commits. Deliveries go through the
// guarded dialer (check.Guard) like every request to a user-chosen address,
// are retried by the job queue with its backoff, and every attempt is kept in
// a delivery log for 30 days.
package webhook

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/check"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/job"
	"github.com/evident-isms/evident/internal/keys"
)

// Topics are what an endpoint may subscribe to. Each topic groups event
// types: "subprocessors" carries the change notices of subprocessors
// (subprocessor.notice.created). New topics are added here.
var Topics = []string{"subprocessors"}

// TestEventType is the type of the event the console's test button sends.
const TestEventType = "webhook.test"

// SecretPrefix marks a Standard Webhooks symmetric secret.
const SecretPrefix = "whsec_"

// secretSize is the number of random bytes of a signing secret; the
// specification asks for 24 to 64.
const secretSize = 32

// States of a message.
const (
	Queued    = "queued"
	Delivered = "delivered"
	Dead      = "dead"
)

// secretColumn holds each endpoint's signing secret, sealed under the
// instance's secret key and bound to the endpoint's id.
var secretColumn = keys.EncryptedColumn{Table: "webhook_endpoints", ID: "id", Column: "secret_sealed"}

func init() { keys.Encrypted = append(keys.Encrypted, secretColumn) }

// Endpoint is one receiver of an organisation's events. Its secret is never
// part of it: it is shown once, when created or rotated.
type Endpoint struct {
	ID          string    `json:"id"`
	URL         string    `json:"url"`
	Description string    `json:"description"`
	Topics      []string  `json:"topics"`
	Active      bool      `json:"active" doc:"A paused endpoint receives nothing."`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Input is what an admin sets on an endpoint.
type Input struct {
	URL         string
	Description string
	Topics      []string
	Active      bool
}

func (in *Input) validate() error {
	in.URL = strings.TrimSpace(in.URL)
	in.Description = strings.TrimSpace(in.Description)
	if err := checkURL(in.URL); err != nil {
		return err
	}
	if utf8.RuneCountInString(in.Description) > 200 || !utf8.ValidString(in.Description) ||
		strings.IndexFunc(in.Description, unicode.IsControl) >= 0 {
		return apperr.Field("description", "the description is one line of at most 200 characters")
	}
	topics := []string{}
	for _, t := range in.Topics {
		t = strings.TrimSpace(t)
		if t == "" || slices.Contains(topics, t) {
			continue
		}
		if !slices.Contains(Topics, t) {
			return apperr.Field("topics", "%q is not a topic; topics are %s", t, strings.Join(Topics, ", "))
		}
		topics = append(topics, t)
	}
	if len(topics) == 0 {
		return apperr.Field("topics", "choose at least one topic: %s", strings.Join(Topics, ", "))
	}
	sort.Strings(topics)
	in.Topics = topics
	return nil
}

// checkURL accepts absolute http and https URLs. Which addresses they may
// reach is decided when connecting, by the guard, on the resolved address.
func checkURL(v string) error {
	bad := apperr.Field("url", "the URL must be an absolute http:// or https:// URL of at most 2,048 characters, without user name, password or #fragment")
	if v == "" || len(v) > 2048 || strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return bad
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
		u.Fragment != "" || strings.Contains(v, "#") || u.Opaque != "" {
		return bad
	}
	return nil
}

// origin is the scheme, host and port of a URL. Audit entries keep only it:
// the path and query of a webhook URL often carry the receiver's own
// credentials, and the audit chain cannot forget what it was given.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Config are the operator's settings for deliveries.
type Config struct {
	// Guard decides which addresses deliveries may reach (the operator's
	// --check-allow exceptions).
	Guard *check.Guard
	// MaxAttempts is how many times a message is tried before it is dead.
	MaxAttempts int
}

// DeliveryTimeout bounds one delivery attempt, answer included; the
// specification recommends 15 to 30 seconds.
const DeliveryTimeout = 15 * time.Second

// Service manages endpoints and sends messages to them.
type Service struct {
	db     *db.DB
	clock  clock.Clock
	keys   *keys.Keys
	audit  *audit.Log
	queue  *job.Queue
	client *http.Client
}

const deliverKind = "webhook.deliver"

// NewService returns the webhook service and registers its delivery job on q.
func NewService(d *db.DB, c clock.Clock, k *keys.Keys, a *audit.Log, q *job.Queue, cfg Config) *Service {
	client := cfg.Guard.HTTPClient(DeliveryTimeout)
	// A receiver that moved says so with a redirect; following it would send
	// the signed event to an address the admin never registered. The
	// specification counts a 3xx as a failure: the URL is to be updated.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s := &Service{db: d, clock: c, keys: k, audit: a, queue: q, client: client}
	// The lease covers the request's timeout with room for writing the log.
	q.Register(deliverKind, job.Kind{Handler: s.deliver, MaxAttempts: cfg.MaxAttempts, Lease: 4 * DeliveryTimeout})
	return s
}

// newSecret returns fresh secret bytes and their Standard Webhooks form.
func newSecret() ([]byte, string) {
	b := make([]byte, secretSize)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return b, SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

func fields(in *Input) map[string]any {
	return map[string]any{"url_origin": origin(in.URL), "description": in.Description, "topics": in.Topics, "active": in.Active}
}

// Create adds an endpoint and returns it with its signing secret, which is
// shown this once and stored only sealed.
func (s *Service) Create(ctx context.Context, orgID string, in Input) (*Endpoint, string, error) {
	if err := in.validate(); err != nil {
		return nil, "", err
	}
	now := s.clock.Now()
	e := &Endpoint{ID: db.NewID(now), URL: in.URL, Description: in.Description, Topics: in.Topics, Active: in.Active,
		CreatedAt: now, UpdatedAt: now}
	raw, secret := newSecret()
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (id, org_id, url, description, topics, secret_sealed, active,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			e.ID, orgID, e.URL, e.Description, db.JSONList(e.Topics), s.keys.Seal(raw, secretColumn.AAD(e.ID)), e.Active,
			clock.Micros(now)); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "webhook.create", TargetType: "webhook_endpoint",
			TargetID: e.ID, Fields: fields(&in)})
	})
	if err != nil {
		return nil, "", apperr.Wrap(err, "create webhook endpoint")
	}
	return e, secret, nil
}

// Update replaces an endpoint's settings; its secret stays.
func (s *Service) Update(ctx context.Context, orgID, id string, in Input) (*Endpoint, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET url = $3, description = $4, topics = $5, active = $6, updated_at = $7
			WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
			orgID, id, in.URL, in.Description, db.JSONList(in.Topics), in.Active, clock.Micros(s.clock.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNoEndpoint
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "webhook.update", TargetType: "webhook_endpoint",
			TargetID: id, Fields: fields(&in)})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "update webhook endpoint")
	}
	return s.Get(ctx, orgID, id)
}

var errNoEndpoint = apperr.New(apperr.NotFound, "no such webhook endpoint")

// RotateSecret replaces an endpoint's signing secret and returns the new
// one, shown this once. Messages sent from now on, retries included, are
// signed with it.
func (s *Service) RotateSecret(ctx context.Context, orgID, id string) (*Endpoint, string, error) {
	raw, secret := newSecret()
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET secret_sealed = $3, updated_at = $4
			WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
			orgID, id, s.keys.Seal(raw, secretColumn.AAD(id)), clock.Micros(s.clock.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNoEndpoint
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "webhook.rotate_secret", TargetType: "webhook_endpoint", TargetID: id})
	})
	if err != nil {
		return nil, "", apperr.Wrap(err, "rotate webhook secret")
	}
	e, err := s.Get(ctx, orgID, id)
	if err != nil {
		return nil, "", err
	}
	return e, secret, nil
}

// Delete removes an endpoint. Its row stays for the delivery log, but its
// secret is erased: nothing will be signed with it again.
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		now := clock.Micros(s.clock.Now())
		res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET deleted_at = $3, updated_at = $3, active = FALSE, secret_sealed = ''
			WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, orgID, id, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNoEndpoint
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "webhook.delete", TargetType: "webhook_endpoint", TargetID: id})
	}), "delete webhook endpoint")
}

const endpointColumns = `id, url, description, topics, active, created_at, updated_at`

func scanEndpoint(sc interface{ Scan(...any) error }) (Endpoint, error) {
	var e Endpoint
	var topics string
	var created, updated int64
	if err := sc.Scan(&e.ID, &e.URL, &e.Description, &topics, &e.Active, &created, &updated); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(topics), &e.Topics); err != nil {
		return e, err
	}
	e.CreatedAt, e.UpdatedAt = clock.FromMicros(created), clock.FromMicros(updated)
	return e, nil
}

// Get returns one endpoint of the organisation.
func (s *Service) Get(ctx context.Context, orgID, id string) (*Endpoint, error) {
	e, err := scanEndpoint(s.db.Read.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoEndpoint
	}
	if err != nil {
		return nil, apperr.Wrap(err, "read webhook endpoint")
	}
	return &e, nil
}

// List returns the organisation's endpoints, oldest first.
func (s *Service) List(ctx context.Context, orgID string) ([]Endpoint, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE org_id = $1 AND deleted_at IS NULL ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "list webhook endpoints")
	}
	defer rows.Close()
	out := []Endpoint{}
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, apperr.Wrap(err, "list webhook endpoints")
		}
		out = append(out, e)
	}
	return out, apperr.Wrap(rows.Err(), "list webhook endpoints")
}
