package control

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// Adoption is a framework an organisation has adopted.
type Adoption struct {
	FrameworkID string    `json:"framework_id"`
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Baseline    string    `json:"baseline,omitempty" doc:"The baseline adopted instead of the whole framework."`
	AdoptedAt   time.Time `json:"adopted_at"`
}

// AdoptOptions say how a framework is adopted.
type AdoptOptions struct {
	Baseline string // a baseline of the framework (SP 800-53: LOW, MODERATE, HIGH, PRIVACY); '' for all of it
	// FromLibrary creates, for each library practice mapped to the
	// framework, one control (or reuses the one an earlier adoption made)
	// and links it to the practice's requirements.
	FromLibrary bool
	// UseMappings links the organisation's existing controls to the new
	// framework's requirements through mappings (NIST's and its own), only
	// where the linked requirement is equivalent to or broader than the
	// new one; "related" mappings are never followed.
	UseMappings bool
}

// AdoptResult says what an adoption did.
type AdoptResult struct {
	Adoption
	ControlsCreated int `json:"controls_created"`
	ControlsReused  int `json:"controls_reused"`
	LinksCreated    int `json:"links_created"`
}

// Adoptions lists the frameworks an organisation has adopted.
func (s *Service) Adoptions(ctx context.Context, orgID string) ([]Adoption, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT a.framework_id, f.name, f.version, a.baseline, a.adopted_at
		FROM org_frameworks a JOIN frameworks f ON f.id = a.framework_id WHERE a.org_id = $1`, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "list adopted frameworks")
	}
	defer rows.Close()
	out := []Adoption{}
	for rows.Next() {
		var a Adoption
		var at int64
		if err := rows.Scan(&a.FrameworkID, &a.Name, &a.Version, &a.Baseline, &at); err != nil {
			return nil, apperr.Wrap(err, "list adopted frameworks")
		}
		a.AdoptedAt = clock.FromMicros(at)
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FrameworkID < out[j].FrameworkID })
	return out, apperr.Wrap(rows.Err(), "list adopted frameworks")
}

// Adoption returns one adopted framework, or not_found.
func (s *Service) Adoption(ctx context.Context, orgID, frameworkID string) (*Adoption, error) {
	list, err := s.Adoptions(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].FrameworkID == frameworkID {
			return &list[i], nil
		}
	}
	return nil, apperr.New(apperr.NotFound, "the organisation has not adopted framework %q", frameworkID)
}

// libraryMaps returns, for one framework, library key -> requirement refs.
// CSF 1.1 has no mapping of its own: it is derived through NIST's
// transition, a 1.1 subcategory going to a practice that covers a CSF 2.0
// element it moved or was folded into.
func (s *Service) libraryMaps(ctx context.Context, frameworkID string) (map[string][]string, error) {
	lib, err := catalog.Library()
	if err != nil {
		return nil, apperr.Wrap(err, "read library")
	}
	out := map[string][]string{}
	if frameworkID != catalog.CSF11 {
		for _, c := range lib {
			if refs := c.Maps[frameworkID]; len(refs) > 0 {
				out[c.Key] = refs
			}
		}
		return out, nil
	}
	ms, err := s.catalog.BuiltinMappings(ctx, catalog.CSF11, "")
	if err != nil {
		return nil, err
	}
	tree, err := s.catalog.Requirements(ctx, catalog.CSF11)
	if err != nil {
		return nil, err
	}
	assessable := map[string]bool{}
	for _, r := range tree {
		assessable[r.Ref] = r.Assessable
	}
	sources := map[string][]string{} // CSF 2.0 ref -> CSF 1.1 subcategories
	for _, m := range ms {
		if assessable[m.FromRef] {
			sources[m.ToRef] = append(sources[m.ToRef], m.FromRef)
		}
	}
	for _, c := range lib {
		seen := map[string]bool{}
		for _, ref := range c.Maps[catalog.CSF20] {
			for _, old := range sources[ref] {
				if !seen[old] {
					seen[old] = true
					out[c.Key] = append(out[c.Key], old)
				}
			}
		}
	}
	return out, nil
}

// Adopt adopts a framework for an organisation.
func (s *Service) Adopt(ctx context.Context, orgID, frameworkID string, opt AdoptOptions) (*AdoptResult, error) {
	f, err := s.catalog.Get(ctx, frameworkID)
	if err != nil {
		return nil, err
	}
	opt.Baseline = strings.TrimSpace(opt.Baseline)
	if opt.Baseline != "" && !slices.Contains(f.Baselines, opt.Baseline) {
		if len(f.Baselines) == 0 {
			return nil, apperr.Field("baseline", "framework %s has no baselines", f.ID)
		}
		return nil, apperr.Field("baseline", "baseline %q is not one of %s", opt.Baseline, strings.Join(f.Baselines, ", "))
	}
	tree, err := s.catalog.Requirements(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	valid := map[string]bool{}
	for _, r := range tree {
		if inScope(r, opt.Baseline) {
			valid[r.Ref] = true
		}
	}
	var libMaps map[string][]string
	if opt.FromLibrary {
		if libMaps, err = s.libraryMaps(ctx, f.ID); err != nil {
			return nil, err
		}
	}
	now := s.clock.Now()
	res := &AdoptResult{Adoption: Adoption{FrameworkID: f.ID, Name: f.Name, Version: f.Version, Baseline: opt.Baseline, AdoptedAt: now}}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO org_frameworks (org_id, framework_id, baseline, adopted_at) VALUES ($1, $2, $3, $4)`,
			orgID, f.ID, opt.Baseline, clock.Micros(now)); err != nil {
			if db.IsUniqueViolation(err) {
				return apperr.New(apperr.Conflict, "framework %s is adopted already", f.ID)
			}
			return err
		}
		linker := &linker{tx: tx, orgID: orgID, frameworkID: f.ID, at: clock.Micros(now)}
		if opt.FromLibrary {
			if err := s.adoptLibrary(ctx, tx, orgID, libMaps, valid, now, linker, res); err != nil {
				return err
			}
		}
		if opt.UseMappings {
			if err := s.linkThroughMappings(ctx, tx, orgID, f.ID, valid, linker); err != nil {
				return err
			}
		}
		res.LinksCreated = linker.created
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "framework.adopt", TargetType: "framework", TargetID: f.ID,
			Fields: map[string]any{"baseline": opt.Baseline, "from_library": opt.FromLibrary, "use_mappings": opt.UseMappings,
				"controls_created": res.ControlsCreated, "controls_reused": res.ControlsReused, "links_created": res.LinksCreated}})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "adopt framework")
	}
	return res, nil
}

// linker inserts links once each and counts them.
type linker struct {
	tx          *db.Tx
	orgID       string
	frameworkID string
	at          int64
	created     int
}

func (l *linker) link(ctx context.Context, controlID, ref string) error {
	res, err := l.tx.ExecContext(ctx, `INSERT INTO control_requirements (org_id, control_id, framework_id, requirement_ref, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, l.orgID, controlID, l.frameworkID, ref, l.at)
	if err != nil {
		return err
	}
	n, _ := res.RowsAffected()
	l.created += int(n)
	return nil
}

// adoptLibrary creates or reuses one control per library practice mapped to
// the framework and links it.
func (s *Service) adoptLibrary(ctx context.Context, tx *db.Tx, orgID string, libMaps map[string][]string, valid map[string]bool,
	now time.Time, l *linker, res *AdoptResult) error {
	lib, err := catalog.Library()
	if err != nil {
		return err
	}
	for _, lc := range lib {
		refs := libMaps[lc.Key]
		var inScope []string
		for _, r := range refs {
			if valid[r] {
				inScope = append(inScope, r)
			}
		}
		if len(inScope) == 0 {
			continue
		}
		// Insert unless the practice has its control already: the unique
		// index decides, so two adoptions at once still make one control.
		c := &Control{ID: db.NewID(now), LibraryKey: lc.Key, Title: lc.Title, Description: lc.Description, Status: Planned,
			Visibility: Private, ReviewIntervalDays: lc.ReviewIntervalDays, CreatedAt: now, UpdatedAt: now}
		res2, err := tx.ExecContext(ctx, `INSERT INTO controls (id, org_id, library_key, title, description, owner_id, status, visibility,
			review_interval_days, next_review_date, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8, '', $9, $9)
			ON CONFLICT DO NOTHING`, c.ID, orgID, c.LibraryKey, c.Title, c.Description, string(c.Status), string(c.Visibility),
			c.ReviewIntervalDays, clock.Micros(now))
		if err != nil {
			return err
		}
		id := c.ID
		if n, _ := res2.RowsAffected(); n == 1 {
			if err := s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "control.create", TargetType: "control",
				TargetID: c.ID, Fields: controlFields(c)}); err != nil {
				return err
			}
			res.ControlsCreated++
		} else {
			if err := tx.QueryRowContext(ctx, `SELECT id FROM controls WHERE org_id = $1 AND library_key = $2 AND deleted_at IS NULL`,
				orgID, lc.Key).Scan(&id); err != nil {
				return err
			}
			res.ControlsReused++
		}
		for _, r := range inScope {
			if err := l.link(ctx, id, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Mapping relations by the direction in which a control may follow them.
// A control that addresses the "from" requirement also addresses "to" when
// from is equivalent to or broader than to; it addresses "from" through
// "to" when to is equivalent or broader. A narrower requirement's control
// never stands for a broader requirement: that would overstate posture.
const (
	// forwardRelations: from's controls link to "to".
	forwardRelations = `('equivalent', 'same_identifier_revised', 'moved_to', 'superset')`
	// backwardRelations: to's controls link to "from".
	backwardRelations = `('equivalent', 'same_identifier_revised', 'moved_to', 'subset', 'incorporated_into')`
)

// linkThroughMappings links controls already linked to a mapped requirement
// of another adopted framework, in the directions the relations allow.
func (s *Service) linkThroughMappings(ctx context.Context, tx *db.Tx, orgID, frameworkID string, valid map[string]bool, l *linker) error {
	rows, err := tx.QueryContext(ctx, `
		SELECT cr.control_id, m.to_ref FROM mappings m
		JOIN control_requirements cr ON cr.org_id = $1 AND cr.framework_id = m.from_framework AND cr.requirement_ref = m.from_ref
		WHERE m.to_framework = $2 AND m.relation IN `+forwardRelations+`
		UNION
		SELECT cr.control_id, m.from_ref FROM mappings m
		JOIN control_requirements cr ON cr.org_id = $1 AND cr.framework_id = m.to_framework AND cr.requirement_ref = m.to_ref
		WHERE m.from_framework = $2 AND m.relation IN `+backwardRelations+`
		UNION
		SELECT cr.control_id, m.to_ref FROM org_mappings m
		JOIN control_requirements cr ON cr.org_id = $1 AND cr.framework_id = m.from_framework AND cr.requirement_ref = m.from_ref
		WHERE m.org_id = $1 AND m.to_framework = $2 AND m.relation IN `+forwardRelations+`
		UNION
		SELECT cr.control_id, m.from_ref FROM org_mappings m
		JOIN control_requirements cr ON cr.org_id = $1 AND cr.framework_id = m.to_framework AND cr.requirement_ref = m.to_ref
		WHERE m.org_id = $1 AND m.from_framework = $2 AND m.relation IN `+backwardRelations, orgID, frameworkID)
	if err != nil {
		return err
	}
	type pair struct{ control, ref string }
	var pairs []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.control, &p.ref); err != nil {
			rows.Close()
			return err
		}
		pairs = append(pairs, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range pairs {
		if valid[p.ref] {
			if err := l.link(ctx, p.control, p.ref); err != nil {
				return err
			}
		}
	}
	return nil
}

// Unadopt removes a framework from an organisation with its links and
// applicability decisions; controls stay.
func (s *Service) Unadopt(ctx context.Context, orgID, frameworkID string) error {
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM control_requirements WHERE org_id = $1 AND framework_id = $2`, orgID, frameworkID)
		if err != nil {
			return err
		}
		links, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM requirement_exclusions WHERE org_id = $1 AND framework_id = $2`, orgID, frameworkID)
		if err != nil {
			return err
		}
		excl, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM org_frameworks WHERE org_id = $1 AND framework_id = $2`, orgID, frameworkID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "the organisation has not adopted framework %q", frameworkID)
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "framework.unadopt", TargetType: "framework", TargetID: frameworkID,
			Fields: map[string]any{"links_removed": int(links), "exclusions_removed": int(excl)}})
	}), "remove framework")
}
