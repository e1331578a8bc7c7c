package org_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/org"
)

func TestNormaliseHost(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	// 4 labels of 63 and the dots: 255 characters; one label of 61: 253.
	long := strings.Join([]string{label63, label63, label63, label63}, ".")
	longest := strings.Join([]string{label63, label63, label63, strings.Repeat("b", 61)}, ".")
	tests := []struct {
		in   string
		want string // "" when refused
		msg  string // part of the refusal
	}{
		{"trust.example.com", "trust.example.com", ""},
		{"  Trust.Example.COM  ", "trust.example.com", ""},
		{"trust.example.com.", "trust.example.com", ""},
		{"example.com", "example.com", ""},
		{"a-b.c-d.example", "a-b.c-d.example", ""},
		{"xn--caf-dma.example", "xn--caf-dma.example", ""},
		{"trust.xn--p1ai", "trust.xn--p1ai", ""},
		{"123.example.com", "123.example.com", ""},
		{label63 + ".example", label63 + ".example", ""},
		{longest, longest, ""},
		{"", "", "required"},
		{"   ", "", "required"},
		{"localhost", "", "at least two labels"},
		{"example.com..", "", "empty label"},
		{"a..example.com", "", "empty label"},
		{".example.com", "", "empty label"},
		{".", "", "empty label"},
		{"example.com:443", "", "without a port"},
		{"example.com:", "", "without a port"},
		{"https://example.com", "", "without a scheme"},
		{"example.com/trust", "", "without a path"},
		{"example.com?x=1", "", "without a path"},
		{"user@example.com", "", "without a user name"},
		{"*.example.com", "", "wildcards"},
		{"192.0.2.1", "", "IP addresses"},
		{"192.0.2.1:80", "", "IP addresses"},
		{"::1", "", "IP addresses"},
		{"[::1]", "", "IP addresses"},
		{"[2001:db8::1]:443", "", "IP addresses"},
		{"10.1", "", "IP addresses"},
		{"127.1.", "", "IP addresses"},
		{"-trust.example.com", "", "hyphen"},
		{"trust-.example.com", "", "hyphen"},
		{"trust.example.com-", "", "hyphen"},
		{"tru_st.example.com", "", "letters, digits and hyphens"},
		{"trust.exa!mple.com", "", "letters, digits and hyphens"},
		{"café.example", "", "punycode"},
		{"\u212a.example", "", "punycode"}, // Kelvin sign, lower case k in Unicode
		{"TRUST.\u0130.example", "", "punycode"},
		{"trust example.com", "", "spaces"},
		{"trust.example.com\x00", "", "control characters"},
		{label63 + "a.example", "", "longer than 63"},
		{long, "", "longer than 253"},
	}
	for _, tt := range tests {
		got, err := org.NormaliseHost(tt.in)
		if tt.want != "" {
			if err != nil || got != tt.want {
				t.Errorf("NormaliseHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("NormaliseHost(%q) = %q, want an error containing %q", tt.in, got, tt.msg)
			continue
		}
		if apperr.CodeOf(err) != apperr.Invalid || apperr.FieldOf(err) != "host" || !strings.Contains(apperr.MessageOf(err), tt.msg) {
			t.Errorf("NormaliseHost(%q): %v (code %s, field %q), want an invalid host containing %q",
				tt.in, err, apperr.CodeOf(err), apperr.FieldOf(err), tt.msg)
		}
	}
}

func TestHostFromRequest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"trust.example.com", "trust.example.com"},
		{"Trust.Example.com", "trust.example.com"},
		{"trust.example.com:8443", "trust.example.com"},
		{"trust.example.com.", "trust.example.com"},
		{"TRUST.example.com.:443", "trust.example.com"},
		{"trust.example.com:", "trust.example.com"},
		{"xn--caf-dma.example", "xn--caf-dma.example"},
		{"", ""},
		{"localhost", ""},
		{"localhost:8080", ""},
		{"127.0.0.1", ""},
		{"127.0.0.1:8080", ""},
		{"[::1]", ""},
		{"[::1]:8080", ""},
		{"[2001:db8::1]:443", ""},
		{"2001:db8::1", ""},
		{"trust.example.com:http", ""},
		{"trust.example.com:80:80", ""},
		{"*.example.com", ""},
		{"trust..example.com", ""},
		{"tru_st.example.com", ""},
		{"café.example", ""},
		{"\u212a.example", ""},
		{"-x.example.com", ""},
		{" trust.example.com", ""},
		{"trust.example.com/x", ""},
	}
	for _, tt := range tests {
		if got := org.HostFromRequest(tt.in); got != tt.want {
			t.Errorf("HostFromRequest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Any name NormaliseHost accepts is stored in the form a request's Host
// header maps to, and normalising it again changes nothing.
func FuzzNormaliseHost(f *testing.F) {
	for _, seed := range []string{"trust.example.com", "Trust.Example.COM.", "xn--caf-dma.example", "a..b", "[::1]:80",
		"10.1", "a.b:443", "K.example", "\u0130.example", "-a.b", " a.b\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		name, err := org.NormaliseHost(typed)
		if err != nil {
			if apperr.FieldOf(err) != "host" {
				t.Fatalf("%q: %v", typed, err)
			}
			return
		}
		if again, err := org.NormaliseHost(name); err != nil || again != name {
			t.Fatalf("%q normalised to %q, then to %q, %v", typed, name, again, err)
		}
		if got := org.HostFromRequest(name); got != name {
			t.Fatalf("%q normalised to %q, but a request for it maps to %q", typed, name, got)
		}
		if got := org.HostFromRequest(name + ":443"); got != name {
			t.Fatalf("a request for %q on port 443 maps to %q", name, got)
		}
		if len(name) > 253 || strings.ToLower(name) != name || strings.HasSuffix(name, ".") || !strings.Contains(name, ".") {
			t.Fatalf("accepted %q as %q", typed, name)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
				t.Fatalf("accepted %q as %q", typed, name)
			}
		}
	})
}

func TestHosts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
		k, err := keys.Load(keys.Config{DataDir: t.TempDir(), Generate: true})
		if err != nil {
			t.Fatal(err)
		}
		log := audit.New(d, clk, k)
		touched := map[string]int{}
		log.OnOrgChange(func(_ context.Context, _ *db.Tx, orgID string) error {
			touched[orgID]++
			return nil
		})
		s := org.NewService(d, clk, log)
		acme, err := s.Create(ctx, org.CreateInput{Slug: "acme", Name: "Acme"})
		if err != nil {
			t.Fatal(err)
		}
		beta, err := s.Create(ctx, org.CreateInput{Slug: "beta", Name: "Beta"})
		if err != nil {
			t.Fatal(err)
		}
		clear(touched)

		if err := s.AddHost(ctx, "Trust.Acme.example.", " ACME "); err != nil {
			t.Fatal(err)
		}
		if err := s.AddHost(ctx, "security.acme.example", "acme"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddHost(ctx, "trust.beta.example", "beta"); err != nil {
			t.Fatal(err)
		}
		if touched[acme.ID] != 2 || touched[beta.ID] != 1 {
			t.Fatalf("organisation changes announced: %v, want 2 for acme and 1 for beta", touched)
		}

		// A name belongs to one organisation.
		for _, slug := range []string{"acme", "beta"} {
			err := s.AddHost(ctx, "TRUST.acme.example", slug)
			if apperr.CodeOf(err) != apperr.Conflict || apperr.FieldOf(err) != "host" ||
				!strings.Contains(apperr.MessageOf(err), `host name "trust.acme.example" is already mapped to organisation "acme"`) {
				t.Fatalf("mapping a mapped name to %s: %v", slug, err)
			}
		}
		if err := s.AddHost(ctx, "other.example", "nope"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("unknown organisation: %v", err)
		}
		if err := s.AddHost(ctx, "https://other.example", "acme"); apperr.CodeOf(err) != apperr.Invalid || apperr.FieldOf(err) != "host" {
			t.Fatalf("invalid name: %v", err)
		}

		hosts, err := s.Hosts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, h := range hosts {
			names = append(names, h.Name+"="+h.OrgSlug)
			if h.CreatedAt.IsZero() || h.OrgDeleted {
				t.Errorf("host %+v", h)
			}
		}
		if strings.Join(names, " ") != "security.acme.example=acme trust.acme.example=acme trust.beta.example=beta" {
			t.Fatalf("hosts: %v", names)
		}
		if hosts[0].OrgID != acme.ID || !hosts[0].CreatedAt.Equal(clk.Now()) {
			t.Fatalf("first host: %+v", hosts[0])
		}

		for in, want := range map[string]string{"trust.acme.example": "acme", "Trust.Acme.Example.:8443": "acme", "trust.beta.example": "beta"} {
			o, err := s.OrgForHost(ctx, in)
			if err != nil || o.Slug != want {
				t.Fatalf("OrgForHost(%q): %+v, %v; want %s", in, o, err, want)
			}
		}
		for _, in := range []string{"unmapped.example", "", "127.0.0.1:8080", "acme"} {
			if _, err := s.OrgForHost(ctx, in); apperr.CodeOf(err) != apperr.NotFound {
				t.Fatalf("OrgForHost(%q): %v, want not found", in, err)
			}
		}

		clear(touched)
		if err := s.RemoveHost(ctx, "Security.acme.example."); err != nil {
			t.Fatal(err)
		}
		if touched[acme.ID] != 1 {
			t.Fatalf("removal announced %v, want once for acme", touched)
		}
		if err := s.RemoveHost(ctx, "security.acme.example"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("removing an unmapped name: %v", err)
		}
		if err := s.RemoveHost(ctx, "security.acme.example:443"); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("removing an invalid name: %v", err)
		}
		if _, err := s.OrgForHost(ctx, "security.acme.example"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("removed name still maps: %v", err)
		}
		// Removed, the name can be mapped again, to another organisation.
		if err := s.AddHost(ctx, "security.acme.example", "beta"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveHost(ctx, "security.acme.example"); err != nil {
			t.Fatal(err)
		}

		// Each change is on its organisation's chain, none on the instance's.
		for _, c := range []struct {
			chain, action string
			want          int
		}{
			{acme.ID, "host.add", 2}, {acme.ID, "host.remove", 1},
			{beta.ID, "host.add", 2}, {beta.ID, "host.remove", 1},
			{audit.InstanceChain, "host.add", 0},
		} {
			var n int
			if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE chain = $1 AND action = $2`, c.chain, c.action).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != c.want {
				t.Errorf("%d %s events on chain %s, want %d", n, c.action, c.chain, c.want)
			}
		}
		var target string
		if err := d.Read.QueryRowContext(ctx, `SELECT target FROM audit_events WHERE chain = $1 AND action = 'host.remove'`, acme.ID).Scan(&target); err != nil || target != "security.acme.example" {
			t.Fatalf("removal's target: %q, %v", target, err)
		}
		if rep, err := log.Verify(ctx, acme.ID, nil); err != nil || rep.Problem != nil {
			t.Fatalf("acme's chain: %+v, %v", rep, err)
		}

		// A deleted organisation's names serve nothing, yet stay taken
		// until the operator removes them.
		if _, err := d.Write.ExecContext(ctx, `UPDATE orgs SET deleted_at = 1 WHERE id = $1`, beta.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OrgForHost(ctx, "trust.beta.example"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("name of a deleted organisation: %v", err)
		}
		hosts, _ = s.Hosts(ctx)
		if len(hosts) != 2 || hosts[1].Name != "trust.beta.example" || !hosts[1].OrgDeleted || hosts[0].OrgDeleted {
			t.Fatalf("hosts after deletion: %+v", hosts)
		}
		err = s.AddHost(ctx, "trust.beta.example", "acme")
		if apperr.CodeOf(err) != apperr.Conflict || !strings.Contains(apperr.MessageOf(err), `the deleted organisation "beta"`) {
			t.Fatalf("mapping a deleted organisation's name: %v", err)
		}
		if err := s.AddHost(ctx, "new.beta.example", "beta"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("mapping to a deleted organisation: %v", err)
		}
		if err := s.RemoveHost(ctx, "trust.beta.example"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddHost(ctx, "trust.beta.example", "acme"); err != nil {
			t.Fatal(err)
		}
	})
}
