package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/job"
	"github.com/evident-isms/evident/internal/mail"
)

var (
	ctx   = context.Background()
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
)

// smtpServer is a real SMTP server on loopback that records what it receives.
type smtpServer struct {
	mu       sync.Mutex
	received []received
	user     string
	pass     string
	port     int
	pool     *x509.CertPool
	srv      *smtp.Server
	down     atomic.Bool
	refuse   atomic.Bool // answer 550 to every recipient
}

type received struct {
	from, to, data string
	tls, authed    bool
}

type session struct {
	s      *smtpServer
	conn   *smtp.Conn
	authed bool
	cur    received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.s.user || pass != s.s.pass {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.s.user != "" && !s.authed {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	s.cur.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.s.refuse.Load() {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.cur.to = to
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.cur.data, s.cur.authed = string(b), s.authed
	s.s.mu.Lock()
	s.s.received = append(s.s.received, s.cur)
	s.s.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

func startSMTP(t *testing.T, user, pass string) *smtpServer {
	t.Helper()
	s := &smtpServer{user: user, pass: pass}
	cert, pool := selfSigned(t)
	s.pool = pool
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		if s.down.Load() {
			return nil, &smtp.SMTPError{Code: 421, Message: "service not available"}
		}
		return &session{s: s, conn: c}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *smtpServer) got() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.received...)
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func enqueue(t *testing.T, d *db.DB, m *mail.Mailer, msg mail.Message) string {
	t.Helper()
	var id string
	if err := d.InTx(ctx, func(tx *db.Tx) (err error) {
		id, err = m.Enqueue(ctx, tx, msg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

func drain(t *testing.T, q *job.Queue) {
	t.Helper()
	for {
		ran, err := q.RunOne(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			return
		}
	}
}

func onlyMessage(t *testing.T, m *mail.Mailer) mail.Stored {
	t.Helper()
	list, err := m.List(ctx, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v, %d messages, want 1", err, len(list))
	}
	return list[0]
}

func TestSendOverStartTLSWithAuth(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		srv := startSMTP(t, "evident", "s3cret")
		clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
		q := job.New(d, clk, quiet)
		m := mail.New(d, clk, q, mail.Config{Host: "127.0.0.1", Port: srv.port, Username: "evident", Password: "s3cret",
			TLS: mail.TLSStartTLS, From: "trust@example.com", RootCAs: srv.pool}, quiet)
		enqueue(t, d, m, mail.Message{To: "ciso@customer.example", Subject: "Subprocessor change", Text: "A new subprocessor: Example Hosting.",
			Headers: map[string]string{"List-Unsubscribe": "<https://trust.example/t/acme/unsubscribe?t=abc.def>",
				"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}})
		drain(t, q)
		got := srv.got()
		if len(got) != 1 {
			t.Fatalf("server received %d messages, want 1", len(got))
		}
		r := got[0]
		if r.from != "trust@example.com" || r.to != "ciso@customer.example" || !r.tls || !r.authed {
			t.Fatalf("received %+v: want sender, recipient, TLS and authentication", r)
		}
		if !strings.Contains(r.data, "Subject: Subprocessor change") || !strings.Contains(r.data, "Example Hosting") ||
			!strings.Contains(r.data, "List-Unsubscribe: <https://trust.example/t/acme/unsubscribe?t=abc.def>\r\n") ||
			!strings.Contains(r.data, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n") {
			t.Fatalf("message data:\n%s", r.data)
		}
		if s := onlyMessage(t, m); s.State != mail.Sent || s.SentAt.IsZero() {
			t.Fatalf("stored message %+v, want sent", s)
		}
	})
}

func TestHeldWithoutSMTP(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
		q := job.New(d, clk, quiet)
		m := mail.New(d, clk, q, mail.Config{}, quiet)
		enqueue(t, d, m, mail.Message{To: "admin@example.com", Subject: "Invitation", Text: "Join us"})
		drain(t, q)
		s := onlyMessage(t, m)
		if s.State != mail.Held || s.To != "admin@example.com" || s.Text != "Join us" {
			t.Fatalf("stored %+v, want held with its text for the operator", s)
		}
	})
}

func TestRetriedWhileServerIsDown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		srv := startSMTP(t, "", "")
		srv.down.Store(true) // answers 421 and hangs up, as a server in maintenance does
		clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
		q := job.New(d, clk, quiet)
		m := mail.New(d, clk, q, mail.Config{Host: "127.0.0.1", Port: srv.port, TLS: mail.TLSNone, From: "trust@example.com"}, quiet)
		enqueue(t, d, m, mail.Message{To: "a@example.com", Subject: "Hello", Text: "x"})
		drain(t, q)
		if s := onlyMessage(t, m); s.State != mail.Queued || !strings.Contains(s.LastError, strconv.Itoa(srv.port)) {
			t.Fatalf("after a refused session: %+v, want queued with the error", s)
		}
		srv.down.Store(false)
		clk.Advance(job.Backoff(1))
		drain(t, q)
		if s := onlyMessage(t, m); s.State != mail.Sent || len(srv.got()) != 1 {
			t.Fatalf("after the server came back: %+v, %d received", s, len(srv.got()))
		}
	})
}

// A permanent refusal (550: no such mailbox) is not retried: the message is
// failed at once, with the server's answer for the operator.
func TestPermanentRefusalFails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		srv := startSMTP(t, "", "")
		srv.refuse.Store(true)
		clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
		q := job.New(d, clk, quiet)
		m := mail.New(d, clk, q, mail.Config{Host: "127.0.0.1", Port: srv.port, TLS: mail.TLSNone, From: "trust@example.com"}, quiet)
		enqueue(t, d, m, mail.Message{To: "gone@example.com", Subject: "Hello", Text: "x"})
		drain(t, q)
		if s := onlyMessage(t, m); s.State != mail.Failed || !strings.Contains(s.LastError, "550") {
			t.Fatalf("after a 550: %+v, want failed with the answer", s)
		}
		if c, _ := q.Counts(ctx); c[job.Dead] != 1 || c[job.Queued] != 0 {
			t.Fatalf("job states %v: want the send job dead, not queued for retry", c)
		}
	})
}

func TestEnqueueRejectsBadInput(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
		m := mail.New(d, clk, job.New(d, clk, quiet), mail.Config{}, quiet)
		for _, msg := range []mail.Message{
			{To: "not an address", Subject: "s"},
			{To: "Eve <eve@example.com>", Subject: "s"},
			{To: "a@example.com", Subject: "s\r\nBcc: eve@example.com"},
			{To: "a@example.com", Subject: " "},
			{To: "a@example.com", Subject: "s", Headers: map[string]string{"Bcc": "eve@example.com"}},
			{To: "a@example.com", Subject: "s", Headers: map[string]string{"List-Id": "<a>\r\nBcc: eve@example.com"}},
		} {
			err := d.InTx(ctx, func(tx *db.Tx) error { _, err := m.Enqueue(ctx, tx, msg); return err })
			if err == nil {
				t.Errorf("accepted %+v", msg)
			}
		}
	})
}

func TestConfigValidate(t *testing.T) {
	good := mail.Config{Host: "smtp.example.com", Port: 587, TLS: mail.TLSStartTLS, From: "trust@example.com"}
	for _, tt := range []struct {
		name string
		edit func(*mail.Config)
		want string
	}{
		{"good", func(*mail.Config) {}, ""},
		{"no server is fine", func(c *mail.Config) { *c = mail.Config{} }, ""},
		{"port", func(c *mail.Config) { c.Port = 0 }, "port"},
		{"tls", func(c *mail.Config) { c.TLS = "maybe" }, "TLS mode"},
		{"from", func(c *mail.Config) { c.From = "nobody" }, "sender"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			err := c.Validate()
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}
