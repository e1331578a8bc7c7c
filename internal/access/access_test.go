package access

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/job"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/mail"
	"github.com/evident-isms/evident/internal/org"
)

type fixture struct {
	s        *Service
	clk      *clock.Settable
	d        *db.DB
	ids      *identity.Service
	evidence *evidence.Service
	acme     *org.Org
	other    *org.Org
	manager  *identity.User
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
	orgs := org.NewService(d, clk, a)
	f := &fixture{clk: clk, d: d, ids: ids, evidence: evidence.NewService(d, clk, a, evidence.Config{Log: log}),
		s: New(Config{DB: d, Clock: clk, Audit: a, Mail: m, Limiter: ids.Limiter, BaseURL: "https://trust.example/"})}
	if f.acme, err = orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if f.other, err = orgs.Create(ctx, org.CreateInput{Slug: "other", Name: "Other"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		org   *org.Org
		email string
		role  identity.Role
	}{
		{f.acme, "ceo@acme.example", identity.Admin},
		{f.acme, "ciso@acme.example", identity.Admin},
		{f.acme, "manager@acme.example", identity.Manager},
		{f.acme, "guest@acme.example", identity.Guest},
		{f.other, "admin@other.example", identity.Admin},
	} {
		user, _, err := ids.CreateMember(ctx, u.org.ID, identity.NewUser{Email: u.email, Name: "Name of " + u.email,
			Password: "correct horse battery staple"}, u.role)
		if err != nil {
			t.Fatal(err)
		}
		if u.role == identity.Manager {
			f.manager = user
		}
	}
	return f
}

func (f *fixture) item(t *testing.T, o *org.Org, title string, vis evidence.Visibility) string {
	t.Helper()
	it, err := f.evidence.Create(context.Background(), o.ID, evidence.Input{Kind: evidence.Note, Title: title, Visibility: vis})
	if err != nil {
		t.Fatal(err)
	}
	return it.ID
}

type sent struct{ OrgID, To, Subject, Text string }

// mails returns the messages written since the test began, by recipient.
func mails(t *testing.T, d *db.DB) []sent {
	t.Helper()
	rows, err := d.Read.QueryContext(context.Background(), `SELECT COALESCE(org_id, ''), recipient, subject, text_body FROM mail_messages`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []sent
	for rows.Next() {
		var m sent
		if err := rows.Scan(&m.OrgID, &m.To, &m.Subject, &m.Text); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b sent) int { return strings.Compare(a.To, b.To) })
	return out
}

func count(t *testing.T, d *db.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Read.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A request for a restricted document is stored, audited without its
// personal data in the chain, and mailed to every admin of the
// organisation, and to no one else.
func TestRequestReachesTheAdmins(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setup(t, d)
		doc := f.item(t, f.acme, "SOC 2 Type II report 2026", evidence.Restricted)
		in := Input{EvidenceID: doc, Name: " Jane Customer ", Email: " Jane@Customer.example ", Company: "Customer Ltd",
			Reason: "Vendor review before renewal.\r\nOur DPO asked for it.", Lang: "fr-FR,fr;q=0.9", Client: "192.0.2.1"}
		if err := f.s.Request(ctx, f.acme.ID, in); err != nil {
			t.Fatal(err)
		}
		list, err := f.s.List(ctx, f.acme.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %+v %v", list, err)
		}
		r := list[0]
		if r.EvidenceID != doc || r.EvidenceTitle != "SOC 2 Type II report 2026" || r.Name != "Jane Customer" || r.Email != "Jane@Customer.example" ||
			r.Company != "Customer Ltd" || r.Reason != "Vendor review before renewal.\nOur DPO asked for it." || r.Lang != "fr" ||
			r.State != Open || !r.CreatedAt.Equal(f.clk.Now()) || r.HandledAt != nil || r.HandledBy != "" {
			t.Fatalf("stored: %+v", r)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM access_requests WHERE email_norm = 'jane@customer.example'`); n != 1 {
			t.Fatalf("normalised address: %d rows", n)
		}
		if other, _ := f.s.List(ctx, f.other.ID); len(other) != 0 {
			t.Fatalf("another organisation lists it: %+v", other)
		}

		msgs := mails(t, d)
		if len(msgs) != 2 || msgs[0].To != "ceo@acme.example" || msgs[1].To != "ciso@acme.example" {
			t.Fatalf("mailed to: %+v", msgs)
		}
		for _, m := range msgs {
			for _, want := range []string{"Jane Customer", "Jane@Customer.example", "Customer Ltd", "> Vendor review before renewal.\n> Our DPO asked for it.",
				"SOC 2 Type II report 2026", "https://trust.example/app/o/acme/access-requests\n", "Français"} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("the message to %s lacks %q:\n%s", m.To, want, m.Text)
				}
			}
			if m.OrgID != f.acme.ID || !strings.Contains(m.Subject, "SOC 2 Type II report 2026") {
				t.Errorf("message: %+v", m)
			}
		}

		// The chain holds commitments; the clear text is on the side.
		var fields, personal string
		if err := d.Read.QueryRowContext(ctx, `SELECT fields, personal FROM audit_events WHERE action = 'access_request.create' AND target = $1`,
			r.ID).Scan(&fields, &personal); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"Jane", "Customer", "DPO"} {
			if strings.Contains(fields, secret) || strings.Contains(personal, secret) {
				t.Errorf("the chain shows %q: %s %s", secret, fields, personal)
			}
		}
		for _, name := range []string{"name", "email", "company", "reason"} {
			if !strings.Contains(personal, `"`+name+`"`) {
				t.Errorf("no commitment to %s: %s", name, personal)
			}
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_personal WHERE value = 'Jane@Customer.example'`); n != 1 {
			t.Errorf("the address beside the chain: %d", n)
		}

		// A year later the request is forgotten.
		f.clk.Advance(366 * 24 * time.Hour)
		if _, err := d.ApplyRetention(ctx, f.clk.Now()); err != nil {
			t.Fatal(err)
		}
		if left, _ := f.s.List(ctx, f.acme.ID); len(left) != 0 {
			t.Fatalf("after a year: %+v", left)
		}
	})
}

// Only a live restricted item of the organisation can be asked for; any
// other answers as if it did not exist, and nothing is stored or mailed.
func TestRequestOnlyForRestrictedItems(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setup(t, d)
		deleted := f.item(t, f.acme, "Deleted", evidence.Restricted)
		if err := f.evidence.Delete(ctx, f.acme.ID, deleted, evidence.Reader{Restricted: true}); err != nil {
			t.Fatal(err)
		}
		for name, id := range map[string]string{
			"private":   f.item(t, f.acme, "Private", evidence.Private),
			"public":    f.item(t, f.acme, "Public", evidence.Public),
			"other org": f.item(t, f.other, "Other's restricted", evidence.Restricted),
			"deleted":   deleted,
			"unknown":   "0193a0c0-0000-7000-8000-000000000000",
			"empty":     "",
			"NUL":       "abc\x00",
			"too long":  strings.Repeat("a", 65),
		} {
			err := f.s.Request(ctx, f.acme.ID, Input{EvidenceID: id, Name: "Jane", Email: "jane@customer.example", Client: "192.0.2.2"})
			if apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("%s: %v, want not found", name, err)
			}
			if strings.Contains(apperr.MessageOf(err), "Private") || strings.Contains(apperr.MessageOf(err), "private") {
				t.Errorf("%s: the answer says what the item is: %v", name, err)
			}
		}
		if n := count(t, d, `SELECT COUNT(*) FROM access_requests`); n != 0 {
			t.Fatalf("stored: %d", n)
		}
		if msgs := mails(t, d); len(msgs) != 0 {
			t.Fatalf("mailed: %+v", msgs)
		}
	})
}

// Bad input is the visitor's to fix, and names its field.
func TestRequestValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setup(t, d)
		doc := f.item(t, f.acme, "Pen test", evidence.Restricted)
		good := Input{EvidenceID: doc, Name: "Jane", Email: "jane@customer.example", Company: "Customer", Reason: "Review", Client: "192.0.2.3"}
		for _, tc := range []struct {
			name, field string
			edit        func(*Input)
		}{
			{"no name", "name", func(in *Input) { in.Name = "  " }},
			{"long name", "name", func(in *Input) { in.Name = strings.Repeat("é", MaxName+1) }},
			{"name on two lines", "name", func(in *Input) { in.Name = "Jane\nBcc: x@example.com" }},
			{"NUL in name", "name", func(in *Input) { in.Name = "Ja\x00ne" }},
			{"no address", "email", func(in *Input) { in.Email = "" }},
			{"bad address", "email", func(in *Input) { in.Email = "jane at customer" }},
			{"address with a header", "email", func(in *Input) { in.Email = "jane@customer.example\r\nBcc: x@example.com" }},
			{"long company", "company", func(in *Input) { in.Company = strings.Repeat("c", MaxCompany+1) }},
			{"company on two lines", "company", func(in *Input) { in.Company = "A\nB" }},
			{"long reason", "reason", func(in *Input) { in.Reason = strings.Repeat("r", MaxReason+1) }},
			{"control character in reason", "reason", func(in *Input) { in.Reason = "see \x1b[31m" }},
			{"invalid UTF-8 in reason", "reason", func(in *Input) { in.Reason = "\xff" }},
		} {
			in := good
			tc.edit(&in)
			err := f.s.Request(ctx, f.acme.ID, in)
			if apperr.CodeOf(err) != apperr.Invalid || apperr.FieldOf(err) != tc.field {
				t.Errorf("%s: %v (field %q), want invalid %s", tc.name, err, apperr.FieldOf(err), tc.field)
			}
		}
		// The longest values pass, and a reason keeps its lines.
		long := good
		long.Name, long.Company = strings.Repeat("é", MaxName), strings.Repeat("c", MaxCompany)
		long.Reason, long.Lang = strings.Repeat("r\n", MaxReason/2), "de"
		if err := f.s.Request(ctx, f.acme.ID, long); err != nil {
			t.Fatal(err)
		}
		if list, _ := f.s.List(ctx, f.acme.ID); len(list) != 1 || list[0].Lang != "en" || list[0].Company != long.Company {
			t.Fatalf("stored: %+v", list)
		}
	})
}

// A client gets ten requests an hour; one address gets the admins mailed
// five times a day, after which its requests are kept without a message.
func TestRequestRateLimits(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setup(t, d)
		doc := f.item(t, f.acme, "Pen test", evidence.Restricted)
		in := Input{EvidenceID: doc, Name: "Jane", Email: "jane@customer.example", Client: "192.0.2.4"}
		for i := 0; i < AddressLimit.N; i++ {
			if err := f.s.Request(ctx, f.acme.ID, in); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		err := f.s.Request(ctx, f.acme.ID, in)
		var tm *identity.TooMany
		if apperr.CodeOf(err) != apperr.RateLimited || !errors.As(err, &tm) || tm.RetryAfter <= 0 || tm.RetryAfter > time.Hour {
			t.Fatalf("request %d: %v, want rate limited", AddressLimit.N+1, err)
		}
		// The limit counts before the item is looked up: identifiers cannot
		// be probed past it. Another client, and the same one an hour
		// later, may ask again; an IPv6 client counts by its /64.
		if err := f.s.Request(ctx, f.acme.ID, Input{EvidenceID: "unknown", Name: "x", Email: "x@y.example", Client: "192.0.2.4"}); apperr.CodeOf(err) != apperr.RateLimited {
			t.Fatalf("probing past the limit: %v", err)
		}
		if err := f.s.Request(ctx, f.acme.ID, Input{EvidenceID: doc, Name: "Joe", Email: "joe@customer.example", Client: "192.0.2.5"}); err != nil {
			t.Fatalf("another client: %v", err)
		}
		for i := 0; i < AddressLimit.N; i++ {
			in6 := Input{EvidenceID: doc, Name: "Six", Email: "six@customer.example", Client: fmt.Sprintf("2001:db8:1:2::%x", i+1)}
			if err := f.s.Request(ctx, f.acme.ID, in6); err != nil {
				t.Fatalf("IPv6 request %d: %v", i+1, err)
			}
		}
		if err := f.s.Request(ctx, f.acme.ID, Input{EvidenceID: doc, Name: "Six", Email: "six@customer.example", Client: "2001:db8:1:2::ff"}); apperr.CodeOf(err) != apperr.RateLimited {
			t.Fatalf("another address of the same /64: %v", err)
		}
		f.clk.Advance(time.Hour + time.Second)
		if err := f.s.Request(ctx, f.acme.ID, in); err != nil {
			t.Fatalf("an hour later: %v", err)
		}

		// Jane's eleven requests are all kept; only five were mailed to each admin.
		if n := count(t, d, `SELECT COUNT(*) FROM access_requests WHERE email_norm = 'jane@customer.example'`); n != AddressLimit.N+1 {
			t.Fatalf("Jane's requests stored: %d", n)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM mail_messages WHERE recipient = 'ceo@acme.example' AND text_body LIKE '%jane@customer.example%'`); n != MailLimit.N {
			t.Fatalf("Jane's requests mailed to one admin: %d, want %d", n, MailLimit.N)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM mail_messages WHERE recipient = 'ceo@acme.example' AND text_body LIKE '%joe@customer.example%'`); n != 1 {
			t.Fatalf("Joe's request mailed: %d", n)
		}
	})
}

// Handling and deleting are the organisation's own, record who did them,
// and are audited.
func TestMarkHandledAndDelete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setup(t, d)
		doc := f.item(t, f.acme, "Pen test", evidence.Restricted)
		for i, name := range []string{"First", "Second"} {
			if err := f.s.Request(ctx, f.acme.ID, Input{EvidenceID: doc, Name: name, Email: "a@customer.example", Client: "192.0.2.6"}); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				f.clk.Advance(time.Minute)
			}
		}
		list, _ := f.s.List(ctx, f.acme.ID)
		if len(list) != 2 || list[0].Name != "Second" || list[1].Name != "First" {
			t.Fatalf("newest first: %+v", list)
		}
		first, second := list[1].ID, list[0].ID

		// Another organisation's identifiers are not found.
		if err := f.s.MarkHandled(ctx, f.other.ID, first); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("handled by another organisation: %v", err)
		}
		if err := f.s.Delete(ctx, f.other.ID, first); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("deleted by another organisation: %v", err)
		}
		if _, err := f.s.Get(ctx, f.other.ID, first); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("read by another organisation: %v", err)
		}
		for _, bad := range []string{"", "nope", "x\x00"} {
			if err := f.s.MarkHandled(ctx, f.acme.ID, bad); apperr.CodeOf(err) != apperr.NotFound {
				t.Fatalf("handled %q: %v", bad, err)
			}
		}

		// The manager marks the first handled, twice: one change, one event.
		f.clk.Advance(time.Hour)
		as := audit.WithActor(ctx, audit.Actor{Type: audit.ActorUser, ID: f.manager.ID})
		for i := 0; i < 2; i++ {
			if err := f.s.MarkHandled(as, f.acme.ID, first); err != nil {
				t.Fatal(err)
			}
		}
		r, err := f.s.Get(ctx, f.acme.ID, first)
		if err != nil || r.State != Handled || r.HandledAt == nil || !r.HandledAt.Equal(f.clk.Now()) || r.HandledBy != f.manager.ID ||
			r.HandledByName != "Name of manager@acme.example" {
			t.Fatalf("handled: %+v %v", r, err)
		}
		// Through an API token, the token's owner handled it.
		tok, _, err := f.ids.CreateToken(ctx, identity.NewToken{OrgID: f.acme.ID, UserID: f.manager.ID, Name: "t", Role: identity.Manager})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.s.MarkHandled(audit.WithActor(ctx, audit.Actor{Type: audit.ActorToken, ID: tok.ID}), f.acme.ID, second); err != nil {
			t.Fatal(err)
		}
		if r, _ := f.s.Get(ctx, f.acme.ID, second); r.HandledBy != f.manager.ID {
			t.Fatalf("handled through a token: %+v", r)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_events WHERE action = 'access_request.handle' AND target = $1 AND actor = $2`,
			first, f.manager.ID); n != 1 {
			t.Fatalf("handle events: %d", n)
		}

		if err := f.s.Delete(as, f.acme.ID, first); err != nil {
			t.Fatal(err)
		}
		if err := f.s.Delete(as, f.acme.ID, first); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("deleted twice: %v", err)
		}
		if list, _ := f.s.List(ctx, f.acme.ID); len(list) != 1 || list[0].ID != second {
			t.Fatalf("after the deletion: %+v", list)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM audit_events WHERE action = 'access_request.delete' AND target = $1 AND actor = $2`,
			first, f.manager.ID); n != 1 {
			t.Fatalf("delete events: %d", n)
		}
	})
}
