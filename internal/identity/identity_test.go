package identity_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"

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

var ctx = context.Background()

const goodPassword = "correct horse battery staple"

type env struct {
	d     *db.DB
	clk   *clock.Settable
	ids   *identity.Service
	mail  *mail.Mailer
	queue *job.Queue
	audit *audit.Log
	orgA  *org.Org
	orgB  *org.Org
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	q := job.New(d, clk, quiet)
	m := mail.New(d, clk, q, mail.Config{}, quiet)
	al := audit.New(d, clk, k)
	orgs := org.NewService(d, clk, al)
	a, err := orgs.Create(ctx, org.CreateInput{Slug: "org-a", Name: "Org A"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := orgs.Create(ctx, org.CreateInput{Slug: "org-b", Name: "Org B"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{d: d, clk: clk, ids: identity.NewService(d, clk, k, m, al, "https://trust.example.com"), audit: al, mail: m, queue: q, orgA: a, orgB: b}
}

func (e *env) member(t *testing.T, o *org.Org, email string, role identity.Role) *identity.User {
	t.Helper()
	u, _, err := e.ids.CreateMember(ctx, o.ID, identity.NewUser{Email: email, Name: "Test", Password: goodPassword}, role)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// heldMail delivers queued mail (held: no SMTP) and returns the texts.
func (e *env) heldMail(t *testing.T) []mail.Stored {
	t.Helper()
	for {
		ran, err := e.queue.RunOne(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			break
		}
	}
	list, err := e.mail.List(ctx, mail.Held, 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

var client = identity.Client{IP: netip.MustParseAddr("198.51.100.7"), UserAgent: "test"}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		pw   string
		want string
	}{
		{"short", "at least 12"},
		{"123456qwerty", "most common"},
		{"1Q2W3E4R5T6Y", "most common"},
		{"qwertyuiopasdfghjkl", ""},
		{goodPassword, ""},
		{strings.Repeat("é", 12), ""},
		{strings.Repeat("x", 1025), "at most"},
	}
	for _, tt := range tests {
		err := identity.CheckPassword(tt.pw)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckPassword(%.20q) = %v, want %q", tt.pw, err, tt.want)
		}
	}
}

func TestHashAndVerify(t *testing.T) {
	h := identity.HashPassword(goodPassword)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %s: want argon2id m=19456 t=2 p=1", h)
	}
	if !identity.VerifyPassword(h, goodPassword) || identity.VerifyPassword(h, goodPassword+"!") {
		t.Fatal("verify")
	}
	if h == identity.HashPassword(goodPassword) {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=2,p=1$AA$AA", "$bcrypt$x", h[:len(h)-4]} {
		if identity.VerifyPassword(bad, goodPassword) {
			t.Errorf("verified against malformed hash %q", bad)
		}
	}
}

// 30 wrong passwords in a row end in 429s; during the backoff even the
// right password is refused; afterwards it works. An unknown e-mail gets
// the same answers.
func TestSignInRateLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.member(t, e.orgA, "alice@example.com", identity.Admin)
		answers := func(email string) []apperr.Code {
			var codes []apperr.Code
			for i := 0; i < 30; i++ {
				_, _, err := e.ids.SignIn(ctx, email, "wrong password!", identity.Client{IP: netip.MustParseAddr("203.0.113.1")})
				codes = append(codes, apperr.CodeOf(err))
			}
			return codes
		}
		known := answers("alice@example.com")
		if known[29] != apperr.RateLimited || known[0] != apperr.Unauthorized {
			t.Fatalf("answers %v: want unauthorized first, rate limited at the end", known)
		}
		_, _, err := e.ids.SignIn(ctx, "alice@example.com", goodPassword, client)
		var tm *identity.TooMany
		if apperr.CodeOf(err) != apperr.RateLimited || !errors.As(err, &tm) || tm.RetryAfter <= 0 {
			t.Fatalf("right password during the backoff: %v, want rate limited with a retry time", err)
		}
		e.clk.Advance(tm.RetryAfter + time.Second)
		if _, _, err := e.ids.SignIn(ctx, "alice@example.com", goodPassword, client); err != nil {
			t.Fatalf("right password after the backoff: %v", err)
		}

		e.clk.Advance(2 * time.Hour) // the address's failures are forgotten
		unknown := answers("nobody@example.com")
		if strings.Join(codesText(known), ",") != strings.Join(codesText(unknown), ",") {
			t.Fatalf("unknown e-mail answered differently:\n known   %v\n unknown %v", known, unknown)
		}
	})
}

func codesText(cs []apperr.Code) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func TestSessionLifetime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		u := e.member(t, e.orgA, "Bob@Example.com", identity.Member)
		token, sess, err := e.ids.SignIn(ctx, "  bob@example.COM ", goodPassword, client)
		if err != nil || sess.MFAPending {
			t.Fatalf("sign in with a differently written address: %v", err)
		}
		if _, got, err := e.ids.SessionByToken(ctx, token); err != nil || got.ID != u.ID {
			t.Fatalf("session: %v", err)
		}
		// Activity keeps it alive past the idle limit, not past the absolute one.
		for i := 0; i < 30; i++ {
			e.clk.Advance(25 * time.Minute)
			if _, _, err := e.ids.SessionByToken(ctx, token); err != nil {
				if e.clk.Now().Sub(sess.CreatedAt) < 12*time.Hour {
					t.Fatalf("active session ended after %v", e.clk.Now().Sub(sess.CreatedAt))
				}
				break
			}
			if e.clk.Now().Sub(sess.CreatedAt) >= 12*time.Hour {
				t.Fatal("session outlived the 12-hour absolute limit")
			}
		}
		token, _, _ = e.ids.SignIn(ctx, "bob@example.com", goodPassword, client)
		e.clk.Advance(31 * time.Minute)
		if _, _, err := e.ids.SessionByToken(ctx, token); err != identity.ErrNoSession {
			t.Fatalf("idle session: %v, want ended", err)
		}
		token, s2, _ := e.ids.SignIn(ctx, "bob@example.com", goodPassword, client)
		list, err := e.ids.Sessions(ctx, u.ID)
		if err != nil || len(list) != 1 || list[0].ID != s2.ID || list[0].ClientIP != "198.51.100.7" {
			t.Fatalf("sessions: %+v %v", list, err)
		}
		if err := e.ids.RevokeSession(ctx, u.ID, s2.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.ids.SessionByToken(ctx, token); err != identity.ErrNoSession {
			t.Fatal("revoked session still works")
		}
		other := e.member(t, e.orgB, "carol@example.com", identity.Admin)
		_, s3, _ := e.ids.SignIn(ctx, "bob@example.com", goodPassword, client)
		if err := e.ids.RevokeSession(ctx, other.ID, s3.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("revoking another user's session: %v, want not found", err)
		}
	})
}

func code(t *testing.T, uri string, at time.Time) string {
	t.Helper()
	c, err := identity.CodeAt(uri, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTOTP(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		u := e.member(t, e.orgA, "dave@example.com", identity.Admin)
		uri, err := e.ids.BeginTOTP(ctx, u.ID)
		if err != nil || !strings.HasPrefix(uri, "otpauth://totp/Evident:dave@example.com?") {
			t.Fatalf("begin: %q %v", uri, err)
		}
		var sealed string
		_ = d.Read.QueryRowContext(ctx, `SELECT totp_secret FROM users WHERE id = $1`, u.ID).Scan(&sealed)
		key, _ := otp.NewKeyFromURL(uri)
		if !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, key.Secret()) {
			t.Fatal("the TOTP secret is not sealed at rest")
		}
		if png, err := identity.QRCode(uri, 200); err != nil || len(png) < 100 || string(png[1:4]) != "PNG" {
			t.Fatalf("QR code: %v", err)
		}
		if _, err := e.ids.ConfirmTOTP(ctx, u.ID, "000000"); apperr.FieldOf(err) != "code" {
			t.Fatalf("wrong confirmation code: %v", err)
		}
		recovery, err := e.ids.ConfirmTOTP(ctx, u.ID, code(t, uri, e.clk.Now()))
		if err != nil || len(recovery) != 10 {
			t.Fatalf("confirm: %d codes, %v", len(recovery), err)
		}

		e.clk.Advance(30 * time.Second)
		token, sess, err := e.ids.SignIn(ctx, "dave@example.com", goodPassword, client)
		if err != nil || !sess.MFAPending {
			t.Fatalf("sign in: pending=%v %v", sess != nil && sess.MFAPending, err)
		}
		now := code(t, uri, e.clk.Now())
		full, err := e.ids.CompleteSignIn(ctx, token, now, client)
		if err != nil || full == token {
			t.Fatalf("second factor: %v (the session must get a new token)", err)
		}
		if _, _, err := e.ids.SessionByToken(ctx, token); err == nil {
			t.Fatal("the pre-second-factor token still works")
		}
		// The same code again, within its 30 seconds, is refused.
		token2, _, _ := e.ids.SignIn(ctx, "dave@example.com", goodPassword, client)
		if _, err := e.ids.CompleteSignIn(ctx, token2, now, client); apperr.FieldOf(err) != "code" {
			t.Fatalf("replayed code: %v, want refused", err)
		}
		// A recovery code works once, whatever its dashes and case.
		if _, err := e.ids.CompleteSignIn(ctx, token2, strings.ToUpper(strings.ReplaceAll(recovery[0], "-", "")), client); err != nil {
			t.Fatalf("recovery code: %v", err)
		}
		token3, _, _ := e.ids.SignIn(ctx, "dave@example.com", goodPassword, client)
		if _, err := e.ids.CompleteSignIn(ctx, token3, recovery[0], client); err == nil {
			t.Fatal("a recovery code worked twice")
		}
		if err := e.ids.DisableTOTP(ctx, u.ID, "wrong password!", ""); err == nil {
			t.Fatal("disabled TOTP without the password")
		}
		if err := e.ids.DisableTOTP(ctx, u.ID, goodPassword, ""); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.ids.SessionByToken(ctx, full); err == nil {
			t.Fatal("turning TOTP off left the other sessions alive")
		}
		if _, sess, _ := e.ids.SignIn(ctx, "dave@example.com", goodPassword, client); sess.MFAPending {
			t.Fatal("second factor still asked for after turning it off")
		}
	})
}

func TestPasswordReset(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		u := e.member(t, e.orgA, "erin@example.com", identity.Member)
		old, _, _ := e.ids.SignIn(ctx, "erin@example.com", goodPassword, client)
		if err := e.ids.RequestReset(ctx, "erin@example.com", client); err != nil {
			t.Fatal(err)
		}
		if err := e.ids.RequestReset(ctx, "nobody@example.com", client); err != nil {
			t.Fatalf("unknown address must be answered like a known one: %v", err)
		}
		held := e.heldMail(t)
		if len(held) != 1 || held[0].To != "erin@example.com" {
			t.Fatalf("mail: %+v, want one message to erin", held)
		}
		i := strings.Index(held[0].Text, "https://trust.example.com/app/reset/")
		if i < 0 {
			t.Fatalf("no link built from the base URL in:\n%s", held[0].Text)
		}
		link := strings.Fields(held[0].Text[i:])[0]
		token := link[strings.LastIndex(link, "/")+1:]

		if err := e.ids.ResetPassword(ctx, token, "short", client); apperr.FieldOf(err) != "password" {
			t.Fatalf("weak new password: %v", err)
		}
		if err := e.ids.ResetPassword(ctx, token, "a brand new passphrase", client); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.ids.SessionByToken(ctx, old); err == nil {
			t.Fatal("a reset must end every session")
		}
		if err := e.ids.ResetPassword(ctx, token, "another new passphrase", client); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("second use of the link: %v", err)
		}
		if _, _, err := e.ids.SignIn(ctx, "erin@example.com", "a brand new passphrase", client); err != nil {
			t.Fatal(err)
		}

		operatorLink, err := e.ids.ResetLink(ctx, "erin@example.com")
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(identity.ResetValidity + time.Second)
		if err := e.ids.CheckResetToken(ctx, operatorLink[strings.LastIndex(operatorLink, "/")+1:], client); err == nil {
			t.Fatal("a reset link worked after an hour")
		}
		if _, err := e.ids.ResetLink(ctx, "nobody@example.com"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("operator link for an unknown address: %v", err)
		}
		_ = u
	})
}

func TestResetRequestsAreLimited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.member(t, e.orgA, "fay@example.com", identity.Member)
		var last error
		for i := 0; i < 10; i++ {
			last = e.ids.RequestReset(ctx, "fay@example.com", client)
		}
		if apperr.CodeOf(last) != apperr.RateLimited {
			t.Fatalf("tenth reset request: %v, want rate limited", last)
		}
		if n := len(e.heldMail(t)); n > 4 {
			t.Fatalf("%d reset mails sent for one address in a minute", n)
		}
	})
}

// Guessing link tokens is limited per client address like guessing
// passwords.
func TestLinkGuessingIsLimited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		var last error
		for i := 0; i < 30; i++ {
			if i%2 == 0 {
				_, last = e.ids.InvitationByToken(ctx, "guess", client)
			} else {
				last = e.ids.CheckResetToken(ctx, "guess", client)
			}
		}
		if apperr.CodeOf(last) != apperr.RateLimited {
			t.Fatalf("30 unknown links from one address: %v, want rate limited", last)
		}
	})
}

func TestInvitations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		admin := e.member(t, e.orgA, "admin@example.com", identity.Admin)
		inv, link, err := e.ids.Invite(ctx, e.orgA.ID, e.orgA.Name, admin.ID, "gus@example.com", identity.Guest)
		if err != nil || !strings.HasPrefix(link, "https://trust.example.com/app/invite/") {
			t.Fatalf("invite: %v %s", err, link)
		}
		if _, _, err := e.ids.Invite(ctx, e.orgA.ID, e.orgA.Name, admin.ID, "admin@example.com", identity.Guest); apperr.FieldOf(err) != "email" {
			t.Fatalf("inviting a member: %v", err)
		}
		token := link[strings.LastIndex(link, "/")+1:]
		if got, err := e.ids.InvitationByToken(ctx, token, client); err != nil || got.ID != inv.ID || got.OrgName != "Org A" {
			t.Fatalf("lookup: %+v %v", got, err)
		}
		if _, u, err := e.ids.AcceptInvitationNewAccount(ctx, token, "Gus", goodPassword); err != nil {
			t.Fatal(err)
		} else if role, _ := e.ids.RoleIn(ctx, e.orgA.ID, u.ID); role != identity.Guest {
			t.Fatalf("role after accepting: %q", role)
		}
		if _, _, err := e.ids.AcceptInvitationNewAccount(ctx, token, "Gus", goodPassword); err == nil {
			t.Fatal("an invitation worked twice")
		}

		// An existing account joins another organisation; only the invited address may accept.
		adminB := e.member(t, e.orgB, "bea@example.com", identity.Admin)
		_, link2, _ := e.ids.Invite(ctx, e.orgB.ID, e.orgB.Name, adminB.ID, "admin@example.com", identity.Member)
		token2 := link2[strings.LastIndex(link2, "/")+1:]
		if _, err := e.ids.AcceptInvitation(ctx, token2, adminB.ID); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("accepting someone else's invitation: %v", err)
		}
		if _, err := e.ids.AcceptInvitation(ctx, token2, admin.ID); err != nil {
			t.Fatal(err)
		}
		// An invitation dies with its sender's right to manage members.
		_, link4, _ := e.ids.Invite(ctx, e.orgB.ID, e.orgB.Name, adminB.ID, "carl@example.com", identity.Admin)
		if err := e.ids.SetRole(ctx, e.orgB.ID, admin.ID, identity.Admin); err != nil {
			t.Fatal(err)
		}
		if err := e.ids.SetRole(ctx, e.orgB.ID, adminB.ID, identity.Guest); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.ids.AcceptInvitationNewAccount(ctx, link4[strings.LastIndex(link4, "/")+1:], "Carl", goodPassword); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("invitation of a demoted admin: %v, want refused", err)
		}

		_, link3, _ := e.ids.Invite(ctx, e.orgA.ID, e.orgA.Name, admin.ID, "late@example.com", identity.Member)
		e.clk.Advance(identity.InvitationValidity + time.Minute)
		if _, err := e.ids.InvitationByToken(ctx, link3[strings.LastIndex(link3, "/")+1:], client); err == nil {
			t.Fatal("an invitation worked after 7 days")
		}
	})
}

// With an SMTP server configured only the invitee's mailbox gets the link:
// the inviter must not be able to open the account in their name.
func TestInvitationLinkOnlyByMail(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		admin := e.member(t, e.orgA, "admin@example.com", identity.Admin)
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		k, _ := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
		sending := mail.New(d, e.clk, job.New(d, e.clk, quiet), mail.Config{Host: "smtp.example.com", Port: 587, TLS: mail.TLSStartTLS, From: "evident@example.com"}, quiet)
		ids := identity.NewService(d, e.clk, k, sending, e.audit, "https://trust.example.com")
		inv, link, err := ids.Invite(ctx, e.orgA.ID, e.orgA.Name, admin.ID, "gus@example.com", identity.Guest)
		if err != nil || inv == nil || link != "" {
			t.Fatalf("invite with SMTP: link %q, %v; want no link", link, err)
		}
	})
}

func TestConfirmPasswordIsLimited(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		u := e.member(t, e.orgA, "erin@example.com", identity.Member)
		var last error
		for range 8 {
			last = e.ids.ChangePassword(ctx, u.ID, "not the password", "a brand new passphrase", "")
		}
		if apperr.CodeOf(last) != apperr.RateLimited {
			t.Fatalf("eighth wrong current password: %v, want rate limited", last)
		}
		if err := e.ids.DisableTOTP(ctx, u.ID, goodPassword, ""); apperr.CodeOf(err) != apperr.RateLimited {
			t.Fatalf("right password during the backoff: %v, want rate limited", err)
		}
		e.clk.Advance(16 * time.Minute)
		if err := e.ids.ChangePassword(ctx, u.ID, goodPassword, "a brand new passphrase", ""); err != nil {
			t.Fatalf("after the backoff: %v", err)
		}
	})
}

func TestAPITokens(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		admin := e.member(t, e.orgA, "admin@example.com", identity.Admin)
		mgr := e.member(t, e.orgA, "mgr@example.com", identity.Manager)
		if _, _, err := e.ids.CreateToken(ctx, identity.NewToken{OrgID: e.orgA.ID, UserID: mgr.ID, Name: "ci", Role: identity.Admin}); apperr.FieldOf(err) != "role" {
			t.Fatalf("token above its owner's role: %v", err)
		}
		if _, _, err := e.ids.CreateToken(ctx, identity.NewToken{OrgID: e.orgB.ID, UserID: mgr.ID, Name: "ci", Role: identity.Guest}); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("token for an organisation the owner is not in: %v", err)
		}
		tok, secret, err := e.ids.CreateToken(ctx, identity.NewToken{OrgID: e.orgA.ID, UserID: mgr.ID, Name: "ci", Role: identity.Manager, ExpiresIn: 24 * time.Hour})
		if err != nil || !strings.HasPrefix(secret, tok.Prefix+"_") {
			t.Fatalf("create: %v %q %q", err, secret, tok.Prefix)
		}
		var stored int
		_ = d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1 OR prefix = $1`, secret).Scan(&stored)
		if stored != 0 {
			t.Fatal("the token is stored in clear")
		}
		p, err := e.ids.AuthenticateToken(ctx, secret)
		if err != nil || p.Role != identity.Manager || p.User.ID != mgr.ID || p.Token.OrgID != e.orgA.ID {
			t.Fatalf("authenticate: %+v %v", p, err)
		}
		if err := e.ids.SetRole(ctx, e.orgA.ID, mgr.ID, identity.Guest); err != nil {
			t.Fatal(err)
		}
		if p, _ := e.ids.AuthenticateToken(ctx, secret); p.Role != identity.Guest {
			t.Fatalf("after the owner's demotion the token acts as %s, want guest", p.Role)
		}
		e.clk.Advance(25 * time.Hour)
		if _, err := e.ids.AuthenticateToken(ctx, secret); err != identity.ErrBadToken {
			t.Fatalf("expired token: %v", err)
		}
		_, secret2, _ := e.ids.CreateToken(ctx, identity.NewToken{OrgID: e.orgA.ID, UserID: mgr.ID, Name: "ci2", Role: identity.Guest})
		if err := e.ids.RemoveMember(ctx, e.orgA.ID, mgr.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ids.AuthenticateToken(ctx, secret2); err != identity.ErrBadToken {
			t.Fatalf("token of a removed member: %v", err)
		}
		tok3, secret3, _ := e.ids.CreateToken(ctx, identity.NewToken{OrgID: e.orgA.ID, UserID: admin.ID, Name: "x", Role: identity.Guest})
		if err := e.ids.RevokeToken(ctx, e.orgB.ID, "", tok3.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("revoking through another organisation: %v", err)
		}
		if err := e.ids.RevokeToken(ctx, e.orgA.ID, "", tok3.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ids.AuthenticateToken(ctx, secret3); err != identity.ErrBadToken {
			t.Fatal("revoked token still works")
		}
		// A token made with a token cannot outlive it.
		notAfter := e.clk.Now().Add(48 * time.Hour)
		if _, _, err := e.ids.CreateToken(ctx, identity.NewToken{OrgID: e.orgA.ID, UserID: admin.ID, Name: "child", Role: identity.Guest,
			ExpiresIn: 72 * time.Hour, NotAfter: notAfter}); apperr.FieldOf(err) != "expires_in_days" {
			t.Fatalf("token outliving its parent: %v", err)
		}
		if _, _, err := e.ids.CreateToken(ctx, identity.NewToken{OrgID: e.orgA.ID, UserID: admin.ID, Name: "child", Role: identity.Guest,
			ExpiresIn: 24 * time.Hour, NotAfter: notAfter}); err != nil {
			t.Fatalf("token within its parent's life: %v", err)
		}
		if _, _, err := e.ids.CreateToken(ctx, identity.NewToken{OrgID: e.orgA.ID, UserID: admin.ID, Name: "bad\xff", Role: identity.Guest}); apperr.FieldOf(err) != "name" {
			t.Fatalf("token name that is not UTF-8: %v", err)
		}
		for _, bad := range []string{"", "evd_", "Bearer x", secret3 + "x"} {
			if _, err := e.ids.AuthenticateToken(ctx, bad); err != identity.ErrBadToken {
				t.Errorf("token %q: %v", bad, err)
			}
		}
	})
}

func TestLastAdminStays(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		admin := e.member(t, e.orgA, "admin@example.com", identity.Admin)
		if err := e.ids.SetRole(ctx, e.orgA.ID, admin.ID, identity.Manager); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("demoting the last admin: %v", err)
		}
		if err := e.ids.RemoveMember(ctx, e.orgA.ID, admin.ID); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("removing the last admin: %v", err)
		}
		second := e.member(t, e.orgA, "second@example.com", identity.Admin)
		if err := e.ids.SetRole(ctx, e.orgA.ID, admin.ID, identity.Manager); err != nil {
			t.Fatal(err)
		}
		if err := e.ids.SetRole(ctx, e.orgA.ID, second.ID, "owner"); apperr.FieldOf(err) != "role" {
			t.Fatalf("unknown role: %v", err)
		}
	})
}

func TestRoles(t *testing.T) {
	if identity.Lower(identity.Admin, identity.Guest) != identity.Guest || identity.Lower(identity.Member, identity.Manager) != identity.Member {
		t.Fatal("Lower")
	}
	if !identity.Allowed(identity.Admin, identity.MembersManage) || identity.Allowed(identity.Manager, identity.MembersManage) ||
		!identity.Allowed(identity.Guest, identity.ContentRead) || identity.Allowed(identity.Guest, identity.ContentEdit) {
		t.Fatal("matrix")
	}
	for _, p := range identity.OrgPermissions {
		if !identity.Allowed(identity.Admin, p) {
			t.Errorf("admin lacks %s", p)
		}
	}
}

// A window allows N attempts from its first one, however slowly they come,
// refuses the rest until it closes, then opens again.
func TestWindowLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		w := identity.Window{N: 3, Length: time.Hour}
		take := func() time.Duration {
			t.Helper()
			wait, err := e.ids.Limiter.Take(ctx, "window:test", w)
			if err != nil {
				t.Fatal(err)
			}
			return wait
		}
		for i := 0; i < 3; i++ {
			if wait := take(); wait != 0 {
				t.Fatalf("attempt %d refused for %s", i+1, wait)
			}
			e.clk.Advance(10 * time.Minute)
		}
		if wait := take(); wait != 30*time.Minute {
			t.Fatalf("the fourth attempt 30 minutes in: wait %s, want 30m", wait)
		}
		e.clk.Advance(30 * time.Minute)
		if wait := take(); wait != 0 {
			t.Fatalf("in the next window: wait %s", wait)
		}
	})
}
