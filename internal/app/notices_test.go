package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/mmcdole/gofeed"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/mail"
	"github.com/evident-isms/evident/internal/webhook"
)

// inbox is a real SMTP server on loopback that keeps every message.
type inbox struct {
	mu   sync.Mutex
	msgs []*netmail.Message
	port int
}

type inboxSession struct{ in *inbox }

func (s inboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s inboxSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s inboxSession) Reset()                               {}
func (s inboxSession) Logout() error                        { return nil }
func (s inboxSession) Data(r io.Reader) error {
	m, err := netmail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return err
	}
	m.Body = strings.NewReader(string(body))
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, m)
	s.in.mu.Unlock()
	return nil
}

func startInbox(t *testing.T) *inbox {
	t.Helper()
	in := &inbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return inboxSession{in}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in.port = l.Addr().(*net.TCPAddr).Port
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return in
}

// take returns the messages received since the last call.
func (in *inbox) take() []*netmail.Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := in.msgs
	in.msgs = nil
	return out
}

// decoded is a received message with its subject and text decoded.
type decoded struct {
	To, Subject, Text string
	Header            netmail.Header
}

func decode(t *testing.T, m *netmail.Message) decoded {
	t.Helper()
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	var body io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return decoded{To: m.Header.Get("To"), Subject: subject, Text: string(text), Header: m.Header}
}

// drain runs every due job.
func drain(t *testing.T, a *app.App) {
	t.Helper()
	for i := 0; i < 500; i++ {
		ran, err := a.Queue.RunOne(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			return
		}
	}
	t.Fatal("the job queue does not empty")
}

var linkPattern = regexp.MustCompile(`https://trust\.example(/t/[^\s>]+)`)

// linkIn returns the path and query of the first link of the message to
// the given page.
func linkIn(t *testing.T, text, page string) string {
	t.Helper()
	for _, m := range linkPattern.FindAllStringSubmatch(text, -1) {
		if strings.Contains(m[1], page) {
			return m[1]
		}
	}
	t.Fatalf("no link to %s in:\n%s", page, text)
	return ""
}

// public sends an anonymous request as a browser (or a mail client) would.
func public(a *app.App, method, target string, form url.Values, header map[string]string) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	a.Web.Handler().ServeHTTP(w, r)
	return w
}

// The whole life of a subscription to subprocessor notices, through a real
// SMTP server and a real webhook receiver: subscribe, confirm, a public
// subprocessor is added, the notice arrives by e-mail (with a working
// one-click unsubscribe and an objection link), by webhook and in the Atom
// feed.
func TestSubprocessorNoticeReachesSubscribers(t *testing.T) {
	in := startInbox(t)
	var hookMu sync.Mutex
	var hooks []map[string]any
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ev)
		hookMu.Lock()
		hooks = append(hooks, ev)
		hookMu.Unlock()
	}))
	t.Cleanup(receiver.Close)
	a := openApp(t, func(c *app.Config) {
		c.BaseURL = "https://trust.example"
		c.CheckAllow = "127.0.0.1/32"
		c.SMTP = mail.Config{Host: "127.0.0.1", Port: in.port, TLS: mail.TLSNone, From: "trust@acme.example"}
	})
	ctx := context.Background()
	admin := newAPIClient(t, a, identity.Admin)
	if _, _, err := a.Webhooks.Create(ctx, admin.org.ID, webhook.Input{URL: receiver.URL + "/hook", Topics: []string{"subprocessors"}, Active: true}); err != nil {
		t.Fatal(err)
	}

	// Subscribe: the answer is a redirect to the same "check your inbox"
	// message, for a new address as for one already subscribed.
	subscribe := func(email, lang string) *httptest.ResponseRecorder {
		return public(a, "POST", "/t/acme/subscribe", url.Values{"email": {email}, "topics": {"subprocessors"}}, map[string]string{"Accept-Language": lang})
	}
	first := subscribe("CTO@customer.example", "en")
	if first.Code != http.StatusSeeOther || first.Header().Get("Location") != "/t/acme/subprocessors?sent=1#subscribe" {
		t.Fatalf("subscribe: %d %s", first.Code, first.Header().Get("Location"))
	}
	if w := subscribe("dpo@client.example", "fr"); w.Code != http.StatusSeeOther {
		t.Fatalf("second subscriber: %d", w.Code)
	}
	if w := subscribe("not an address", "en"); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Enter an e-mail address") {
		t.Fatalf("a malformed address: %d", w.Code)
	}
	drain(t, a)
	confirmations := in.take()
	if len(confirmations) != 2 {
		t.Fatalf("%d confirmation messages, want 2", len(confirmations))
	}
	for _, m := range confirmations {
		msg := decode(t, m)
		wantSubject := "Confirm your subscription to Acme"
		if strings.Contains(msg.To, "dpo@") {
			wantSubject = "Confirmez votre abonnement à Acme"
		}
		if msg.Subject != wantSubject {
			t.Errorf("confirmation to %s: subject %q, want %q", msg.To, msg.Subject, wantSubject)
		}
		link := linkIn(t, msg.Text, "/subscriptions/confirm")
		// Opening the link only shows a button (mail scanners open links).
		page := public(a, "GET", link, nil, nil)
		if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `name="t"`) || page.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("confirmation page: %d\n%s", page.Code, page.Body)
		}
		token := must(url.ParseQuery(must(url.Parse(link)).RawQuery)).Get("t")
		if w := public(a, "POST", "/t/acme/subscriptions/confirm", url.Values{"t": {token}}, map[string]string{"Origin": "https://trust.example"}); w.Code != http.StatusOK {
			t.Fatalf("confirm: %d %s", w.Code, w.Body)
		}
	}
	var subs []struct {
		State     string  `json:"state"`
		ConsentAt *string `json:"consent_at"`
	}
	if w := admin.do("GET", "/api/v1/subscribers", ""); json.Unmarshal(w.Body.Bytes(), &subs) != nil || len(subs) != 2 ||
		subs[0].State != "confirmed" || subs[0].ConsentAt == nil || subs[1].State != "confirmed" {
		t.Fatalf("subscribers after confirmation: %d %s", w.Code, w.Body)
	}
	// A subscribed address asking again gets the same answer.
	if w := subscribe("cto@customer.example", "en"); w.Code != first.Code || w.Header().Get("Location") != first.Header().Get("Location") {
		t.Fatalf("the form answers differently for a subscribed address: %d %s", w.Code, w.Header().Get("Location"))
	}
	drain(t, a)
	in.take()

	// A public subprocessor is added: the notice goes out.
	if w := admin.do("POST", "/api/v1/subprocessors", `{"name": "Northwind Hosting", "purpose": "Hosting of the platform",
		"processing_countries": ["FR"], "transfer_mechanism": "not_applicable"}`); w.Code != http.StatusCreated {
		t.Fatalf("add a subprocessor: %d %s", w.Code, w.Body)
	}
	drain(t, a)
	notices := in.take()
	if len(notices) != 2 {
		t.Fatalf("%d notice messages, want 2", len(notices))
	}
	var english decoded
	for _, m := range notices {
		if msg := decode(t, m); strings.Contains(strings.ToLower(msg.To), "cto@") {
			english = msg
		} else if !strings.Contains(msg.Subject, "nouveau sous-traitant Northwind Hosting") {
			t.Errorf("French notice subject: %q", msg.Subject)
		}
	}
	if !strings.HasPrefix(english.Subject, "Acme: new subprocessor Northwind Hosting, effective ") ||
		!strings.Contains(english.Text, "https://trust.example/t/acme/subprocessors") {
		t.Fatalf("notice: %q\n%s", english.Subject, english.Text)
	}
	if english.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe-Post: %q", english.Header.Get("List-Unsubscribe-Post"))
	}
	unsubscribe := strings.Trim(english.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsubscribe, "https://trust.example/t/acme/unsubscribe?t=") {
		t.Fatalf("List-Unsubscribe: %q", unsubscribe)
	}

	// The objection link of the notice records an objection for the admins.
	objectLink := linkIn(t, english.Text, "/object")
	if w := public(a, "GET", objectLink, nil, nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Northwind Hosting") {
		t.Fatalf("objection page: %d", w.Code)
	}
	objectURL := must(url.Parse(objectLink))
	token := objectURL.Query().Get("t")
	if w := public(a, "POST", objectURL.Path, url.Values{"t": {token}, "reason": {"Our contract excludes new hosts"}}, nil); w.Code != http.StatusOK {
		t.Fatalf("object: %d %s", w.Code, w.Body)
	}
	list := admin.do("GET", "/api/v1/subprocessor-notices", "")
	var got []struct {
		ID         string `json:"id"`
		Objections int    `json:"objections"`
	}
	if err := json.Unmarshal(list.Body.Bytes(), &got); err != nil || len(got) != 1 || got[0].Objections != 1 {
		t.Fatalf("notices: %s", list.Body)
	}
	if w := admin.do("GET", "/api/v1/subprocessor-notices/"+got[0].ID+"/objections", ""); !strings.Contains(strings.ToLower(w.Body.String()), "cto@customer.example") ||
		!strings.Contains(w.Body.String(), "Our contract excludes new hosts") {
		t.Fatalf("objections: %s", w.Body)
	}
	// An objection link is bound to its notice.
	if w := public(a, "POST", "/t/acme/notices/another/object", url.Values{"t": {token}}, nil); w.Code != http.StatusNotFound {
		t.Fatalf("objection link on another notice: %d", w.Code)
	}

	// RFC 8058 one-click: the mail client POSTs to the List-Unsubscribe URL,
	// with no page, no cookie and no Origin.
	u := must(url.Parse(unsubscribe))
	if w := public(a, "POST", u.RequestURI(), url.Values{"List-Unsubscribe": {"One-Click"}}, nil); w.Code != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d %s", w.Code, w.Body)
	}
	if w := public(a, "POST", u.RequestURI(), url.Values{"List-Unsubscribe": {"One-Click"}}, nil); w.Code != http.StatusOK {
		t.Fatalf("unsubscribing twice: %d", w.Code)
	}
	tampered := strings.Replace(u.RequestURI(), "t=", "t=x", 1)
	if w := public(a, "POST", tampered, url.Values{"List-Unsubscribe": {"One-Click"}}, nil); w.Code != http.StatusNotFound {
		t.Fatalf("a tampered unsubscribe link: %d", w.Code)
	}

	// The next notice reaches only the subscriber still subscribed.
	if w := admin.do("POST", "/api/v1/subprocessors", `{"name": "Relay Mail", "purpose": "E-mail delivery"}`); w.Code != http.StatusCreated {
		t.Fatalf("add a second subprocessor: %d %s", w.Code, w.Body)
	}
	drain(t, a)
	after := in.take()
	if len(after) != 1 || !strings.Contains(decode(t, after[0]).To, "dpo@") {
		t.Fatalf("after unsubscribing: %d messages", len(after))
	}

	// Every notice reached the webhook, signed (the webhook package checks
	// the signature itself).
	hookMu.Lock()
	if len(hooks) != 2 || hooks[0]["type"] != "subprocessor.notice.created" {
		t.Errorf("webhook events: %v", hooks)
	}
	hookMu.Unlock()

	// The Atom feed parses with a standard feed parser and lists both.
	feedRes := public(a, "GET", "/t/acme/subprocessors/notices.atom", nil, nil)
	if ct := feedRes.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/atom+xml") {
		t.Fatalf("feed content type %q", ct)
	}
	feed, err := gofeed.NewParser().ParseString(feedRes.Body.String())
	if err != nil {
		t.Fatalf("the feed does not parse: %v\n%s", err, feedRes.Body)
	}
	if feed.FeedType != "atom" || len(feed.Items) != 2 || !strings.Contains(feed.Items[1].Title, "Northwind Hosting added, effective") ||
		!strings.HasPrefix(feed.Items[0].Link, "https://trust.example/t/acme/subprocessors#notice-") || feed.Items[0].PublishedParsed == nil {
		t.Fatalf("feed: %s %d items\n%s", feed.FeedType, len(feed.Items), feedRes.Body)
	}

	// Erasing the subscriber who objected erases the objection too.
	var all []struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	_ = json.Unmarshal(admin.do("GET", "/api/v1/subscribers", "").Body.Bytes(), &all)
	for _, sub := range all {
		if strings.EqualFold(sub.Email, "cto@customer.example") {
			if w := admin.do("DELETE", "/api/v1/subscribers/"+sub.ID, ""); w.Code != http.StatusNoContent {
				t.Fatalf("delete the subscriber: %d %s", w.Code, w.Body)
			}
		}
	}
	if w := admin.do("GET", "/api/v1/subprocessor-notices/"+got[0].ID+"/objections", ""); strings.Contains(strings.ToLower(w.Body.String()), "cto@") {
		t.Fatalf("the objection outlived its subscriber: %s", w.Body)
	}

	// The public page lists both, with the subscription form.
	page := public(a, "GET", "/t/acme/subprocessors", nil, nil).Body.String()
	for _, want := range []string{"Northwind Hosting", "Relay Mail", `action="/t/acme/subscribe"`, "notices.atom"} {
		if !strings.Contains(page, want) {
			t.Errorf("public page lacks %q", want)
		}
	}
}

// The public form's limit per client address is answered openly (429); the
// limit per e-mail address is silent, so it says nothing about the address.
// Both bound a total per window, however slowly the requests come.
func TestSubscriptionFormIsRateLimited(t *testing.T) {
	in := startInbox(t)
	clk := clock.NewSettable(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	a := openAppClock(t, clk, func(c *app.Config) {
		c.BaseURL = "https://trust.example"
		c.SMTP = mail.Config{Host: "127.0.0.1", Port: in.port, TLS: mail.TLSNone, From: "trust@acme.example"}
	})
	newAPIClient(t, a, identity.Admin) // creates acme
	subscribe := func(email string) int {
		return public(a, "POST", "/t/acme/subscribe", url.Values{"email": {email}, "topics": {"subprocessors"}}, nil).Code
	}
	for i := 0; i < 5; i++ {
		if code := subscribe("victim@example.com"); code != http.StatusSeeOther {
			t.Fatalf("request %d: %d", i+1, code)
		}
		clk.Advance(10 * time.Minute)
	}
	drain(t, a)
	if n := len(in.take()); n != 3 {
		t.Fatalf("%d confirmations to one address after 5 requests in 50 minutes, want 3", n)
	}
	// A day later the address may be mailed again, and the client's hour
	// allows ten requests, the eleventh is refused.
	clk.Advance(24 * time.Hour)
	for i := 0; i < 10; i++ {
		email := "victim@example.com"
		if i > 0 {
			email = fmt.Sprintf("other%d@example.com", i)
		}
		if code := subscribe(email); code != http.StatusSeeOther {
			t.Fatalf("request %d of the hour: %d", i+1, code)
		}
		clk.Advance(time.Minute)
	}
	refused := public(a, "POST", "/t/acme/subscribe", url.Values{"email": {"late@example.com"}, "topics": {"subprocessors"}},
		map[string]string{"Accept-Language": "fr"})
	if refused.Code != http.StatusTooManyRequests || refused.Header().Get("Retry-After") == "" ||
		!strings.Contains(refused.Body.String(), "Trop de demandes") {
		t.Fatalf("the 11th request of one client in an hour: %d, want 429 in French with Retry-After", refused.Code)
	}
	drain(t, a)
	if n := len(in.take()); n != 10 {
		t.Fatalf("%d confirmations on the second day, want 10", n)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(errors.Join(errors.New("must"), err))
	}
	return v
}
