package evidence

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/check"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/job"
)

// A failing check makes its controls failing; the next passing run makes
// them verified; without a passing run for twice the interval they are
// stale.
func TestChecksDrivePosture(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, 1<<20)
		q := job.New(d, f.clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
		f.evidence.SetChecks(&check.Runner{Guard: &check.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
			Now: f.clk.Now, Timeout: 5 * time.Second}, q)
		var status atomic.Int32
		status.Store(200)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(int(status.Load())) }))
		defer srv.Close()

		c, err := f.controls.Create(ctx, f.org, control.Input{Title: "Availability monitoring", Status: control.Implemented})
		if err != nil {
			t.Fatal(err)
		}
		state := func() control.State {
			t.Helper()
			list, err := f.controls.List(ctx, f.org, control.ListFilter{})
			if err != nil {
				t.Fatal(err)
			}
			return list[0].State
		}
		if _, err := f.evidence.CreateCheck(ctx, f.org, CheckInput{Kind: check.KindHTTPUp, Target: "ftp://x"}); apperr.FieldOf(err) != "target" {
			t.Fatalf("bad target: %v", err)
		}
		if _, err := f.evidence.CreateCheck(ctx, f.org, CheckInput{Kind: check.KindTLS, Target: "example.com", Assertions: []string{"nope"}}); apperr.FieldOf(err) != "assertions" {
			t.Fatalf("unknown assertion: %v", err)
		}
		it, err := f.evidence.CreateCheck(ctx, f.org, CheckInput{Kind: check.KindHTTPUp, Target: srv.URL, ControlIDs: []string{c.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if it.Check.State != "pending" || it.Current || state() != control.Unevidenced {
			t.Fatalf("before the first run: %+v, control %s", it.Check, state())
		}
		// The first run was queued with the check.
		if ran, err := q.RunOne(ctx); err != nil || !ran {
			t.Fatalf("queued first run: %v %v", ran, err)
		}
		if s := state(); s != control.Verified {
			t.Fatalf("after a passing run: %s", s)
		}
		status.Store(500)
		f.clk.Advance(time.Minute)
		if run, err := f.evidence.RunCheck(ctx, f.org, it.ID); err != nil || run.Passed {
			t.Fatalf("failing run: %+v %v", run, err)
		}
		if s := state(); s != control.Failing {
			t.Fatalf("after a failing run: %s", s)
		}
		status.Store(200)
		f.clk.Advance(time.Minute)
		if _, err := f.evidence.RunCheck(ctx, f.org, it.ID); err != nil {
			t.Fatal(err)
		}
		if s := state(); s != control.Verified {
			t.Fatalf("after the next passing run: %s", s)
		}
		// No run for more than twice the interval: the evidence expired.
		f.clk.Advance(121 * time.Minute)
		if s := state(); s != control.Stale {
			t.Fatalf("two intervals without a run: %s", s)
		}
		// The scheduler queues the due run once, however often it looks.
		for range 2 {
			if err := f.evidence.enqueueDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var queued int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = 'queued'`, RunCheckJob).Scan(&queued); err != nil || queued != 1 {
			t.Fatalf("queued runs: %d %v", queued, err)
		}
		runs, states, err := f.evidence.CheckHistory(ctx, f.org, it.ID, Reader{})
		if err != nil || len(runs) != 3 || len(states) != 3 || states[0].State != "passing" || states[1].State != "failing" {
			t.Fatalf("history: %d runs, states %+v, %v", len(runs), states, err)
		}
		var changes int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'check.state_change'`).Scan(&changes); err != nil || changes != 3 {
			t.Fatalf("audited state changes: %d %v", changes, err)
		}

		// A target on a private address is refused by the guard when run.
		private, err := f.evidence.CreateCheck(ctx, f.org, CheckInput{Kind: check.KindHTTPUp, Target: "http://10.255.255.1/"})
		if err != nil {
			t.Fatal(err)
		}
		run, err := f.evidence.RunCheck(ctx, f.org, private.ID)
		if err != nil || run.Passed || !strings.Contains(run.Error, "10.255.255.1") {
			t.Fatalf("private target: %+v %v", run, err)
		}
	})
}

// The case: a failing TLS check makes its controls failing, the
// next passing run verifies them.
func TestTLSCheckDrivesPosture(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, 1<<20)
		var allowOld atomic.Bool
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		srv.StartTLS()
		defer srv.Close()
		base := srv.TLS.Clone()
		srv.TLS.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := base.Clone()
			if allowOld.Load() {
				c.MinVersion = tls.VersionTLS10
			}
			return c, nil
		}
		roots := x509.NewCertPool()
		roots.AddCert(srv.Certificate())
		q := job.New(d, f.clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
		f.evidence.SetChecks(&check.Runner{Guard: &check.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
			RootCAs: roots, Now: f.clk.Now, Timeout: 5 * time.Second}, q)
		c, _ := f.controls.Create(ctx, f.org, control.Input{Title: "Encryption in transit", Status: control.Implemented})
		it, err := f.evidence.CreateCheck(ctx, f.org, CheckInput{Kind: check.KindTLS, Target: strings.TrimPrefix(srv.URL, "https://"),
			ControlIDs: []string{c.ID}})
		if err != nil {
			t.Fatal(err)
		}
		state := func() control.State {
			list, _ := f.controls.List(ctx, f.org, control.ListFilter{})
			return list[0].State
		}
		allowOld.Store(true)
		if run, err := f.evidence.RunCheck(ctx, f.org, it.ID); err != nil || run.Passed {
			t.Fatalf("a server accepting TLS 1.0: %+v %v", run, err)
		}
		if s := state(); s != control.Failing {
			t.Fatalf("after the failing TLS run: %s", s)
		}
		allowOld.Store(false)
		f.clk.Advance(time.Minute)
		if run, err := f.evidence.RunCheck(ctx, f.org, it.ID); err != nil || !run.Passed {
			t.Fatalf("TLS 1.2+ only: %+v %v", run, err)
		}
		if s := state(); s != control.Verified {
			t.Fatalf("after the passing TLS run: %s", s)
		}
	})
}
