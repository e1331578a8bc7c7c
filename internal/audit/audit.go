// Package audit is the append-only, hash-chained audit log (DESIGN.md
// invariant 3): one chain per organisation and one instance chain, gap-free
// sequence numbers, personal data only as salted commitments, signed
// checkpoints, verification and export. docs/audit-chain.md is the
// algorithm's specification.
package audit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/keys"
)

// InstanceChain is the chain of events that belong to no organisation:
// sign-in, passwords, second factor.
const InstanceChain = "instance"

// Actor types.
const (
	ActorUser   = "user"
	ActorToken  = "token"
	ActorSystem = "system"
)

// Actor is who caused an event: a user (console), an API token (whose
// owner is in the event's fields), or the system (the CLI, a job).
type Actor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// System is an actor for work no person started; part names it ("cli",
// "retention", …).
func System(part string) Actor { return Actor{Type: ActorSystem, ID: part} }

// Request is what the HTTP layer knows about the request an event comes
// from. The web middleware puts one in the context and fills Actor once the
// route's check has identified the caller.
type Request struct {
	ID        string
	ClientIP  string
	UserAgent string
	Actor     Actor
}

type requestKey struct{}

// WithRequest returns a context carrying r; services read it in Record.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request of ctx, or nil.
func RequestFrom(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// WithActor returns a context whose events name actor (the CLI, jobs).
func WithActor(ctx context.Context, actor Actor) context.Context {
	r := &Request{Actor: actor}
	if prev := RequestFrom(ctx); prev != nil {
		copied := *prev
		copied.Actor = actor
		r = &copied
	}
	return WithRequest(ctx, r)
}

// Event is one change (or sensitive read) to record.
type Event struct {
	OrgID      string // empty: the instance chain
	Action     string // resource.verb, e.g. "membership.role_change"
	Actor      Actor  // empty: the context's actor, else the system
	TargetType string
	TargetID   string
	// Fields are the changed fields: strings, integers, booleans, nil or
	// lists of strings. Never secrets. Names in PersonalFields are taken
	// out and kept as commitments.
	Fields map[string]any
	// Personal is more personal data worth keeping about the event (the
	// e-mail address tried at a failed sign-in, say); it too becomes
	// commitments.
	Personal map[string]string
}

// PersonalFields are field names whose values are personal data wherever
// they appear in Fields.
var PersonalFields = map[string]bool{
	"email": true, "name": true, "client_ip": true, "user_agent": true, "phone": true,
}

var actionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`)

// Log records events.
type Log struct {
	db    *db.DB
	clock clock.Clock
	keys  *keys.Keys
	// changed runs in the transaction of every change to an organisation:
	// the trust center bumps its cache revision there, so every audited
	// change a visitor could see reaches the public pages at once.
	changed func(ctx context.Context, tx *db.Tx, orgID string) error
}

// OnOrgChange sets the function run in the transaction of every recorded
// organisation event and of every Touch.
func (l *Log) OnOrgChange(f func(ctx context.Context, tx *db.Tx, orgID string) error) { l.changed = f }

// Touch tells, in tx, that an organisation's data changed in a way too
// routine to audit (an automated check ran again with the same outcome).
func (l *Log) Touch(ctx context.Context, tx *db.Tx, orgID string) error {
	if l.changed == nil || orgID == "" {
		return nil
	}
	return l.changed(ctx, tx, orgID)
}

// New returns the audit log.
func New(d *db.DB, c clock.Clock, k *keys.Keys) *Log {
	return &Log{db: d, clock: c, keys: k}
}

// Entry is one link of a chain as it is hashed.
type Entry struct {
	Chain      string            `json:"chain"`
	Seq        int64             `json:"seq"`
	Time       int64             `json:"time"` // microseconds since the epoch, UTC
	Action     string            `json:"action"`
	Actor      Actor             `json:"actor"`
	Target     Target            `json:"target"`
	RequestID  string            `json:"request_id"`
	Fields     map[string]any    `json:"fields"`
	Commitment map[string]string `json:"personal"` // name -> hex commitment
}

// Target is what an event is about.
type Target struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// GenesisHash is the hash "before" the first entry of every chain.
var GenesisHash = strings.Repeat("0", 64)

// Record appends ev to its chain in tx, the transaction of the change it
// describes: the event exists exactly when the change does. The chain's
// head row is locked until tx ends, so concurrent writers get consecutive
// sequence numbers.
func (l *Log) Record(ctx context.Context, tx *db.Tx, ev Event) error {
	if !actionPattern.MatchString(ev.Action) {
		return apperr.New(apperr.Internal, "audit: action %q is not resource.verb", ev.Action)
	}
	req := RequestFrom(ctx)
	if req == nil {
		req = &Request{}
	}
	actor := ev.Actor
	if actor.Type == "" {
		actor = req.Actor
	}
	if actor.Type == "" {
		actor = System("unknown")
	}
	fields := map[string]any{}
	personal := map[string]string{}
	for k, v := range ev.Fields {
		if PersonalFields[k] {
			if v != nil {
				personal[k] = validUTF8(toText(v))
			}
			continue
		}
		cv, err := clean(v)
		if err != nil {
			return apperr.Wrap(err, "audit")
		}
		fields[validUTF8(k)] = cv
	}
	for k, v := range ev.Personal {
		personal[validUTF8(k)] = validUTF8(v)
	}
	if req.ClientIP != "" {
		personal["client_ip"] = req.ClientIP
	}
	if req.UserAgent != "" {
		personal["user_agent"] = validUTF8(truncate(req.UserAgent, 300))
	}

	chain := ev.OrgID
	if chain == "" {
		chain = InstanceChain
	}
	// The organisation's row first, then the chain's head: the order every
	// transaction that changes an organisation and records it takes, so two
	// of them never wait on each other (PostgreSQL row locks).
	if err := l.Touch(ctx, tx, ev.OrgID); err != nil {
		return err
	}
	now := l.clock.Now()
	prevSeq, prevHash, err := lockHead(ctx, tx, chain, now)
	if err != nil {
		return err
	}
	e := Entry{Chain: chain, Seq: prevSeq + 1, Time: clock.Micros(now), Action: ev.Action, Actor: actor,
		Target: Target{Type: validUTF8(ev.TargetType), ID: validUTF8(ev.TargetID)}, RequestID: validUTF8(req.ID),
		Fields: fields, Commitment: map[string]string{}}
	salts := map[string]string{}
	for name, value := range personal {
		salt := make([]byte, 16)
		if _, err := rand.Read(salt); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		salts[name] = hex.EncodeToString(salt)
		e.Commitment[name] = Commit(salt, value)
	}
	stored, err := e.stored()
	if err != nil {
		return apperr.Wrap(err, "audit")
	}
	hash, err := stored.hash(prevHash)
	if err != nil {
		return err
	}
	var orgID any
	if ev.OrgID != "" {
		orgID = ev.OrgID
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO audit_events (chain, seq, org_id, at, action, actor_type, actor, target_type, target, request, fields, personal, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		chain, e.Seq, orgID, e.Time, e.Action, actor.Type, actor.ID, e.Target.Type, e.Target.ID, e.RequestID,
		stored.FieldsJSON, stored.PersonalJSON, hash); err != nil {
		return apperr.Wrap(err, "audit: append")
	}
	for name, value := range personal {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_personal (chain, seq, name, org_id, at, salt, value) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			chain, e.Seq, name, orgID, e.Time, salts[name], value); err != nil {
			return apperr.Wrap(err, "audit: keep personal data")
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_heads SET seq = $1, hash = $2, updated_at = $3 WHERE chain = $4`,
		e.Seq, hash, e.Time, chain); err != nil {
		return apperr.Wrap(err, "audit: move head")
	}
	return nil
}

// lockHead returns a chain's head, creating it at genesis, and locks it
// until tx ends (SQLite: the transaction holds the write lock already).
func lockHead(ctx context.Context, tx *db.Tx, chain string, now time.Time) (int64, string, error) {
	for range 2 {
		var seq int64
		var hash string
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE chain = $1`+tx.ForUpdate(), chain).Scan(&seq, &hash)
		if err == nil {
			return seq, hash, nil
		}
		if !isNoRows(err) {
			return 0, "", apperr.Wrap(err, "audit: read chain head")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_heads (chain, seq, hash, updated_at) VALUES ($1, 0, $2, $3) ON CONFLICT (chain) DO NOTHING`,
			chain, GenesisHash, clock.Micros(now)); err != nil {
			return 0, "", apperr.Wrap(err, "audit: start chain")
		}
	}
	return 0, "", apperr.New(apperr.Internal, "audit: chain head of %s vanished", chain)
}

// stored is the entry as audit_events holds it: its field and commitment
// objects encoded canonically.
func (e *Entry) stored() (*storedEntry, error) {
	fields, err := appendCanonical(nil, e.Fields)
	if err != nil {
		return nil, err
	}
	personal, _ := appendCanonical(nil, e.Commitment)
	return &storedEntry{Chain: e.Chain, Seq: e.Seq, Time: e.Time, Action: e.Action, ActorType: e.Actor.Type, ActorID: e.Actor.ID,
		TargetType: e.Target.Type, TargetID: e.Target.ID, RequestID: e.RequestID, FieldsJSON: string(fields), PersonalJSON: string(personal)}, nil
}

// Canonical returns the entry's canonical encoding, the bytes its hash
// covers after the previous hash.
func (e *Entry) Canonical(b []byte) ([]byte, error) {
	s, err := e.stored()
	if err != nil {
		return nil, err
	}
	return s.appendCanonical(b), nil
}

// Hash returns the entry's hash after prevHash (hex).
func (e *Entry) Hash(prevHash string) (string, error) {
	s, err := e.stored()
	if err != nil {
		return "", err
	}
	return s.hash(prevHash)
}

// hash returns the stored entry's hash after prevHash (hex).
func (s *storedEntry) hash(prevHash string) (string, error) {
	prev, err := hex.DecodeString(prevHash)
	if err != nil || len(prev) != sha256.Size {
		return "", apperr.New(apperr.Invalid, "audit: previous hash %q is not 64 hex digits", prevHash)
	}
	return chainHash(prev, s.appendCanonical(nil)), nil
}

func chainHash(prev, body []byte) string {
	h := sha256.New()
	h.Write(prev)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Commit returns the hex commitment to value under salt:
// SHA-256(salt ‖ UTF-8 value).
func Commit(salt []byte, value string) string {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(value))
	return hex.EncodeToString(h.Sum(nil))
}

func toText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	default:
		c, err := clean(v)
		if err != nil {
			return ""
		}
		b, _ := appendCanonical(nil, c)
		return string(b)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
