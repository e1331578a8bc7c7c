package org

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// Host names the operator maps to organisations: a request whose Host
// header is a mapped name is served that organisation's public site. Only
// the operator maps names (evident host add): pointing the name's DNS at the
// instance and terminating TLS for it are the operator's work, and a name
// typed by an organisation's admin could claim another's domain.

// Host is a host name mapped to an organisation.
type Host struct {
	Name      string // lower case, no port, no trailing dot
	OrgID     string
	OrgSlug   string
	CreatedAt time.Time
	// OrgDeleted tells that the organisation was deleted: the name serves
	// nothing until it is removed and mapped again.
	OrgDeleted bool
}

// Limits of RFC 1035 on names in their textual form.
const (
	maxHostLen  = 253
	maxLabelLen = 63
)

// NormaliseHost checks a host name as the operator types it and returns it
// as stored: trimmed, lower case, without one trailing dot. It refuses
// ports, schemes, paths, IP addresses, wildcards and anything but letters,
// digits and hyphens in labels of 1 to 63 characters; internationalised
// names are written in punycode (xn--…).
func NormaliseHost(s string) (string, error) {
	typed := strings.TrimSpace(s)
	name, problem := checkHost(typed)
	if problem != "" {
		if typed == "" {
			return "", apperr.Field("host", "host name is required, such as trust.example.com")
		}
		return "", apperr.Field("host", "host name %q is invalid: %s", typed, problem)
	}
	return name, nil
}

// HostFromRequest returns the host name a request's Host header names: the
// port stripped, lower case, without a trailing dot. It returns "" when the
// header names no valid host name (an IP address, say), which maps to no
// organisation.
func HostFromRequest(hostHeader string) string {
	h := hostHeader
	if strings.HasPrefix(h, "[") {
		return "" // an IPv6 literal, with or without a port
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if strings.IndexByte(h[:i], ':') >= 0 {
			return "" // a bare IPv6 address
		}
		for _, c := range h[i+1:] {
			if c < '0' || c > '9' {
				return ""
			}
		}
		h = h[:i]
	}
	name, problem := checkHost(h)
	if problem != "" {
		return ""
	}
	return name
}

// checkHost validates a host name and returns it in lower case without its
// trailing dot, or what is wrong with it. Only ASCII is lower-cased: a
// Kelvin sign must not turn into a k.
func checkHost(h string) (string, string) {
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			return "", "write internationalised names in punycode (xn--…)"
		}
	}
	h = strings.ToLower(h)
	switch {
	case h == "":
		return "", "it is empty"
	case strings.Contains(h, "://"):
		return "", "give the name alone, without a scheme such as https://"
	case strings.ContainsAny(h, "/?#"):
		return "", "give the name alone, without a path"
	case strings.Contains(h, "@"):
		return "", "give the name alone, without a user name"
	case strings.Contains(h, "*"):
		return "", "wildcards are not supported: map each name"
	}
	if strings.HasPrefix(h, "[") || net.ParseIP(h) != nil {
		return "", "IP addresses cannot be mapped: use a DNS name"
	}
	if strings.Contains(h, ":") {
		if host, _, err := net.SplitHostPort(h); err == nil && net.ParseIP(host) != nil {
			return "", "IP addresses cannot be mapped: use a DNS name"
		}
		return "", "give the name without a port"
	}
	h = strings.TrimSuffix(h, ".")
	if len(h) > maxHostLen {
		return "", "it is longer than 253 characters"
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" {
			return "", "it has an empty label (two dots in a row, or a dot at the start)"
		}
		if len(l) > maxLabelLen {
			return "", "a label is longer than 63 characters"
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			case c == ' ' || c < 0x20 || c == 0x7f:
				return "", "it contains spaces or control characters"
			default:
				return "", "use only letters, digits and hyphens in each label"
			}
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", "a label cannot start or end with a hyphen"
		}
	}
	if len(labels) < 2 {
		return "", "it needs at least two labels, such as trust.example.com"
	}
	if numericLabel(labels[len(labels)-1]) {
		// 10.1, 192.168.1 and the like are read as IPv4 addresses by
		// browsers; no top-level domain is numeric.
		return "", "IP addresses cannot be mapped: use a DNS name"
	}
	return h, ""
}

func numericLabel(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// AddHost maps host to the live organisation with the slug. A name is
// mapped to one organisation at most: mapping it again, to any
// organisation, is a conflict naming the one it belongs to.
func (s *Service) AddHost(ctx context.Context, host, orgSlug string) error {
	name, err := NormaliseHost(host)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		o, err := bySlug(ctx, tx, NormaliseSlug(orgSlug))
		if err != nil {
			return err
		}
		if err := hostTaken(ctx, tx, name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO public_hosts (host, org_id, created_at) VALUES ($1, $2, $3)`,
			name, o.ID, clock.Micros(now)); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: o.ID, Action: "host.add", TargetType: "host", TargetID: name,
			Fields: map[string]any{"host": name}})
	})
	if db.IsUniqueViolation(err) {
		// Mapped by another transaction between the check and the insert.
		if taken := hostTaken(ctx, s.db.Read, name); taken != nil {
			return taken
		}
		return apperr.New(apperr.Conflict, "host name %q is already mapped", name)
	}
	if err != nil {
		return apperr.Wrap(err, "map host name")
	}
	return nil
}

// hostTaken returns a conflict naming the organisation name is mapped to,
// or nil when it is free.
func hostTaken(ctx context.Context, q db.Querier, name string) error {
	var slug string
	var deleted sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT o.slug, o.deleted_at FROM public_hosts h JOIN orgs o ON o.id = h.org_id WHERE h.host = $1`,
		name).Scan(&slug, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return apperr.Wrap(err, "read host name")
	}
	what := fmt.Sprintf("organisation %q", slug)
	if deleted.Valid {
		what = fmt.Sprintf("the deleted organisation %q", slug)
	}
	return &apperr.Error{Code: apperr.Conflict, Field: "host",
		Message: fmt.Sprintf("host name %q is already mapped to %s: remove that mapping first", name, what)}
}

// RemoveHost removes the mapping of host.
func (s *Service) RemoveHost(ctx context.Context, host string) error {
	name, err := NormaliseHost(host)
	if err != nil {
		return err
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var orgID string
		err := tx.QueryRowContext(ctx, `SELECT org_id FROM public_hosts WHERE host = $1`+tx.ForUpdate(), name).Scan(&orgID)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "host name %q is not mapped to any organisation", name)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM public_hosts WHERE host = $1`, name); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "host.remove", TargetType: "host", TargetID: name,
			Fields: map[string]any{"host": name}})
	})
	if err != nil {
		return apperr.Wrap(err, "remove host name")
	}
	return nil
}

// Hosts returns every mapped host name, by name.
func (s *Service) Hosts(ctx context.Context) ([]Host, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT h.host, h.org_id, o.slug, o.deleted_at, h.created_at
		FROM public_hosts h JOIN orgs o ON o.id = h.org_id`)
	if err != nil {
		return nil, apperr.Wrap(err, "list host names")
	}
	defer rows.Close()
	var out []Host
	for rows.Next() {
		var h Host
		var deleted sql.NullInt64
		var created int64
		if err := rows.Scan(&h.Name, &h.OrgID, &h.OrgSlug, &deleted, &created); err != nil {
			return nil, apperr.Wrap(err, "list host names")
		}
		h.OrgDeleted, h.CreatedAt = deleted.Valid, clock.FromMicros(created)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, "list host names")
	}
	// Sorted in Go: the engines' collations differ.
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// OrgForHost returns the live organisation host is mapped to. host may be
// a Host header as received (with a port, in any case); NotFound when it is
// not mapped, not a valid name, or its organisation was deleted.
func (s *Service) OrgForHost(ctx context.Context, host string) (*Org, error) {
	name := HostFromRequest(host)
	if name == "" {
		return nil, apperr.New(apperr.NotFound, "no organisation for this host name")
	}
	o, err := scan(s.db.Read.QueryRowContext(ctx, `SELECT `+columns+` FROM orgs
		WHERE deleted_at IS NULL AND id IN (SELECT org_id FROM public_hosts WHERE host = $1)`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no organisation for host name %q", name)
	}
	if err != nil {
		return nil, apperr.Wrap(err, "read organisation of host name")
	}
	return o, nil
}
