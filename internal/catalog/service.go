package catalog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// Service reads and changes the catalog.
type Service struct {
	db    *db.DB
	clock clock.Clock
	audit *audit.Log

	mu    sync.Mutex
	trees map[string]cachedTree // framework id -> requirements, by digest
}

type cachedTree struct {
	digest string
	reqs   []Requirement
}

// NewService returns the catalog service.
func NewService(d *db.DB, c clock.Clock, a *audit.Log) *Service {
	return &Service{db: d, clock: c, audit: a, trees: map[string]cachedTree{}}
}

// DataVersion numbers the built-in catalog data this binary carries. Raise
// it whenever data/ changes, so that during a rolling upgrade an older node
// restarting never puts its older copy back over a newer one.
const DataVersion = 1

// SyncBuiltins stores the built-in frameworks and mappings the binary
// carries when the stored copies are missing or older. It runs at every
// start; a current catalog costs one query. Nodes starting together take
// turns (a transaction lock), and every change is recorded on the instance
// audit chain.
func (s *Service) SyncBuiltins(ctx context.Context) error {
	type pending struct {
		b      builtin
		files  [][]byte
		digest string
	}
	var todo []pending
	stored, err := s.storedVersions(ctx, s.db.Read)
	if err != nil {
		return err
	}
	for _, b := range builtins {
		files, digest, err := b.read()
		if err != nil {
			return err
		}
		if st, ok := stored[b.id]; !ok || st.needsUpdate(digest) {
			todo = append(todo, pending{b, files, digest})
		}
	}
	mappings, err := builtinMappings()
	if err != nil {
		return err
	}
	current, err := mappingsCurrent(ctx, s.db.Read, mappings)
	if err != nil {
		return err
	}
	if len(todo) == 0 && current {
		return nil
	}
	ctx = audit.WithActor(ctx, audit.System("catalog"))
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		if lock := s.db.Dialect.LockTx(); lock != "" {
			if _, err := tx.ExecContext(ctx, lock, int64(0x65766964656e7401)); err != nil { // "evident" + 1
				return err
			}
		}
		// Another node may have done the work while this one waited.
		stored, err := s.storedVersions(ctx, tx)
		if err != nil {
			return err
		}
		for _, p := range todo {
			st, exists := stored[p.b.id]
			if exists && !st.needsUpdate(p.digest) {
				continue
			}
			d, err := p.b.load(p.files)
			if err != nil {
				return fmt.Errorf("built-in framework %s: %w", p.b.id, err)
			}
			d.ID, d.Source, d.digest = p.b.id, SourceBuiltin, p.digest
			if err := s.store(ctx, tx, d, exists); err != nil {
				return fmt.Errorf("store framework %s: %w", p.b.id, err)
			}
			if exists {
				// The trust centers of the organisations that adopted it show
				// its requirements: their cached pages must go (the revision
				// of internal/trust), on every node.
				if _, err := tx.ExecContext(ctx, `UPDATE orgs SET public_revision = public_revision + 1
					WHERE id IN (SELECT org_id FROM org_frameworks WHERE framework_id = $1)`, d.ID); err != nil {
					return fmt.Errorf("renew the trust centers showing %s: %w", d.ID, err)
				}
			}
			if err := s.audit.Record(ctx, tx, audit.Event{Action: "framework.sync", TargetType: "framework", TargetID: d.ID,
				Fields: map[string]any{"version": d.Version, "data_version": DataVersion, "requirements": d.count(), "replaced": exists}}); err != nil {
				return err
			}
		}
		return s.syncMappings(ctx, tx, mappings)
	})
}

// storedVersion is what the database holds of a built-in framework.
type storedVersion struct {
	digest      string
	dataVersion int
}

// needsUpdate tells whether this binary's copy replaces the stored one:
// a newer data version, or the same one with other bytes (a development
// build); never an older one.
func (v storedVersion) needsUpdate(digest string) bool {
	return v.dataVersion < DataVersion || v.dataVersion == DataVersion && v.digest != digest
}

func (s *Service) storedVersions(ctx context.Context, q db.Querier) (map[string]storedVersion, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, digest, data_version FROM frameworks WHERE source = 'builtin'`)
	if err != nil {
		return nil, fmt.Errorf("read built-in frameworks: %w", err)
	}
	defer rows.Close()
	out := map[string]storedVersion{}
	for rows.Next() {
		var id string
		var v storedVersion
		if err := rows.Scan(&id, &v.digest, &v.dataVersion); err != nil {
			return nil, err
		}
		out[id] = v
	}
	return out, rows.Err()
}

// Import stores a framework read from a file under a new identifier.
func (s *Service) Import(ctx context.Context, d *Definition) (*Framework, error) {
	if d.Source == SourceBuiltin {
		return nil, apperr.New(apperr.Invalid, "built-in frameworks are not imported")
	}
	if err := checkMeta(d); err != nil {
		return nil, err
	}
	if err := checkTree(d, "requirements"); err != nil {
		return nil, err
	}
	d.digest = definitionDigest(d)
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		var exists int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM frameworks WHERE id = $1`, d.ID).Scan(&exists)
		if err == nil {
			return &apperr.Error{Code: apperr.Conflict, Field: "id",
				Message: fmt.Sprintf("a framework %q exists already; import this one under another identifier (--id)", d.ID)}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := s.store(ctx, tx, d, false); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{Action: "framework.import", TargetType: "framework", TargetID: d.ID,
			Fields: map[string]any{"framework_name": d.Name, "version": d.Version, "source": d.Source, "requirements": d.count()}})
	})
	if err != nil {
		if apperr.CodeOf(err) != apperr.Internal {
			return nil, err
		}
		return nil, apperr.Wrap(err, "import framework")
	}
	return s.Get(ctx, d.ID)
}

// dataVersionOf is DataVersion for built-ins; imports have none.
func dataVersionOf(d *Definition) int {
	if d.Source == SourceBuiltin {
		return DataVersion
	}
	return 0
}

func definitionDigest(d *Definition) string {
	b, _ := json.Marshal(d.Requirements)
	return fmt.Sprintf("%x", sha256.Sum256(append([]byte(d.ID+"\n"+d.Name+"\n"+d.Version+"\n"), b...)))
}

// store writes a framework and its requirements; replace updates a stored
// built-in in place (requirements it no longer has are marked withdrawn, as
// links may point at them).
func (s *Service) store(ctx context.Context, tx *db.Tx, d *Definition, replace bool) error {
	now := clock.Micros(s.clock.Now())
	baselines, _ := json.Marshal(nonNil(d.Baselines))
	if replace {
		if _, err := tx.ExecContext(ctx, `UPDATE frameworks SET name = $2, version = $3, description = $4, notice = $5,
			baselines = $6, digest = $7, requirement_count = $8, imported_at = $9, data_version = $10 WHERE id = $1`,
			d.ID, d.Name, d.Version, d.Description, d.Notice, string(baselines), d.digest, d.count(), now, dataVersionOf(d)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE requirements SET withdrawn = TRUE WHERE framework_id = $1`, d.ID); err != nil {
			return err
		}
	} else if _, err := tx.ExecContext(ctx, `INSERT INTO frameworks (id, name, version, source, description, notice, baselines,
		digest, requirement_count, imported_at, data_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		d.ID, d.Name, d.Version, d.Source, d.Description, d.Notice, string(baselines), d.digest, d.count(), now, dataVersionOf(d)); err != nil {
		return err
	}
	upsert := `INSERT INTO requirements (framework_id, ref, label, parent_ref, kind, title, text, assessable, withdrawn,
		position, baselines, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	if replace {
		upsert += ` ON CONFLICT (framework_id, ref) DO UPDATE SET label = excluded.label, parent_ref = excluded.parent_ref,
			kind = excluded.kind, title = excluded.title, text = excluded.text, assessable = excluded.assessable,
			withdrawn = excluded.withdrawn, position = excluded.position, baselines = excluded.baselines, details = excluded.details`
	}
	stmt, err := tx.PrepareContext(ctx, upsert)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range d.Requirements {
		bl, _ := json.Marshal(nonNil(r.Baselines))
		details, _ := json.Marshal(r.Details)
		if _, err := stmt.ExecContext(ctx, d.ID, r.Ref, r.Label, r.ParentRef, r.Kind, r.Title, r.Text, r.Assessable,
			r.Withdrawn, r.Position, string(bl), string(details)); err != nil {
			return fmt.Errorf("requirement %s: %w", r.Ref, err)
		}
	}
	return nil
}

// syncMappings stores NIST's CSF 1.1 to 2.0 transition.
// mappingsCurrent tells whether the stored built-in mappings are exactly
// ms: a changed mapping file of the same length must be stored too.
func mappingsCurrent(ctx context.Context, q db.Querier, ms []Mapping) (bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT from_framework, from_ref, to_framework, to_ref, relation FROM mappings WHERE source = 'nist'`)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	// What is stored of a built-in mapping: its ends and relation.
	type key struct{ fromFW, fromRef, toFW, toRef, relation string }
	stored := map[key]bool{}
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.fromFW, &k.fromRef, &k.toFW, &k.toRef, &k.relation); err != nil {
			return false, err
		}
		stored[k] = true
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	if len(stored) != len(ms) {
		return false, nil
	}
	for _, m := range ms {
		if !stored[key{m.FromFramework, m.FromRef, m.ToFramework, m.ToRef, m.Relation}] {
			return false, nil
		}
	}
	return true, nil
}

func (s *Service) syncMappings(ctx context.Context, tx *db.Tx, ms []Mapping) error {
	if current, err := mappingsCurrent(ctx, tx, ms); err != nil || current {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM mappings WHERE source = 'nist'`); err != nil {
		return err
	}
	for _, m := range ms {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mappings (from_framework, from_ref, to_framework, to_ref, relation, source)
			VALUES ($1, $2, $3, $4, $5, 'nist')`, m.FromFramework, m.FromRef, m.ToFramework, m.ToRef, m.Relation); err != nil {
			return fmt.Errorf("mapping %s -> %s: %w", m.FromRef, m.ToRef, err)
		}
	}
	return s.audit.Record(ctx, tx, audit.Event{Action: "mapping.sync", TargetType: "mapping", TargetID: "nist-csf-1.1-to-2.0",
		Fields: map[string]any{"mappings": len(ms)}})
}

const frameworkColumns = `id, name, version, source, description, notice, baselines, digest, requirement_count, imported_at`

func scanFramework(row interface{ Scan(...any) error }) (*Framework, error) {
	var f Framework
	var baselines string
	var at int64
	if err := row.Scan(&f.ID, &f.Name, &f.Version, &f.Source, &f.Description, &f.Notice, &baselines, &f.digest, &f.Count, &at); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(baselines), &f.Baselines); err != nil {
		return nil, err
	}
	f.ImportedAt = clock.FromMicros(at)
	return &f, nil
}

// List returns every framework: built-ins first in their order, then
// imported ones by identifier.
func (s *Service) List(ctx context.Context) ([]Framework, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+frameworkColumns+` FROM frameworks`)
	if err != nil {
		return nil, apperr.Wrap(err, "list frameworks")
	}
	defer rows.Close()
	var out []Framework
	for rows.Next() {
		f, err := scanFramework(rows)
		if err != nil {
			return nil, apperr.Wrap(err, "list frameworks")
		}
		out = append(out, *f)
	}
	order := map[string]int{}
	for i, id := range BuiltinIDs() {
		order[id] = i - len(builtins)
	}
	sort.Slice(out, func(i, j int) bool {
		if order[out[i].ID] != order[out[j].ID] {
			return order[out[i].ID] < order[out[j].ID]
		}
		return out[i].ID < out[j].ID
	})
	return out, apperr.Wrap(rows.Err(), "list frameworks")
}

// Get returns one framework.
func (s *Service) Get(ctx context.Context, id string) (*Framework, error) {
	f, err := scanFramework(s.db.Read.QueryRowContext(ctx, `SELECT `+frameworkColumns+` FROM frameworks WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no framework %q", id)
	}
	if err != nil {
		return nil, apperr.Wrap(err, "read framework")
	}
	return f, nil
}

// Requirements returns a framework's whole tree in document order. The
// result is shared: callers must not change it.
func (s *Service) Requirements(ctx context.Context, frameworkID string) ([]Requirement, error) {
	f, err := s.Get(ctx, frameworkID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	c, ok := s.trees[f.ID]
	s.mu.Unlock()
	if ok && c.digest == f.digest {
		return c.reqs, nil
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT ref, label, parent_ref, kind, title, text, assessable, withdrawn, position,
		baselines, details FROM requirements WHERE framework_id = $1 ORDER BY position`, f.ID)
	if err != nil {
		return nil, apperr.Wrap(err, "read requirements")
	}
	defer rows.Close()
	var reqs []Requirement
	for rows.Next() {
		r := Requirement{FrameworkID: f.ID}
		var bl, details string
		if err := rows.Scan(&r.Ref, &r.Label, &r.ParentRef, &r.Kind, &r.Title, &r.Text, &r.Assessable, &r.Withdrawn,
			&r.Position, &bl, &details); err != nil {
			return nil, apperr.Wrap(err, "read requirements")
		}
		if err := json.Unmarshal([]byte(bl), &r.Baselines); err != nil {
			return nil, apperr.Wrap(err, "read requirements")
		}
		if err := json.Unmarshal([]byte(details), &r.Details); err != nil {
			return nil, apperr.Wrap(err, "read requirements")
		}
		reqs = append(reqs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, "read requirements")
	}
	s.mu.Lock()
	s.trees[f.ID] = cachedTree{digest: f.digest, reqs: reqs}
	s.mu.Unlock()
	return reqs, nil
}

// Requirement returns one requirement of a framework.
func (s *Service) Requirement(ctx context.Context, frameworkID, ref string) (*Requirement, error) {
	reqs, err := s.Requirements(ctx, frameworkID)
	if err != nil {
		return nil, err
	}
	for i := range reqs {
		if reqs[i].Ref == ref {
			r := reqs[i]
			return &r, nil
		}
	}
	return nil, apperr.New(apperr.NotFound, "framework %s has no requirement %q", frameworkID, ref)
}

// Mapping relates two requirements.
type Mapping struct {
	FromFramework string `json:"from_framework"`
	FromRef       string `json:"from_ref"`
	ToFramework   string `json:"to_framework"`
	ToRef         string `json:"to_ref"`
	Relation      string `json:"relation"`
	Source        string `json:"source" doc:"nist for NIST's transition, org for the organisation's own."`
	Note          string `json:"note,omitempty"`
}

// BuiltinMappings returns the stored built-in mappings touching a
// requirement (either side); frameworkID alone returns all of a framework.
func (s *Service) BuiltinMappings(ctx context.Context, frameworkID, ref string) ([]Mapping, error) {
	q := `SELECT from_framework, from_ref, to_framework, to_ref, relation, source FROM mappings
		WHERE (from_framework = $1 AND ($2 = '' OR from_ref = $2)) OR (to_framework = $1 AND ($2 = '' OR to_ref = $2))`
	rows, err := s.db.Read.QueryContext(ctx, q, frameworkID, ref)
	if err != nil {
		return nil, apperr.Wrap(err, "read mappings")
	}
	defer rows.Close()
	var out []Mapping
	for rows.Next() {
		var m Mapping
		if err := rows.Scan(&m.FromFramework, &m.FromRef, &m.ToFramework, &m.ToRef, &m.Relation, &m.Source); err != nil {
			return nil, apperr.Wrap(err, "read mappings")
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.FromRef != b.FromRef {
			return a.FromRef < b.FromRef
		}
		return a.ToRef < b.ToRef
	})
	return out, apperr.Wrap(rows.Err(), "read mappings")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
