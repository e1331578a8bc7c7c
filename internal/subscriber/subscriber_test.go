package subscriber

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/job"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/mail"
	"github.com/evident-isms/evident/internal/org"
)

type fixture struct {
	s     *Service
	clk   *clock.Settable
	mail  *mail.Mailer
	queue *job.Queue
	d     *db.DB
	acme  *org.Org
	other *org.Org
}

func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewSettable(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	q := job.New(d, clk, log)
	m := mail.New(d, clk, q, mail.Config{}, log) // no SMTP: messages are held, and readable
	a := audit.New(d, clk, k)
	ids := identity.NewService(d, clk, k, m, a, "https://trust.example")
	s := New(Config{DB: d, Clock: clk, Audit: a, Keys: k, Mail: m, Queue: q, Limiter: ids.Limiter, BaseURL: "https://trust.example", Log: log})
	orgs := org.NewService(d, clk, a)
	acme, err := orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := orgs.Create(ctx, org.CreateInput{Slug: "other", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, clk: clk, mail: m, queue: q, d: d, acme: acme, other: other}
}

var tokenIn = regexp.MustCompile(`\?t=([A-Za-z0-9_.-]+)`)

// lastToken returns the token of the newest message's first link.
func (f *fixture) lastToken(t *testing.T) string {
	t.Helper()
	msgs, err := f.mail.List(context.Background(), "", 1)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("no message: %v", err)
	}
	m := tokenIn.FindStringSubmatch(msgs[0].Text)
	if m == nil {
		t.Fatalf("no link in %q", msgs[0].Text)
	}
	tok, _ := url.QueryUnescape(m[1])
	return tok
}

func client(ip string) identity.Client { return identity.Client{IP: netip.MustParseAddr(ip)} }

func TestDoubleOptIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setup(t, d)
		req := Request{Email: " CTO@Customer.example ", Lang: "fr", Topics: []string{"subprocessors"}, Client: client("192.0.2.1")}
		if err := f.s.Subscribe(ctx, f.acme.ID, req); err != nil {
			t.Fatal(err)
		}
		list, _ := f.s.List(ctx, f.acme.ID)
		if len(list) != 1 || list[0].State != Pending || list[0].Lang != "fr" || len(list[0].Topics) != 0 ||
			strings.Join(list[0].PendingTopics, ",") != "subprocessors" || list[0].ConsentAt != nil {
			t.Fatalf("after the form: %+v", list)
		}
		first := f.lastToken(t)

		// A newer request replaces the link: the first one no longer works.
		f.clk.Advance(time.Minute)
		if err := f.s.Subscribe(ctx, f.acme.ID, req); err != nil {
			t.Fatal(err)
		}
		second := f.lastToken(t)
		if err := f.s.Confirm(ctx, f.acme.ID, first); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("a replaced link: %v", err)
		}
		// A link works only for its organisation, and only as a confirmation.
		if err := f.s.Confirm(ctx, f.other.ID, second); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("a link of another organisation: %v", err)
		}
		if err := f.s.Unsubscribe(ctx, f.acme.ID, second); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("a confirmation link used to unsubscribe: %v", err)
		}
		p, err := f.s.PendingFor(ctx, f.acme.ID, second)
		if err != nil || p.Email != "CTO@Customer.example" || len(p.Topics) != 1 {
			t.Fatalf("pending: %+v %v", p, err)
		}
		if err := f.s.Confirm(ctx, f.acme.ID, second); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Confirm(ctx, f.acme.ID, second); err != nil {
			t.Fatalf("confirming twice: %v", err)
		}
		list, _ = f.s.List(ctx, f.acme.ID)
		if list[0].State != Confirmed || list[0].ConsentAt == nil || !list[0].ConsentAt.Equal(f.clk.Now()) ||
			strings.Join(list[0].Topics, ",") != "subprocessors" || len(list[0].PendingTopics) != 0 {
			t.Fatalf("after confirming: %+v", list[0])
		}
		// Whoever fills in the form again changes nothing of a confirmed
		// subscription until the new link is followed.
		consent := *list[0].ConsentAt
		f.clk.Advance(time.Minute)
		if err := f.s.Subscribe(ctx, f.acme.ID, Request{Email: "cto@customer.example", Lang: "en", Topics: Topics, Client: client("192.0.2.9")}); err != nil {
			t.Fatal(err)
		}
		list, _ = f.s.List(ctx, f.acme.ID)
		if list[0].State != Confirmed || list[0].Lang != "fr" || list[0].Email != "CTO@Customer.example" || !list[0].ConsentAt.Equal(consent) {
			t.Fatalf("a stranger's request changed the subscription: %+v", list[0])
		}
		if err := f.s.Confirm(ctx, f.acme.ID, f.lastToken(t)); err != nil {
			t.Fatal(err)
		}
		if list, _ = f.s.List(ctx, f.acme.ID); list[0].Lang != "en" || list[0].ConsentAt.Equal(consent) {
			t.Fatalf("the owner's confirmation did not apply the language: %+v", list[0])
		}

		// An expired link does not confirm.
		f.clk.Advance(time.Minute)
		if err := f.s.Subscribe(ctx, f.acme.ID, Request{Email: "late@customer.example", Topics: Topics, Client: client("192.0.2.2")}); err != nil {
			t.Fatal(err)
		}
		late := f.lastToken(t)
		f.clk.Advance(ConfirmValidity + time.Second)
		if err := f.s.Confirm(ctx, f.acme.ID, late); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("an expired link: %v", err)
		}

		// Bad input is the visitor's mistake.
		for name, r := range map[string]Request{
			"no address":    {Email: "nobody", Topics: Topics},
			"no topic":      {Email: "a@b.example"},
			"unknown topic": {Email: "a@b.example", Topics: []string{"everything"}},
		} {
			if err := f.s.Subscribe(ctx, f.acme.ID, r); apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("%s: %v", name, err)
			}
		}

		// Unsubscribing stops everything, twice is harmless, and the
		// address is forgotten 30 days later while the consent of others stays.
		sub := list[0]
		u, _ := url.Parse(f.s.UnsubscribeURL("acme", f.acme.ID, sub.ID))
		tok := u.Query().Get("t")
		if err := f.s.Unsubscribe(ctx, f.other.ID, tok); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("unsubscribe link of another organisation: %v", err)
		}
		for i := 0; i < 2; i++ {
			if err := f.s.Unsubscribe(ctx, f.acme.ID, tok); err != nil {
				t.Fatal(err)
			}
		}
		after, _ := f.s.List(ctx, f.acme.ID)
		states := map[string]string{}
		for _, s := range after {
			states[s.Email] = s.State
		}
		if states["CTO@Customer.example"] != Unsubscribed || states["late@customer.example"] != Pending {
			t.Fatalf("states: %v", states)
		}
		for _, s := range after {
			if s.ConsentAt != nil {
				t.Fatalf("%s (%s) still shows a consent", s.Email, s.State)
			}
		}
		f.clk.Advance(31 * 24 * time.Hour)
		if _, err := d.ApplyRetention(ctx, f.clk.Now()); err != nil {
			t.Fatal(err)
		}
		if left, _ := f.s.List(ctx, f.acme.ID); len(left) != 0 {
			t.Fatalf("after 30 days: %+v", left)
		}
		var audited int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action LIKE 'subscriber.%'`).Scan(&audited); err != nil || audited != 7 {
			t.Fatalf("audited subscriber events: %d %v", audited, err)
		}
	})
}

// An announcement reaches confirmed subscribers of its topic once each,
// however often its fan-out runs, in their language, with the
// unsubscribe headers.
func TestAnnounce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setup(t, d)
		var rendered []Recipient
		f.s.Handle(TopicSubprocessors, func(_ context.Context, orgID, ref string, to Recipient) (string, string, error) {
			rendered = append(rendered, to)
			return "Notice " + ref + " in " + to.Lang, "Object: " + to.ObjectURL + "\nUnsubscribe: " + to.UnsubscribeURL, nil
		})
		for i, email := range []string{"a@x.example", "b@x.example", "c@x.example"} {
			if err := f.s.Subscribe(ctx, f.acme.ID, Request{Email: email, Lang: []string{"en", "fr", "en"}[i], Topics: Topics,
				Client: client("192.0.2.3")}); err != nil {
				t.Fatal(err)
			}
			if i < 2 { // the third never confirms
				if err := f.s.Confirm(ctx, f.acme.ID, f.lastToken(t)); err != nil {
					t.Fatal(err)
				}
			}
		}
		announce := func() {
			t.Helper()
			if err := d.InTx(ctx, func(tx *db.Tx) error { return f.s.Announce(ctx, tx, f.acme.ID, TopicSubprocessors, "n1") }); err != nil {
				t.Fatal(err)
			}
			for {
				ran, err := f.queue.RunOne(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !ran {
					return
				}
			}
		}
		announce()
		announce() // the same announcement again: its job is not even enqueued
		var announceJobs int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = $1`, announceKind).Scan(&announceJobs); err != nil || announceJobs != 1 {
			t.Fatalf("announcement jobs: %d %v", announceJobs, err)
		}
		// A fan-out that runs again (its job failed half-way and is
		// retried) enqueues nobody's message twice.
		payload, _ := json.Marshal(announcement{OrgID: f.acme.ID, Topic: TopicSubprocessors, Ref: "n1"})
		if err := f.s.fanOut(ctx, job.Job{Kind: announceKind, Payload: payload}); err != nil {
			t.Fatal(err)
		}
		for {
			ran, err := f.queue.RunOne(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !ran {
				break
			}
		}
		if len(rendered) != 2 || rendered[0].Lang == rendered[1].Lang || rendered[0].SiteURL != "https://trust.example/t/acme/" {
			t.Fatalf("rendered for: %+v", rendered)
		}
		var notices []mail.Stored
		all, _ := f.mail.List(ctx, "", 100)
		for _, m := range all {
			if strings.HasPrefix(m.Subject, "Notice n1") {
				notices = append(notices, m)
			}
		}
		if len(notices) != 2 || !strings.Contains(notices[0].Text, "https://trust.example/t/acme/notices/n1/object?t=") {
			t.Fatalf("notice messages: %+v", notices)
		}
		var headers string
		if err := d.Read.QueryRowContext(ctx, `SELECT headers FROM mail_messages WHERE id = $1`, notices[0].ID).Scan(&headers); err != nil ||
			!strings.Contains(headers, `"List-Unsubscribe-Post":"List-Unsubscribe=One-Click"`) ||
			!strings.Contains(headers, `"List-Unsubscribe":"\u003chttps://trust.example/t/acme/unsubscribe?t=`) {
			t.Fatalf("headers: %s %v", headers, err)
		}
		// The objection link names the subscriber and the notice.
		u, _ := url.Parse(rendered[0].ObjectURL)
		email, ref, err := f.s.ObjectionLink(ctx, f.acme.ID, u.Query().Get("t"))
		if err != nil || ref != "n1" || (email != "a@x.example" && email != "b@x.example") {
			t.Fatalf("objection link: %q %q %v", email, ref, err)
		}
		if _, _, err := f.s.ObjectionLink(ctx, f.other.ID, u.Query().Get("t")); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("objection link of another organisation: %v", err)
		}
	})
}
