// Package demo seeds Postwell, a fictional mid-size e-mail SaaS, so that a
// newcomer sees a complete trust center and console a minute after
// `evident serve --demo`: three frameworks adopted from the library,
// controls in every posture state, evidence of every kind (automated checks
// pointed at the demo server itself), subprocessors with a pending change
// notice, measures, certifications, a security contact, French
// translations, and an admin whose one-time sign-in link the caller prints.
//
// Everything goes through the services, never through SQL, so the audit
// chain, change notices and every invariant hold as they do for real data.
// Every date comes from the application's clock, so a test at a fixed time
// gets the same demo each time.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/org"
)

// The demo organisation and its admin.
const (
	Slug       = "postwell"
	Name       = "Postwell"
	TimeZone   = "Europe/Paris"
	AdminEmail = "admin@postwell.example"
)

// Options say where the demo server answers.
type Options struct {
	// SelfURL is the demo server's own address as its automated checks
	// reach it, such as http://127.0.0.1:8080 (the guard must allow that
	// address). Empty: no check calls the server; the pushed results,
	// attestations and documents are seeded all the same.
	SelfURL string
}

// Result says what Seed found or made.
type Result struct {
	Org *org.Org
	// Created is false when the demo organisation existed already: then
	// nothing was changed and the counts are zero.
	Created       bool
	Frameworks    int
	Controls      int
	Evidence      int
	Checks        int // automated checks Evident runs (pushed results not included)
	Measures      int
	Subprocessors int
	Notices       int
	// CheckTargets are the addresses the checks call, to compare with the
	// server's address on a later start.
	CheckTargets []string
}

// ErrNotEmpty is returned when the instance holds organisations other than
// the demo's: the demo never mixes its fictional data with real data.
var ErrNotEmpty = errors.New("the demo is seeded only into an empty instance")

// Seed creates the demo organisation and everything in it. When the
// organisation exists already (a second start on the same data directory)
// it changes nothing and reports Created false; when the instance holds
// other organisations, or a demo whose seeding was interrupted, it refuses.
func Seed(ctx context.Context, a *app.App, opts Options) (*Result, error) {
	ctx = audit.WithActor(ctx, audit.System("demo"))
	existing, err := a.Orgs.BySlug(ctx, Slug)
	switch {
	case err == nil:
		// Publishing the trust center is the last step of seeding: an
		// unpublished demo organisation is an interrupted one.
		if !existing.PublicSite {
			return nil, fmt.Errorf("organisation %q exists but its demo is incomplete (was seeding interrupted?): start again with an empty data directory", Slug)
		}
		targets, err := checkTargets(ctx, a, existing.ID)
		if err != nil {
			return nil, err
		}
		return &Result{Org: existing, CheckTargets: targets}, nil
	case apperr.CodeOf(err) != apperr.NotFound:
		return nil, err
	}
	orgs, err := a.Orgs.List(ctx)
	if err != nil {
		return nil, err
	}
	if len(orgs) > 0 {
		slugs := make([]string, len(orgs))
		for i, o := range orgs {
			slugs[i] = o.Slug
		}
		return nil, fmt.Errorf("%w: this one holds %s; use an empty data directory", ErrNotEmpty, strings.Join(slugs, ", "))
	}
	if opts.SelfURL != "" {
		u, err := url.Parse(opts.SelfURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("demo: SelfURL %q is not an http(s) URL", opts.SelfURL)
		}
		opts.SelfURL = strings.TrimSuffix(u.Scheme+"://"+u.Host, "/")
	}
	s := &seeder{ctx: ctx, a: a, opts: opts, now: a.Clock.Now(), users: map[string]string{}, evidence: map[string]string{},
		res: &Result{Created: true}}
	for _, step := range []struct {
		what string
		fn   func() error
	}{
		{"organisation", s.organisation},
		{"people", s.people},
		{"frameworks", s.frameworks},
		{"controls", s.controls},
		{"applicability", s.applicability},
		{"evidence", s.evidenceItems},
		{"checks", s.checks},
		{"measures", s.measures},
		{"subprocessors", s.subprocessors},
		{"profile", s.profile},
		{"translations", s.translations},
		{"publication", s.publish},
	} {
		if err := step.fn(); err != nil {
			return nil, fmt.Errorf("seed the demo (%s): %w", step.what, err)
		}
	}
	return s.res, nil
}

// SignInLink returns a one-time link (valid one hour) with which the demo
// admin chooses a password and signs in. Each call makes a new one.
func SignInLink(ctx context.Context, a *app.App) (string, error) {
	return a.Identity.ResetLink(audit.WithActor(ctx, audit.System("demo")), AdminEmail)
}

// checkTargets lists the targets of the demo's checks.
func checkTargets(ctx context.Context, a *app.App, orgID string) ([]string, error) {
	items, err := a.Evidence.List(ctx, orgID, evidence.Filter{Kind: evidence.Check}, evidence.Reader{Restricted: true})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, it := range items {
		if it.Check != nil && it.Check.Kind != evidence.PushKind {
			out = append(out, it.Check.Target)
		}
	}
	return out, nil
}

// seeder carries the state of one seeding.
type seeder struct {
	ctx      context.Context
	a        *app.App
	opts     Options
	now      time.Time
	loc      *time.Location
	org      *org.Org
	users    map[string]string // handle -> user id
	byKey    map[string]string // library key -> control id
	evidence map[string]string // handle -> evidence id
	res      *Result
}

// date is the calendar date months and days before now in the
// organisation's time zone (negative: after).
func (s *seeder) date(months, days int) string {
	return clock.DateIn(s.now.In(s.loc).AddDate(0, -months, -days), s.loc)
}

// quarter names the quarter months from now: "2027 Q2".
func (s *seeder) quarter(months int) string {
	t := s.now.In(s.loc).AddDate(0, months, 0)
	return fmt.Sprintf("%d Q%d", t.Year(), (int(t.Month())-1)/3+1)
}

func (s *seeder) organisation() error {
	o, err := s.a.Orgs.Create(s.ctx, org.CreateInput{Slug: Slug, Name: Name, TimeZone: TimeZone})
	if err != nil {
		return err
	}
	s.org, s.loc, s.res.Org = o, o.Location(), o
	return nil
}

// people creates the admin and the colleagues who own controls. Their
// passwords are random and never shown: the admin signs in through the
// one-time link, the others are there to own things.
func (s *seeder) people() error {
	for _, p := range people {
		u, _, err := s.a.Identity.CreateMember(s.ctx, s.org.ID, identity.NewUser{Email: p.email, Name: p.name, Password: randomPassword()}, p.role)
		if err != nil {
			return err
		}
		s.users[p.handle] = u.ID
	}
	return nil
}

func randomPassword() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// publish opens the trust center: the last step, so that an unpublished
// demo organisation tells an interrupted seeding.
func (s *seeder) publish() error {
	if err := s.a.Orgs.SetSettings(s.ctx, s.org.ID, org.Settings{PublicSite: true}); err != nil {
		return err
	}
	s.org.PublicSite = true
	return nil
}

// controlIDs resolves library keys to the demo's control ids.
func (s *seeder) controlIDs(keys []string) ([]string, error) {
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		id, ok := s.byKey[k]
		if !ok {
			return nil, fmt.Errorf("the demo has no control of library practice %q", k)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
