package demo_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/demo"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/org"
)

// at is the fixed instant of every test: the demo's dates follow from it.
var at = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

// openApp opens a fresh instance on engine e, configured as serve --demo
// configures it: the demo organisation published at /, loopback allowed
// for checks.
func openApp(t *testing.T, e db.Engine, clk clock.Clock) *app.App {
	t.Helper()
	cfg := app.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.PublicOrg = demo.Slug
	cfg.CheckAllow = "127.0.0.1/32"
	if e == db.Postgres {
		cfg.DatabaseURL = dbtest.SchemaURL(t, dbtest.PostgresURL(t))
		cfg.SecretKey = (&keys.Ring{Entries: []keys.Entry{keys.NewEntry()}}).String()
		cfg.SigningKey = (&keys.Ring{Entries: []keys.Entry{keys.NewEntry()}}).String()
	}
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// seed seeds the demo into a with its checks pointed at an HTTP server of
// the instance itself, then runs each check once, as the job workers do
// after serve starts.
func seed(t *testing.T, a *app.App) *demo.Result {
	t.Helper()
	ctx := context.Background()
	srv := httptest.NewServer(a.Web.Handler())
	t.Cleanup(srv.Close)
	res, err := demo.Seed(ctx, a, demo.Options{SelfURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created {
		t.Fatal("the first seeding reports the demo as existing")
	}
	checks, err := a.Evidence.List(ctx, res.Org.ID, evidence.Filter{Kind: evidence.Check}, evidence.Reader{Restricted: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if c.Check.Kind == evidence.PushKind {
			continue
		}
		run, err := a.Evidence.RunCheck(ctx, res.Org.ID, c.ID)
		if err != nil {
			t.Fatalf("run %s: %v", c.Title, err)
		}
		// Only the HTTPS header check may fail: the server speaks plain HTTP.
		if wantPass := c.Check.Kind != "http_headers"; run.Passed != wantPass {
			t.Errorf("check %q of %s: passed %v, want %v (%s %+v)", c.Title, c.Check.Target, run.Passed, wantPass, run.Error, run.Assertions)
		}
	}
	return res
}

func TestSeed(t *testing.T) {
	for _, e := range dbtest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			ctx := context.Background()
			a := openApp(t, e, clock.NewSettable(at))
			res := seed(t, a)
			o := res.Org
			if o.Slug != demo.Slug || !o.PublicSite || o.RequireTOTP || o.TimeZone != demo.TimeZone {
				t.Errorf("organisation %+v", o)
			}

			adopted, err := a.Controls.Adoptions(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, ad := range adopted {
				got[ad.FrameworkID] = true
			}
			for _, f := range demo.Frameworks {
				if !got[f] {
					t.Errorf("framework %s not adopted (adopted: %v)", f, adopted)
				}
			}

			// Every control state occurs; public and private controls both.
			controls, err := a.Controls.List(ctx, o.ID, control.ListFilter{})
			if err != nil {
				t.Fatal(err)
			}
			states := map[control.State]int{}
			visibility := map[control.Visibility]int{}
			for _, c := range controls {
				states[c.State]++
				visibility[c.Visibility]++
			}
			for _, s := range control.ControlStates {
				if states[s] == 0 {
					t.Errorf("no control is %s (states: %v)", s, states)
				}
			}
			if visibility[control.Public] == 0 || visibility[control.Private] == 0 {
				t.Errorf("visibility of controls: %v", visibility)
			}
			t.Logf("%d controls: %v", len(controls), states)

			// The posture looks like a real programme: most requirements
			// covered, some not, a few not applicable.
			postures, err := a.Controls.Postures(ctx, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			na := 0
			for _, p := range postures {
				c := p.Counts
				t.Logf("%s %s: %d requirements, covered %.1f %% (verified %d, evidenced %d, unevidenced %d, stale %d, not implemented %d, failing %d, gap %d, not applicable %d)",
					p.Framework, p.Version, c.Requirements, p.Shares.Covered, c.Verified, c.Evidenced, c.Unevidenced, c.Stale, c.NotImplemented, c.Failing, c.Gap, c.NotApplicable)
				if p.Shares.Covered < 55 || p.Shares.Covered > 85 {
					t.Errorf("%s: %.1f %% covered, want a realistic 55 to 85 %%", p.FrameworkID, p.Shares.Covered)
				}
				na += c.NotApplicable
			}
			if na == 0 {
				t.Error("no requirement is marked not applicable")
			}

			// Evidence of every kind, with every visibility.
			items, err := a.Evidence.List(ctx, o.ID, evidence.Filter{}, evidence.Reader{Restricted: true})
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[evidence.Kind]int{}
			vis := map[evidence.Visibility]int{}
			for _, it := range items {
				kinds[it.Kind]++
				vis[it.Visibility]++
				if it.File != nil && it.File.ScanState == evidence.Quarantined {
					t.Errorf("%s is quarantined", it.Title)
				}
			}
			for _, k := range []evidence.Kind{evidence.File, evidence.Link, evidence.Note, evidence.Attestation, evidence.Check} {
				if kinds[k] == 0 {
					t.Errorf("no %s evidence (kinds: %v)", k, kinds)
				}
			}
			for _, v := range []evidence.Visibility{evidence.Public, evidence.Private, evidence.Restricted} {
				if vis[v] == 0 {
					t.Errorf("no %s evidence (%v)", v, vis)
				}
			}
			if len(items) != res.Evidence {
				t.Errorf("%d evidence items, the result says %d", len(items), res.Evidence)
			}

			// A notice still within its notice period.
			notices, err := a.Subprocessors.Notices(ctx, o.ID, 100)
			if err != nil {
				t.Fatal(err)
			}
			today := clock.DateIn(at, o.Location())
			pending := 0
			for _, n := range notices {
				if n.EffectiveOn > today {
					pending++
				}
			}
			if pending != 1 {
				t.Errorf("%d pending notices, want 1: %+v", pending, notices)
			}

			// The profile names a security contact, so security.txt is served.
			p, err := a.Profile.Get(ctx, o.ID)
			if err != nil || p.SecurityEmail != "security@postwell.example" {
				t.Errorf("profile %+v, %v", p, err)
			}
			certs, err := a.Profile.Certifications(ctx, o.ID)
			if err != nil || len(certs) != 3 {
				t.Errorf("%d certifications, %v", len(certs), err)
			}

			// The French public page shows translated texts.
			fr, err := a.Translations.Lookup(ctx, o.ID, "fr", "measure")
			if err != nil || len(fr) != res.Measures {
				t.Errorf("French measure titles: %d of %d, %v", len(fr), res.Measures, err)
			}

			// Every audit chain still verifies.
			chains, err := a.Audit.Chains(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range chains {
				rep, err := a.Audit.Verify(ctx, ch, nil)
				if err != nil || rep.Problem != nil {
					t.Errorf("chain %s: %+v, %v", ch, rep, err)
				}
			}

			// The admin's one-time link opens the page that sets a password.
			link, err := demo.SignInLink(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(link)
			if err != nil || !strings.HasPrefix(u.Path, "/app/reset/") {
				t.Fatalf("link %q", link)
			}
			w := httptest.NewRecorder()
			a.Web.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, u.Path, nil))
			if w.Code != http.StatusOK {
				t.Errorf("GET the sign-in link: %d", w.Code)
			}

			// A second start on the same data seeds nothing.
			before := counts(t, a, o.ID)
			again, err := demo.Seed(ctx, a, demo.Options{SelfURL: "http://127.0.0.1:1"})
			if err != nil {
				t.Fatal(err)
			}
			if again.Created || again.Org.ID != o.ID {
				t.Errorf("second seeding: %+v", again)
			}
			slices.Sort(res.CheckTargets)
			slices.Sort(again.CheckTargets)
			if !slices.Equal(again.CheckTargets, res.CheckTargets) || len(res.CheckTargets) != 4 {
				t.Errorf("check targets %v, want those of the first seeding %v", again.CheckTargets, res.CheckTargets)
			}
			if after := counts(t, a, o.ID); after != before {
				t.Errorf("a second seeding changed the demo: %+v, then %+v", before, after)
			}
			if orgs, err := a.Orgs.List(ctx); err != nil || len(orgs) != 1 {
				t.Errorf("%d organisations, %v", len(orgs), err)
			}
		})
	}
}

// The demo never mixes with real data, nor resumes an interrupted seeding.
func TestSeedRefuses(t *testing.T) {
	ctx := context.Background()
	a := openApp(t, db.SQLite, clock.NewSettable(at))
	if _, err := a.Orgs.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, a, demo.Options{}); !errors.Is(err, demo.ErrNotEmpty) || !strings.Contains(err.Error(), "acme") {
		t.Errorf("seeding an instance with an organisation: %v", err)
	}

	b := openApp(t, db.SQLite, clock.NewSettable(at))
	if _, err := b.Orgs.Create(ctx, org.CreateInput{Slug: demo.Slug, Name: demo.Name}); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, b, demo.Options{}); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("seeding over an unpublished demo organisation: %v", err)
	}
}

type tally struct {
	controls, evidence, measures, subprocessors, notices, certifications, roadmap, members int
}

func counts(t *testing.T, a *app.App, orgID string) tally {
	t.Helper()
	ctx := context.Background()
	var c tally
	controls, err1 := a.Controls.List(ctx, orgID, control.ListFilter{})
	items, err2 := a.Evidence.List(ctx, orgID, evidence.Filter{}, evidence.Reader{Restricted: true})
	measures, err3 := a.Measures.List(ctx, orgID, false)
	sps, err4 := a.Subprocessors.List(ctx, orgID, false)
	notices, err5 := a.Subprocessors.Notices(ctx, orgID, 1000)
	certs, err6 := a.Profile.Certifications(ctx, orgID)
	roadmap, err7 := a.Profile.Roadmap(ctx, orgID)
	members, err8 := a.Identity.Members(ctx, orgID)
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7, err8); err != nil {
		t.Fatal(err)
	}
	c.controls, c.evidence, c.measures, c.subprocessors = len(controls), len(items), len(measures), len(sps)
	c.notices, c.certifications, c.roadmap, c.members = len(notices), len(certs), len(roadmap), len(members)
	return c
}

func TestConfigure(t *testing.T) {
	tcp := func(s string) net.Addr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	for _, tc := range []struct {
		name                string
		cfg                 app.Config
		listener            net.Addr
		self, allow, public string
	}{
		{"loopback", app.Config{Addr: "127.0.0.1:8399"}, tcp("127.0.0.1:8399"), "http://127.0.0.1:8399", "127.0.0.1/32", demo.Slug},
		{"every address", app.Config{Addr: ":8080"}, tcp("0.0.0.0:8080"), "http://127.0.0.1:8080", "127.0.0.1/32", demo.Slug},
		{"the operator's settings kept", app.Config{Addr: "127.0.0.1:8080", CheckAllow: "10.0.0.0/8", PublicOrg: "acme"},
			tcp("127.0.0.1:8080"), "http://127.0.0.1:8080", "10.0.0.0/8,127.0.0.1/32", "acme"},
		{"allowed already", app.Config{Addr: "127.0.0.1:8080", CheckAllow: "127.0.0.1/32"},
			tcp("127.0.0.1:8080"), "http://127.0.0.1:8080", "127.0.0.1/32", demo.Slug},
		{"IPv6 loopback", app.Config{Addr: "[::1]:8080"}, tcp("[::1]:8080"), "http://[::1]:8080", "::1/128", demo.Slug},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			self, err := demo.Configure(&cfg, tc.listener)
			if err != nil || self != tc.self || cfg.CheckAllow != tc.allow || cfg.PublicOrg != tc.public {
				t.Errorf("self %q, check-allow %q, public-org %q, %v; want %q, %q, %q", self, cfg.CheckAllow, cfg.PublicOrg, err,
					tc.self, tc.allow, tc.public)
			}
		})
	}
	cfg := app.Config{Addr: "127.0.0.1:0"}
	if _, err := demo.Configure(&cfg, tcp("127.0.0.1:40123")); err != nil || cfg.BaseURL != "http://127.0.0.1:40123" {
		t.Errorf("port chosen by the system: base URL %q, %v", cfg.BaseURL, err)
	}
	cfg = app.Config{Addr: "127.0.0.1:8080", DatabaseURL: "postgres://db/evident"}
	if _, err := demo.Configure(&cfg, tcp("127.0.0.1:8080")); err == nil || !strings.Contains(err.Error(), "SQLite") {
		t.Errorf("PostgreSQL: %v", err)
	}
}

// What serve --demo does: prepare (seed) on a first opening, then announce
// on the instance that serves; a second start seeds nothing.
func TestPrepareAndAnnounce(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := clock.NewSettable(at)
	cfg := app.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Addr = "127.0.0.1:8399"
	self, err := demo.Configure(&cfg, net.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:8399")))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if _, err := demo.Prepare(ctx, cfg, log, clk, self, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Demo: seeding Postwell") || !strings.Contains(out.String(), "Demo: done in") {
		t.Errorf("first start printed:\n%s", out.String())
	}
	out.Reset()
	if _, err := demo.Prepare(ctx, cfg, log, clk, "http://127.0.0.1:9000", &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "seeded already") || !strings.Contains(s, "not this server") || strings.Contains(s, "Demo: seeding") {
		t.Errorf("second start on another port printed:\n%s", s)
	}

	a, err := app.Open(ctx, cfg, log, clk)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	out.Reset()
	if err := demo.Announce(ctx, a, &out); err != nil {
		t.Fatal(err)
	}
	want := []string{"Trust center: http://127.0.0.1:8399/\n", "Console:      http://127.0.0.1:8399/app/login\n",
		"Demo admin: http://127.0.0.1:8399/app/reset/"}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("announce printed:\n%s\nwant %q", out.String(), w)
		}
	}
}
