package app_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/identity"
)

// TestWebhooksAPI manages an endpoint through the API: the secret comes
// once, in the creation's answer; mistakes are 4xx, never 500; only admins
// reach the routes.
func TestWebhooksAPI(t *testing.T) {
	a := openApp(t, nil)
	c := newAPIClient(t, a, identity.Admin)
	do := c.do
	w := do("POST", "/api/v1/webhooks", `{"url":"https://hooks.example.com/in","description":"CRM","topics":["subprocessors"]}`)
	var created struct {
		Endpoint struct {
			ID     string `json:"id"`
			Active bool   `json:"active"`
		} `json:"endpoint"`
		Secret string `json:"secret"`
	}
	if w.Code != 201 || json.Unmarshal(w.Body.Bytes(), &created) != nil || !strings.HasPrefix(created.Secret, "whsec_") || !created.Endpoint.Active {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	id := created.Endpoint.ID
	for _, path := range []string{"/api/v1/webhooks", "/api/v1/webhooks/" + id} {
		if w := do("GET", path, ""); w.Code != 200 || !strings.Contains(w.Body.String(), "hooks.example.com") || strings.Contains(w.Body.String(), "whsec_") {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
		}
	}
	for name, body := range map[string]string{
		"ftp URL":       `{"url":"ftp://hooks.example.com/in","topics":["subprocessors"]}`,
		"user info":     `{"url":"https://u:p@hooks.example.com/in","topics":["subprocessors"]}`,
		"fragment":      `{"url":"https://hooks.example.com/in#x","topics":["subprocessors"]}`,
		"unknown topic": `{"url":"https://hooks.example.com/in","topics":["incidents"]}`,
		"no topic":      `{"url":"https://hooks.example.com/in","topics":[]}`,
	} {
		if w := do("POST", "/api/v1/webhooks", body); w.Code != 400 && w.Code != 422 {
			t.Errorf("%s: %d, want 400 or 422\n%s", name, w.Code, w.Body)
		}
	}
	if w := do("PUT", "/api/v1/webhooks/"+id, `{"url":"https://hooks.example.com/v2","topics":["subprocessors"],"active":false}`); w.Code != 200 ||
		!strings.Contains(w.Body.String(), `"active":false`) {
		t.Fatalf("update: %d %s", w.Code, w.Body)
	}
	if w := do("POST", "/api/v1/webhooks/"+id+"/test", ""); w.Code != 409 {
		t.Fatalf("a test event to a paused endpoint: %d %s", w.Code, w.Body)
	}
	if w := do("PUT", "/api/v1/webhooks/"+id, `{"url":"https://hooks.example.com/v2","topics":["subprocessors"]}`); w.Code != 200 {
		t.Fatalf("update: %d %s", w.Code, w.Body)
	}
	w = do("POST", "/api/v1/webhooks/"+id+"/test", "")
	var msg struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	if w.Code != 202 || json.Unmarshal(w.Body.Bytes(), &msg) != nil || msg.State != "queued" || !strings.HasPrefix(msg.ID, "msg_") {
		t.Fatalf("test event: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/api/v1/webhooks/"+id+"/deliveries?limit=10", ""); w.Code != 200 || !strings.Contains(w.Body.String(), msg.ID) ||
		!strings.Contains(w.Body.String(), "webhook.test") {
		t.Fatalf("deliveries: %d %s", w.Code, w.Body)
	}
	if w := do("POST", "/api/v1/webhooks/messages/"+msg.ID+"/redeliver", ""); w.Code != 409 {
		t.Fatalf("redeliver a queued message: %d %s", w.Code, w.Body)
	}
	w = do("POST", "/api/v1/webhooks/"+id+"/rotate-secret", "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"secret":"whsec_`) || strings.Contains(w.Body.String(), created.Secret) {
		t.Fatalf("rotate: %d %s", w.Code, w.Body)
	}

	// A manager manages content, not where the organisation's events go.
	ctx := context.Background()
	m, _, err := a.Identity.CreateMember(ctx, c.org.ID, identity.NewUser{Email: "m@acme.example", Password: walkPassword}, identity.Manager)
	if err != nil {
		t.Fatal(err)
	}
	_, managerToken, err := a.Identity.CreateToken(ctx, identity.NewToken{OrgID: c.org.ID, UserID: m.ID, Name: "m", Role: identity.Manager})
	if err != nil {
		t.Fatal(err)
	}
	manager := &apiClient{app: a, org: c.org, user: m, token: managerToken}
	if w := manager.do("GET", "/api/v1/webhooks", ""); w.Code != 403 {
		t.Errorf("a manager lists webhooks: %d", w.Code)
	}

	if w := do("DELETE", "/api/v1/webhooks/"+id, ""); w.Code != 204 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/api/v1/webhooks/"+id, ""); w.Code != 404 {
		t.Fatalf("a deleted endpoint: %d", w.Code)
	}
}

// TestWebhooksConsole walks the console end to end on a real receiver: an
// admin adds an endpoint and sees its secret once, sends a test event that
// the receiver refuses, sees it dead in the delivery log after the
// configured single attempt, delivers it again and sees it delivered.
// Managers get neither the pages nor the menu entry.
func TestWebhooksConsole(t *testing.T) {
	a := openApp(t, func(c *app.Config) { c.CheckAllow = "127.0.0.1/32"; c.WebhookTries = 1 })
	h := a.Web.Handler()
	ctx := context.Background()
	c := newAPIClient(t, a, identity.Admin)
	admin, _, err := a.Identity.SignIn(ctx, "a@acme.example", walkPassword, identity.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Identity.CreateMember(ctx, c.org.ID, identity.NewUser{Email: "m@acme.example", Password: walkPassword}, identity.Manager); err != nil {
		t.Fatal(err)
	}
	manager, _, err := a.Identity.SignIn(ctx, "m@acme.example", walkPassword, identity.Client{})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	status, hits := http.StatusInternalServerError, 0
	var sigs []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		defer mu.Unlock()
		hits++
		sigs = append(sigs, r.Header.Get("webhook-signature"))
		w.WriteHeader(status)
	}))
	t.Cleanup(receiver.Close)
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return hits
	}
	firstSignature := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(sigs) == 0 {
			return ""
		}
		return sigs[0]
	}

	if w := consoleRequest(h, "GET", "/app/o/acme/webhooks", admin, nil); w.Code != 200 || !strings.Contains(w.Body.String(), `href="/app/o/acme/webhooks"`) {
		t.Fatalf("list page: %d", w.Code)
	}
	bad := url.Values{"url": {"ftp://example.com/x"}, "description": {"Typed text"}, "topics": {"subprocessors"}, "active": {"on"}}
	if w := consoleRequest(h, "POST", "/app/o/acme/webhooks", admin, bad); w.Code != 400 || !strings.Contains(w.Body.String(), `value="Typed text"`) {
		t.Fatalf("bad URL: %d, want 400 with the typed description\n%s", w.Code, w.Body)
	}
	w := consoleRequest(h, "POST", "/app/o/acme/webhooks", admin, url.Values{"url": {receiver.URL + "/in"}, "description": {"Receiver"},
		"topics": {"subprocessors"}, "active": {"on"}})
	// The page escapes "+" as &#43;: read the secret as a browser shows it.
	secret := secretPattern.FindString(html.UnescapeString(w.Body.String()))
	link := regexp.MustCompile(`/app/o/acme/webhooks/[0-9a-f-]{36}`).FindString(w.Body.String())
	if w.Code != 200 || secret == "" || link == "" || !strings.Contains(w.Body.String(), "shown only once") {
		t.Fatalf("create: %d, secret %q, link %q\n%s", w.Code, secret, link, w.Body)
	}
	if w := consoleRequest(h, "GET", "/app/o/acme/webhooks", admin, nil); strings.Contains(html.UnescapeString(w.Body.String()), secret) {
		t.Fatal("the list shows the secret again")
	}

	if w := consoleRequest(h, "POST", link+"/test", admin, url.Values{}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != link+"?done=test" {
		t.Fatalf("test button: %d %q", w.Code, w.Header().Get("Location"))
	}
	runJobs(t, a)
	w = consoleRequest(h, "GET", link, admin, nil)
	body := w.Body.String()
	if w.Code != 200 || count() != 1 || !strings.Contains(body, "webhook.test") || !strings.Contains(body, "dead") || !strings.Contains(body, "Deliver again") ||
		!strings.Contains(body, "HTTP 500") || strings.Contains(html.UnescapeString(body), secret) || !strings.HasPrefix(firstSignature(), "v1,") {
		t.Fatalf("endpoint page after a refused test event: %d, %d hits\n%s", w.Code, count(), body)
	}
	message := regexp.MustCompile(`/app/o/acme/webhooks/messages/(msg_[0-9a-f]+)/redeliver`).FindString(body)
	mu.Lock()
	status = http.StatusNoContent
	mu.Unlock()
	if w := consoleRequest(h, "POST", message, admin, url.Values{}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != link+"?done=redelivered" {
		t.Fatalf("redeliver %q: %d %q", message, w.Code, w.Header().Get("Location"))
	}
	runJobs(t, a)
	if w := consoleRequest(h, "GET", link, admin, nil); count() != 2 || !strings.Contains(w.Body.String(), "delivered") || strings.Contains(w.Body.String(), "Deliver again") {
		t.Fatalf("after redelivery: %d hits\n%s", count(), w.Body)
	}

	w = consoleRequest(h, "POST", link+"/rotate", admin, url.Values{})
	if rotated := secretPattern.FindString(html.UnescapeString(w.Body.String())); w.Code != 200 || rotated == "" || rotated == secret {
		t.Fatalf("rotate: %d %q", w.Code, rotated)
	}
	if w := consoleRequest(h, "POST", link, admin, url.Values{"url": {receiver.URL + "/v2"}, "topics": {"subprocessors"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", w.Code, w.Body)
	}
	if w := consoleRequest(h, "GET", link, admin, nil); !strings.Contains(w.Body.String(), "paused") {
		t.Fatal("an endpoint saved without the active box is not shown paused")
	}
	if w := consoleRequest(h, "POST", link+"/delete", admin, url.Values{}); w.Code != 400 {
		t.Fatalf("delete without confirming: %d", w.Code)
	}

	// Managers: no menu entry, no pages.
	if w := consoleRequest(h, "GET", "/app/o/acme/", manager, nil); strings.Contains(w.Body.String(), "/webhooks") {
		t.Error("the menu shows Webhooks to a manager")
	}
	if w := consoleRequest(h, "GET", link, manager, nil); w.Code != 403 {
		t.Errorf("a manager opens an endpoint: %d", w.Code)
	}
	if w := consoleRequest(h, "POST", link+"/delete", admin, url.Values{"confirm": {"yes"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
}

// runJobs runs every due job of the app's queue.
func runJobs(t *testing.T, a *app.App) {
	t.Helper()
	for {
		ran, err := a.Queue.RunOne(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			return
		}
	}
}

// The number of attempts is the operator's, within reason.
func TestWebhookMaxAttemptsSetting(t *testing.T) {
	for _, n := range []int{0, 51} {
		cfg := app.Defaults()
		cfg.DataDir, cfg.WebhookTries = t.TempDir(), n
		if _, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil); err == nil ||
			!strings.Contains(err.Error(), "--webhook-max-attempts") {
			t.Errorf("%d attempts: %v", n, err)
		}
	}
}

// secretPattern finds a Standard Webhooks secret: whsec_ and 32 bytes of base64.
var secretPattern = regexp.MustCompile(`whsec_[A-Za-z0-9+/]{43}=`)
