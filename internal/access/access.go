// Package access keeps the requests visitors of the public trust center
// send for restricted documents (evidence items of visibility restricted):
// the form stores who asked for which document and why, and mails every
// admin of the organisation, who answers outside Evident and marks the
// request handled.
//
// The form must reveal nothing about items a visitor may not see: a private,
// public, deleted or quarantined item, or another organisation's, is
// simply not found. Its rate limits count per client address (answered
// openly) and per e-mail address (silently: past the limit a request is
// still stored, but no longer mailed to the admins).
package access

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/i18n"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/mail"
	"github.com/evident-isms/evident/internal/valid"
)

// States of a request.
const (
	Open    = "open"
	Handled = "handled"
)

// Limits of the public form: per client address, and per e-mail address
// within one organisation (past it, requests are kept but not mailed, so a
// stream of requests in one name cannot flood the admins' mailboxes).
var (
	AddressLimit = identity.Window{N: 10, Length: time.Hour}
	MailLimit    = identity.Window{N: 5, Length: 24 * time.Hour}
)

// Lengths of the form's fields, in characters.
const (
	MaxName    = 200
	MaxCompany = 200
	MaxReason  = 2000
	maxID      = 64
)

// Input is what the public form sends.
type Input struct {
	EvidenceID string
	Name       string
	Email      string
	Company    string
	Reason     string
	Lang       string // the visitor's language: the admins answer in it
	// Client is the visitor's address (as netip parses it): it is rate
	// limited. An empty or unparseable one counts as "unknown".
	Client string
}

// Request is one request, as an organisation's admins see it.
type Request struct {
	ID            string     `json:"id"`
	EvidenceID    string     `json:"evidence_id"`
	EvidenceTitle string     `json:"evidence_title" doc:"The title of the document asked for."`
	Name          string     `json:"name"`
	Email         string     `json:"email"`
	Company       string     `json:"company"`
	Reason        string     `json:"reason"`
	Lang          string     `json:"lang" doc:"The visitor's language: answer in it."`
	State         string     `json:"state" enum:"open,handled"`
	CreatedAt     time.Time  `json:"created_at"`
	HandledAt     *time.Time `json:"handled_at,omitempty"`
	HandledBy     string     `json:"handled_by,omitempty" doc:"The user who marked it handled."`
	HandledByName string     `json:"handled_by_name,omitempty"`
}

// Config wires the service.
type Config struct {
	DB      *db.DB
	Clock   clock.Clock
	Audit   *audit.Log
	Mail    *mail.Mailer
	Limiter *identity.Limiter
	BaseURL string // the console link in the admins' message is built from it
}

// Service keeps access requests.
type Service struct{ cfg Config }

// New returns the service.
func New(cfg Config) *Service { return &Service{cfg: cfg} }

func errNoDocument() error {
	return apperr.New(apperr.NotFound, "There is no such restricted document.")
}

func errNoRequest() error { return apperr.New(apperr.NotFound, "no such access request") }

// oneLine checks a field that must fit on one line (a name in a subject).
func oneLine(field, v string, max int, required bool) error {
	if err := valid.Text(field, v, max, required); err != nil {
		return err
	}
	if strings.ContainsAny(v, "\t\r\n") {
		return apperr.Field(field, "%s must be one line of text", field)
	}
	return nil
}

// clean checks the form and returns it trimmed.
func (in Input) clean() (Input, error) {
	in.Name, in.Email, in.Company = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email), strings.TrimSpace(in.Company)
	in.Reason = strings.TrimSpace(strings.ReplaceAll(in.Reason, "\r\n", "\n"))
	if err := oneLine("name", in.Name, MaxName, true); err != nil {
		return in, err
	}
	if err := identity.CheckEmail(in.Email); err != nil {
		return in, err
	}
	if err := oneLine("company", in.Company, MaxCompany, false); err != nil {
		return in, err
	}
	if err := valid.Text("reason", in.Reason, MaxReason, false); err != nil {
		return in, err
	}
	in.Lang = i18n.Match(in.Lang)
	return in, nil
}

func client(addr string) identity.Client {
	ip, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return identity.Client{}
	}
	return identity.Client{IP: ip}
}

// Request stores a visitor's request for a restricted document and mails
// every admin of the organisation, in one transaction with its audit
// event.
func (s *Service) Request(ctx context.Context, orgID string, in Input) error {
	in, err := in.clean()
	if err != nil {
		return err
	}
	// Counted before the item is looked up, so identifiers cannot be
	// probed faster than the form can be sent.
	if wait, err := s.cfg.Limiter.Take(ctx, identity.RateKey("access-request-address", client(in.Client).LimitSubject()), AddressLimit); err != nil {
		return err
	} else if wait > 0 {
		return identity.TooManyAttempts(wait)
	}
	if in.EvidenceID == "" || len(in.EvidenceID) > maxID || !valid.PlainText(in.EvidenceID) {
		return errNoDocument()
	}
	norm := identity.NormaliseEmail(in.Email)
	// Outside the transaction: on SQLite the limiter writes on the one
	// writer connection the transaction would hold.
	wait, err := s.cfg.Limiter.Take(ctx, identity.RateKey("access-request-email", orgID+"|"+norm), MailLimit)
	if err != nil {
		return err
	}
	notify := wait == 0
	return apperr.Wrap(s.cfg.DB.InTx(ctx, func(tx *db.Tx) error {
		var title, orgName, slug string
		err := tx.QueryRowContext(ctx, `
			SELECT e.title, o.name, o.slug FROM evidence e JOIN orgs o ON o.id = e.org_id
			WHERE e.org_id = $1 AND e.id = $2 AND e.visibility = 'restricted' AND e.kind <> 'check' AND e.deleted_at IS NULL
				AND e.scan_state <> 'quarantined' AND o.deleted_at IS NULL`, orgID, in.EvidenceID).Scan(&title, &orgName, &slug)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoDocument()
		}
		if err != nil {
			return err
		}
		now := s.cfg.Clock.Now()
		id := db.NewID(now)
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO access_requests (id, org_id, evidence_id, name, email, email_norm, company, reason, lang, state, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10)`,
			id, orgID, in.EvidenceID, in.Name, in.Email, norm, in.Company, in.Reason, in.Lang, clock.Micros(now)); err != nil {
			return err
		}
		// Who asked, and why, enter the chain only as commitments.
		if err := s.cfg.Audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "access_request.create", Actor: audit.System("public"),
			TargetType: "access_request", TargetID: id, Fields: map[string]any{"evidence_id": in.EvidenceID, "lang": in.Lang, "mailed": notify},
			Personal: map[string]string{"name": in.Name, "email": in.Email, "company": in.Company, "reason": in.Reason}}); err != nil {
			return err
		}
		if !notify {
			return nil
		}
		admins, err := adminEmails(ctx, tx, orgID)
		if err != nil {
			return err
		}
		subject, text := s.message(orgName, slug, title, in)
		for _, to := range admins {
			if _, err := s.cfg.Mail.Enqueue(ctx, tx, mail.Message{OrgID: orgID, To: to, Subject: subject, Text: text}); err != nil {
				return err
			}
		}
		return nil
	}), "store access request")
}

// adminEmails lists the addresses of the organisation's admins.
func adminEmails(ctx context.Context, q db.Querier, orgID string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = $1 AND m.role = 'admin' AND u.deleted_at IS NULL`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ConsolePath is the console page of an organisation's requests.
func ConsolePath(slug string) string { return "/app/o/" + url.PathEscape(slug) + "/access-requests" }

// message is the admins' e-mail. What the visitor typed is quoted, never
// mixed with the message's own sentences.
func (s *Service) message(orgName, slug, title string, in Input) (subject, text string) {
	flat := func(v string) string { return strings.Join(strings.Fields(v), " ") }
	subject = fmt.Sprintf("Access request for “%s” (%s)", flat(title), flat(orgName))
	var b strings.Builder
	fmt.Fprintf(&b, "A visitor of the trust center of %s asks for access to the restricted document “%s”.\n\n", flat(orgName), flat(title))
	fmt.Fprintf(&b, "Name:     %s\nE-mail:   %s\n", in.Name, in.Email)
	if in.Company != "" {
		fmt.Fprintf(&b, "Company:  %s\n", in.Company)
	}
	fmt.Fprintf(&b, "Language: %s (%s)\n", i18n.Name(in.Lang), in.Lang)
	if in.Reason != "" {
		b.WriteString("\nReason, as they wrote it:\n")
		for _, line := range strings.Split(in.Reason, "\n") {
			b.WriteString("> " + line + "\n")
		}
	}
	fmt.Fprintf(&b, "\nCheck who they are before sending anything; answer them at their address, then mark the request handled:\n%s%s\n",
		strings.TrimSuffix(s.cfg.BaseURL, "/"), ConsolePath(slug))
	b.WriteString("\nYou receive this message as an admin of " + flat(orgName) + " on Evident.\n")
	return subject, b.String()
}

const columns = `r.id, r.evidence_id, COALESCE(e.title, ''), r.name, r.email, r.company, r.reason, r.lang, r.state, r.created_at,
	r.handled_at, COALESCE(r.handled_by, ''), COALESCE(NULLIF(u.name, ''), u.email, '')`

const from = ` FROM access_requests r
	LEFT JOIN evidence e ON e.org_id = r.org_id AND e.id = r.evidence_id
	LEFT JOIN users u ON u.id = r.handled_by`

type scanner interface{ Scan(...any) error }

func scan(sc scanner) (*Request, error) {
	var r Request
	var created int64
	var handled sql.NullInt64
	if err := sc.Scan(&r.ID, &r.EvidenceID, &r.EvidenceTitle, &r.Name, &r.Email, &r.Company, &r.Reason, &r.Lang, &r.State, &created,
		&handled, &r.HandledBy, &r.HandledByName); err != nil {
		return nil, err
	}
	r.CreatedAt = clock.FromMicros(created)
	if handled.Valid {
		t := clock.FromMicros(handled.Int64)
		r.HandledAt = &t
	}
	return &r, nil
}

// List returns the organisation's requests, newest first.
func (s *Service) List(ctx context.Context, orgID string) ([]Request, error) {
	rows, err := s.cfg.DB.Read.QueryContext(ctx, `SELECT `+columns+from+` WHERE r.org_id = $1 ORDER BY r.created_at DESC, r.id DESC`, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "list access requests")
	}
	defer rows.Close()
	out := []Request{}
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, apperr.Wrap(err, "list access requests")
		}
		out = append(out, *r)
	}
	return out, apperr.Wrap(rows.Err(), "list access requests")
}

// Get returns one request.
func (s *Service) Get(ctx context.Context, orgID, id string) (*Request, error) {
	if !validID(id) {
		return nil, errNoRequest()
	}
	r, err := scan(s.cfg.DB.Read.QueryRowContext(ctx, `SELECT `+columns+from+` WHERE r.org_id = $1 AND r.id = $2`, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoRequest()
	}
	return r, apperr.Wrap(err, "read access request")
}

func validID(id string) bool { return id != "" && len(id) <= maxID && valid.PlainText(id) }

// userOf returns the user a context's actor acts for: the user itself, or
// an API token's owner; "" for the system.
func userOf(ctx context.Context, q db.Querier, orgID string) (string, error) {
	r := audit.RequestFrom(ctx)
	if r == nil {
		return "", nil
	}
	switch r.Actor.Type {
	case audit.ActorUser:
		return r.Actor.ID, nil
	case audit.ActorToken:
		var user string
		err := q.QueryRowContext(ctx, `SELECT user_id FROM api_tokens WHERE org_id = $1 AND id = $2`, orgID, r.Actor.ID).Scan(&user)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return user, err
	}
	return "", nil
}

// MarkHandled records that a request was answered, and by whom. Marking a
// handled request again changes nothing.
func (s *Service) MarkHandled(ctx context.Context, orgID, id string) error {
	if !validID(id) {
		return errNoRequest()
	}
	return apperr.Wrap(s.cfg.DB.InTx(ctx, func(tx *db.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM access_requests WHERE org_id = $1 AND id = $2`+tx.ForUpdate(), orgID, id).Scan(&state)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoRequest()
		}
		if err != nil {
			return err
		}
		if state == Handled {
			return nil
		}
		user, err := userOf(ctx, tx, orgID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE access_requests SET state = 'handled', handled_at = $3, handled_by = $4
			WHERE org_id = $1 AND id = $2`, orgID, id, clock.Micros(s.cfg.Clock.Now()), db.NullIfEmpty(user)); err != nil {
			return err
		}
		return s.cfg.Audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "access_request.handle", TargetType: "access_request", TargetID: id,
			Fields: map[string]any{"state": Handled, "handled_by": user}})
	}), "mark access request handled")
}

// Delete forgets a request at once (an erasure request, or spam) rather
// than a year after it was sent.
func (s *Service) Delete(ctx context.Context, orgID, id string) error {
	if !validID(id) {
		return errNoRequest()
	}
	return apperr.Wrap(s.cfg.DB.InTx(ctx, func(tx *db.Tx) error {
		var evidenceID string
		err := tx.QueryRowContext(ctx, `DELETE FROM access_requests WHERE org_id = $1 AND id = $2 RETURNING evidence_id`, orgID, id).Scan(&evidenceID)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoRequest()
		}
		if err != nil {
			return err
		}
		return s.cfg.Audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "access_request.delete", TargetType: "access_request", TargetID: id,
			Fields: map[string]any{"evidence_id": evidenceID}})
	}), "delete access request")
}
