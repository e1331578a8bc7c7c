package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/check"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/job"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/webhook"
)

var (
	ctx   = context.Background()
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
	start = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
)

// verify checks a delivery the way the specification tells a consumer to,
// written from its text rather than from the sender's code: the secret is
// the base64 after "whsec_"; the signed content is
// "{webhook-id}.{webhook-timestamp}.{body}"; webhook-signature is a
// space-separated list of "version,base64" of which one "v1" must match,
// compared in constant time; the timestamp must be within 5 minutes of now,
// against replays.
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return errors.New("the secret is not whsec_ and base64")
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	if id == "" || ts == "" || strings.Contains(id, ".") {
		return errors.New("webhook-id or webhook-timestamp missing or malformed")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("webhook-timestamp is not an integer")
	}
	if skew := now.Sub(time.Unix(sec, 0)); skew > 5*time.Minute || skew < -5*time.Minute {
		return fmt.Errorf("timestamp %s is %s off", ts, skew)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no v1 signature matches")
}

// The verifier accepts the test vector of the Standard Webhooks reference
// libraries, so a delivery it accepts is signed as the specification says.
func TestVerifierAgainstTheSpecificationVector(t *testing.T) {
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	secret, body, at := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", []byte(`{"test": 2432232314}`), time.Unix(1614265330, 0)
	if err := verify(secret, h, body, at); err != nil {
		t.Fatalf("the specification's vector: %v", err)
	}
	if err := verify(secret, h, []byte(`{"test": 2432232315}`), at); err == nil {
		t.Fatal("a changed body verified")
	}
}

type received struct {
	header http.Header
	body   []byte
	err    error // the verification's outcome
}

// receiver is a webhook receiver on 127.0.0.1 that verifies every request
// and answers 500 to the first fail verified ones, then status.
type receiver struct {
	clk    clock.Clock
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	fail   int
	status int
	got    []received
}

func newReceiver(t *testing.T, clk clock.Clock, fail, status int) *receiver {
	rc := &receiver{clk: clk, fail: fail, status: status}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		err := verify(rc.secret, r.Header, body, rc.clk.Now())
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, err: err})
		switch {
		case err != nil:
			http.Error(w, err.Error(), http.StatusUnauthorized)
		case rc.fail > 0:
			rc.fail--
			http.Error(w, "temporarily\ndown", http.StatusInternalServerError)
		default:
			w.WriteHeader(rc.status)
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func (rc *receiver) set(secret string, fail int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secret, rc.fail = secret, fail
}

type fixture struct {
	d           *db.DB
	clk         *clock.Settable
	q           *job.Queue
	s           *webhook.Service
	k           *keys.Keys
	acme, other string
}

func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewSettable(start)
	a := audit.New(d, clk, k)
	q := job.New(d, clk, quiet)
	guard := &check.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	s := webhook.NewService(d, clk, k, a, q, webhook.Config{Guard: guard, MaxAttempts: 4})
	orgs := org.NewService(d, clk, a)
	acme, err := orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := orgs.Create(ctx, org.CreateInput{Slug: "other", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{d: d, clk: clk, q: q, s: s, k: k, acme: acme.ID, other: other.ID}
}

// runDue runs every job that is due now.
func (f *fixture) runDue(t *testing.T) {
	t.Helper()
	for {
		ran, err := f.q.RunOne(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			return
		}
	}
}

// drive runs the queue through every backoff: each round runs what is due,
// then moves an hour on, the longest backoff there is.
func (f *fixture) drive(t *testing.T, rounds int) {
	t.Helper()
	for range rounds {
		f.runDue(t)
		f.clk.Advance(time.Hour)
	}
}

func (f *fixture) create(t *testing.T, orgID, url string, active bool) (*webhook.Endpoint, string) {
	t.Helper()
	e, secret, err := f.s.Create(ctx, orgID, webhook.Input{URL: url, Description: "Receiver", Topics: []string{"subprocessors"}, Active: active})
	if err != nil {
		t.Fatal(err)
	}
	return e, secret
}

func (f *fixture) deliveries(t *testing.T, endpointID string) []webhook.Message {
	t.Helper()
	list, err := f.s.Deliveries(ctx, f.acme, endpointID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func statuses(m webhook.Message) []int {
	var out []int
	for _, a := range m.Log {
		out = append(out, a.Status)
	}
	return out
}

func publish(t *testing.T, f *fixture, orgID string, data any) {
	t.Helper()
	if err := f.d.InTx(ctx, func(tx *db.Tx) error {
		return f.s.Publish(ctx, tx, orgID, "subprocessors", "subprocessor.notice.created", data)
	}); err != nil {
		t.Fatal(err)
	}
}

// A receiver that fails twice gets the same signed message three times and
// it is delivered; one that always fails gets it MaxAttempts times and it is
// dead, until redelivered; paused endpoints and other organisations get
// nothing; a tampered body does not verify.
func TestDeliveryRetriesAndSignatures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		flaky := newReceiver(t, f.clk, 2, http.StatusNoContent)
		down := newReceiver(t, f.clk, 1<<30, http.StatusOK)
		elsewhere := newReceiver(t, f.clk, 0, http.StatusOK)

		epA, secretA := f.create(t, f.acme, flaky.srv.URL+"/hooks?source=evident", true)
		flaky.set(secretA, 2)
		epB, secretB := f.create(t, f.acme, down.srv.URL, true)
		down.set(secretB, 1<<30)
		f.create(t, f.acme, elsewhere.srv.URL+"/paused", false)
		_, secretOther := f.create(t, f.other, elsewhere.srv.URL+"/other", true)
		elsewhere.set(secretOther, 0)
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secretA, "whsec_")); err != nil || len(raw) != 32 ||
			!strings.HasPrefix(secretA, "whsec_") || secretA == secretB {
			t.Fatalf("secret %q: want whsec_ and the base64 of 32 bytes, one per endpoint", secretA)
		}

		// A publication in a transaction that rolls back sends nothing.
		rollback := errors.New("the caller's change failed")
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := f.s.Publish(ctx, tx, f.acme, "subprocessors", "subprocessor.notice.created", nil); err != nil {
				return err
			}
			return rollback
		}); !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		data := map[string]any{"notice_id": "n1", "subprocessor": "Cloud Host SAS", "effective_on": "2026-12-23"}
		publish(t, f, f.acme, data)
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			return f.s.Publish(ctx, tx, f.acme, "incidents", "incident.created", nil)
		}); err == nil {
			t.Fatal("published to a topic that does not exist")
		}

		f.drive(t, 8)

		got := flaky.requests()
		if len(got) != 3 {
			t.Fatalf("the flaky receiver saw %d requests, want 3", len(got))
		}
		id := got[0].header.Get("webhook-id")
		for i, r := range got {
			if r.err != nil {
				t.Errorf("request %d does not verify: %v", i+1, r.err)
			}
			if r.header.Get("webhook-id") != id || string(r.body) != string(got[0].body) {
				t.Errorf("request %d: id %q, want the same message %q with the same body", i+1, r.header.Get("webhook-id"), id)
			}
			if r.header.Get("Content-Type") != "application/json" || !strings.Contains(r.header.Get("User-Agent"), "Evident") {
				t.Errorf("request %d: headers %v", i+1, r.header)
			}
		}
		var env struct {
			Type      string         `json:"type"`
			Timestamp string         `json:"timestamp"`
			Data      map[string]any `json:"data"`
		}
		if err := json.Unmarshal(got[0].body, &env); err != nil || env.Type != "subprocessor.notice.created" ||
			env.Data["subprocessor"] != "Cloud Host SAS" || !strings.HasPrefix(id, "msg_") {
			t.Fatalf("payload %s (%v), id %q", got[0].body, err, id)
		}
		if ts, err := time.Parse(time.RFC3339, env.Timestamp); err != nil || !ts.Equal(start) {
			t.Errorf("event timestamp %q: want the time of the event, %s", env.Timestamp, start.Format(time.RFC3339))
		}

		list := f.deliveries(t, epA.ID)
		if len(list) != 1 || list[0].ID != id || list[0].State != webhook.Delivered || list[0].Attempts != 3 ||
			fmt.Sprint(statuses(list[0])) != "[500 500 204]" {
			t.Fatalf("delivery log of the flaky endpoint: %+v", list)
		}
		if first := list[0].Log[0]; first.Attempt != 1 || !strings.Contains(first.Error, "HTTP 500: temporarily down") || list[0].Log[2].Error != "" {
			t.Errorf("attempt errors: %+v", list[0].Log)
		}

		dead := f.deliveries(t, epB.ID)
		if len(dead) != 1 || dead[0].State != webhook.Dead || dead[0].Attempts != 4 || len(dead[0].Log) != 4 || len(down.requests()) != 4 {
			t.Fatalf("the failing endpoint after 4 attempts: %+v, %d requests", dead, len(down.requests()))
		}
		if n := len(elsewhere.requests()); n != 0 {
			t.Fatalf("a paused endpoint or another organisation's got %d requests", n)
		}

		// The verifier is not a formality: a changed body, an old
		// timestamp or another secret fail it.
		last := got[2]
		sent, _ := strconv.ParseInt(last.header.Get("webhook-timestamp"), 10, 64)
		at := time.Unix(sent, 0)
		if err := verify(secretA, last.header, last.body, at); err != nil {
			t.Fatalf("the genuine request: %v", err)
		}
		tampered := []byte(strings.Replace(string(last.body), "Cloud Host SAS", "Cheap Host Ltd", 1))
		if err := verify(secretA, last.header, tampered, at); err == nil {
			t.Error("a tampered body verified")
		}
		if err := verify(secretA, last.header, last.body, at.Add(6*time.Minute)); err == nil {
			t.Error("a request 6 minutes old verified")
		}
		if err := verify(secretB, last.header, last.body, at); err == nil {
			t.Error("another endpoint's secret verified")
		}

		// Redelivery: only of dead messages, only in their organisation.
		if _, err := f.s.Redeliver(ctx, f.acme, id); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("redeliver a delivered message: %v", err)
		}
		if _, err := f.s.Redeliver(ctx, f.other, dead[0].ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("redeliver another organisation's message: %v", err)
		}
		down.set(secretB, 0)
		m, err := f.s.Redeliver(ctx, f.acme, dead[0].ID)
		if err != nil || m.State != webhook.Queued {
			t.Fatalf("redeliver: %+v %v", m, err)
		}
		f.drive(t, 1)
		again := f.deliveries(t, epB.ID)
		if again[0].State != webhook.Delivered || again[0].Attempts != 5 || again[0].Log[4].Attempt != 5 || again[0].Log[4].Status != 200 {
			t.Fatalf("after redelivery: %+v", again[0])
		}
		if r := down.requests(); r[4].header.Get("webhook-id") != dead[0].ID || r[4].err != nil {
			t.Fatalf("the redelivered request: id %q, %v", r[4].header.Get("webhook-id"), r[4].err)
		}

		// A message left queued by a job that died on its last attempt can
		// be delivered again once no retry could still be pending.
		stuck := func(age time.Duration) error {
			if _, err := d.Write.ExecContext(ctx, `UPDATE webhook_messages SET state = 'queued', updated_at = $1 WHERE id = $2`,
				clock.Micros(f.clk.Now().Add(-age)), id); err != nil {
				t.Fatal(err)
			}
			_, err := f.s.Redeliver(ctx, f.acme, id)
			return err
		}
		if err := stuck(30 * time.Minute); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("redeliver a message that may still be retried: %v", err)
		}
		if err := stuck(webhook.AbandonedAfter + time.Minute); err != nil {
			t.Errorf("redeliver an abandoned message: %v", err)
		}
		f.drive(t, 1)

		// Retention forgets messages and attempts after 30 days.
		f.clk.Advance(31 * 24 * time.Hour)
		if _, err := d.ApplyRetention(ctx, f.clk.Now()); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"webhook_messages", "webhook_attempts"} {
			var n int
			if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s after retention: %d rows (%v)", table, n, err)
			}
		}
	})
}

// Redirects are failures and are not followed, wherever they point; the
// guard refuses addresses the operator did not allow; 410 Gone pauses the
// endpoint; a deleted endpoint's queued messages die unsent.
func TestDeliveryFailures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		var targetHits int
		var mu sync.Mutex
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			targetHits++
			mu.Unlock()
		}))
		t.Cleanup(target.Close)
		hits := func() int {
			mu.Lock()
			defer mu.Unlock()
			return targetHits
		}
		redirect := func(to string) *httptest.Server {
			srv := httptest.NewServer(http.RedirectHandler(to, http.StatusTemporaryRedirect))
			t.Cleanup(srv.Close)
			return srv
		}
		toAllowed, _ := f.create(t, f.acme, redirect(target.URL).URL, true)
		toMetadata, _ := f.create(t, f.acme, redirect("http://169.254.169.254/latest/meta-data/").URL, true)
		_, port, _ := strings.Cut(strings.TrimPrefix(target.URL, "http://"), ":")
		refused, _ := f.create(t, f.acme, "http://127.0.0.2:"+port+"/", true)
		gone := newReceiver(t, f.clk, 0, http.StatusGone)
		goneEp, goneSecret := f.create(t, f.acme, gone.srv.URL, true)
		gone.set(goneSecret, 0)

		for _, e := range []*webhook.Endpoint{toAllowed, toMetadata, refused, goneEp} {
			if _, err := f.s.SendTest(ctx, f.acme, e.ID); err != nil {
				t.Fatal(err)
			}
		}
		f.runDue(t)

		if hits() != 0 {
			t.Fatalf("a redirect was followed: its target was hit %d times", hits())
		}
		for _, e := range []*webhook.Endpoint{toAllowed, toMetadata} {
			m := f.deliveries(t, e.ID)[0]
			if m.State != webhook.Queued || fmt.Sprint(statuses(m)) != "[307]" || !strings.Contains(m.Log[0].Error, "redirects are not followed") {
				t.Errorf("redirecting endpoint %s: %+v", e.URL, m)
			}
		}
		m := f.deliveries(t, refused.ID)[0]
		if m.State != webhook.Queued || m.Log[0].Status != 0 || !strings.Contains(m.Log[0].Error, "refused to connect to 127.0.0.2") {
			t.Errorf("an address the guard refuses: %+v", m.Log)
		}
		m = f.deliveries(t, goneEp.ID)[0]
		if m.State != webhook.Dead || m.Attempts != 1 || m.EventType != webhook.TestEventType || len(gone.requests()) != 1 || gone.requests()[0].err != nil {
			t.Errorf("410 Gone: %+v", m)
		}
		if e, err := f.s.Get(ctx, f.acme, goneEp.ID); err != nil || e.Active {
			t.Errorf("after 410 Gone the endpoint is still active: %+v %v", e, err)
		}
		var paused int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'webhook.pause' AND target = $1`, goneEp.ID).Scan(&paused); err != nil || paused != 1 {
			t.Errorf("the pause after 410 is not audited: %d %v", paused, err)
		}
		if _, err := f.s.SendTest(ctx, f.acme, goneEp.ID); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("a test event to a paused endpoint: %v", err)
		}

		// Deleting an endpoint erases its secret; its queued retry dies unsent.
		if err := f.s.Delete(ctx, f.acme, toAllowed.ID); err != nil {
			t.Fatal(err)
		}
		f.drive(t, 2)
		var state, sealed, lastErr string
		if err := d.Read.QueryRowContext(ctx, `SELECT m.state, e.secret_sealed, a.error FROM webhook_messages m
			JOIN webhook_endpoints e ON e.id = m.endpoint_id JOIN webhook_attempts a ON a.message_id = m.id AND a.attempt = m.attempts
			WHERE e.id = $1`, toAllowed.ID).Scan(&state, &sealed, &lastErr); err != nil {
			t.Fatal(err)
		}
		if state != webhook.Dead || sealed != "" || !strings.Contains(lastErr, "deleted") || hits() != 0 {
			t.Fatalf("deleted endpoint: message %s, secret %q, last error %q, target hits %d", state, sealed, lastErr, hits())
		}
		if _, err := f.s.Deliveries(ctx, f.acme, toAllowed.ID, 10); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("the log of a deleted endpoint: %v", err)
		}
	})
}

// Endpoints: validation at the boundary, one organisation's endpoints out
// of another's reach, secrets sealed at rest, never listed nor audited,
// rotated on demand and re-encrypted with the keys.
func TestEndpoints(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		for name, in := range map[string]webhook.Input{
			"no URL":           {Topics: []string{"subprocessors"}},
			"ftp":              {URL: "ftp://example.com/x", Topics: []string{"subprocessors"}},
			"javascript":       {URL: "javascript:alert(1)", Topics: []string{"subprocessors"}},
			"user info":        {URL: "https://user:pass@example.com/x", Topics: []string{"subprocessors"}},
			"fragment":         {URL: "https://example.com/x#part", Topics: []string{"subprocessors"}},
			"relative":         {URL: "/hooks", Topics: []string{"subprocessors"}},
			"space":            {URL: "https://example.com/a b", Topics: []string{"subprocessors"}},
			"too long":         {URL: "https://example.com/" + strings.Repeat("a", 2040), Topics: []string{"subprocessors"}},
			"unknown topic":    {URL: "https://example.com/x", Topics: []string{"incidents"}},
			"no topic":         {URL: "https://example.com/x"},
			"two-line text":    {URL: "https://example.com/x", Topics: []string{"subprocessors"}, Description: "a\nb"},
			"long description": {URL: "https://example.com/x", Topics: []string{"subprocessors"}, Description: strings.Repeat("é", 201)},
		} {
			if _, _, err := f.s.Create(ctx, f.acme, in); apperr.CodeOf(err) != apperr.Invalid || apperr.FieldOf(err) == "" {
				t.Errorf("%s: %v", name, err)
			}
		}
		e, secret, err := f.s.Create(ctx, f.acme, webhook.Input{URL: " http://hooks.example.com:8443/in?token=abc ",
			Description: "  CRM  ", Topics: []string{"subprocessors", "subprocessors"}, Active: true})
		if err != nil || e.URL != "http://hooks.example.com:8443/in?token=abc" || e.Description != "CRM" || fmt.Sprint(e.Topics) != "[subprocessors]" {
			t.Fatalf("create: %+v %v", e, err)
		}

		// Another organisation sees and changes nothing of it.
		valid := webhook.Input{URL: "https://example.com/x", Topics: []string{"subprocessors"}, Active: true}
		if _, err := f.s.Get(ctx, f.other, e.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("get from another organisation: %v", err)
		}
		if _, err := f.s.Update(ctx, f.other, e.ID, valid); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("update from another organisation: %v", err)
		}
		if _, _, err := f.s.RotateSecret(ctx, f.other, e.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("rotate from another organisation: %v", err)
		}
		if _, err := f.s.SendTest(ctx, f.other, e.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("test from another organisation: %v", err)
		}
		if _, err := f.s.Deliveries(ctx, f.other, e.ID, 10); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("deliveries from another organisation: %v", err)
		}
		if err := f.s.Delete(ctx, f.other, e.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("delete from another organisation: %v", err)
		}
		if list, _ := f.s.List(ctx, f.other); len(list) != 0 {
			t.Errorf("another organisation lists %d endpoints", len(list))
		}

		// The secret is sealed at rest, absent from reads and from the audit log.
		b64 := strings.TrimPrefix(secret, "whsec_")
		var sealed string
		if err := d.Read.QueryRowContext(ctx, `SELECT secret_sealed FROM webhook_endpoints WHERE id = $1`, e.ID).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(b64)
		if !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, b64) || strings.Contains(sealed, string(raw)) {
			t.Fatalf("secret_sealed %q holds the secret in clear", sealed)
		}
		if opened, err := f.k.Open(sealed, []byte("webhook_endpoints.secret_sealed:"+e.ID)); err != nil || string(opened) != string(raw) {
			t.Fatalf("the sealed secret does not open to the secret: %v", err)
		}
		list, _ := f.s.List(ctx, f.acme)
		read, _ := json.Marshal(list)
		if len(list) != 1 || strings.Contains(string(read), b64) || strings.Contains(string(read), "whsec_") {
			t.Fatalf("list: %s", read)
		}

		rotated, newSecret, err := f.s.RotateSecret(ctx, f.acme, e.ID)
		if err != nil || newSecret == secret || !strings.HasPrefix(newSecret, "whsec_") || rotated.ID != e.ID {
			t.Fatalf("rotate: %q %v", newSecret, err)
		}
		if _, err := f.s.Update(ctx, f.acme, e.ID, webhook.Input{URL: "https://hooks.example.com/v2", Topics: []string{"subprocessors"}}); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.s.Get(ctx, f.acme, e.ID); got.Active || got.URL != "https://hooks.example.com/v2" {
			t.Fatalf("after update: %+v", got)
		}
		rows, err := d.Read.QueryContext(ctx, `SELECT action, fields FROM audit_events WHERE org_id = $1 AND action LIKE 'webhook.%' ORDER BY seq`, f.acme)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for rows.Next() {
			var action, fields string
			if err := rows.Scan(&action, &fields); err != nil {
				t.Fatal(err)
			}
			actions = append(actions, action)
			for _, s := range []string{b64, strings.TrimPrefix(newSecret, "whsec_"), "token=abc"} {
				if strings.Contains(fields, s) {
					t.Errorf("audit entry %s holds %q: %s", action, s, fields)
				}
			}
		}
		rows.Close()
		if fmt.Sprint(actions) != "[webhook.create webhook.rotate_secret webhook.update]" {
			t.Errorf("audited actions %v", actions)
		}

		// Key rotation re-encrypts the sealed secrets.
		if !slices.ContainsFunc(keys.Encrypted, func(c keys.EncryptedColumn) bool {
			return c.Table == "webhook_endpoints" && c.Column == "secret_sealed"
		}) {
			t.Fatal("webhook_endpoints.secret_sealed is not in keys.Encrypted")
		}
		f.k.Secret = f.k.Secret.WithNew()
		if n, err := f.k.Reencrypt(ctx, d, keys.Encrypted); err != nil || n != 1 {
			t.Fatalf("re-encrypt: %d %v", n, err)
		}
	})
}
