// Package subprocessor owns an organisation's subprocessors: who processes
// personal data on its behalf, for what, where, under which transfer
// mechanism, with which subcontractors; and the registers built from them
// (GDPR Art. 30, DORA register of information).
package subprocessor

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/valid"
)

// Subprocessor is one subprocessor of an organisation.
type Subprocessor struct {
	ID                  string    `json:"id"`
	ParentID            string    `json:"parent_id,omitempty" doc:"The subprocessor whose subcontractor this is."`
	Name                string    `json:"name"`
	LEI                 string    `json:"lei,omitempty" doc:"Legal entity identifier (ISO 17442), when known."`
	Purpose             string    `json:"purpose"`
	Function            string    `json:"function" doc:"The function of the organisation it supports."`
	DataCategories      []string  `json:"data_categories"`
	ProcessingCountries []string  `json:"processing_countries" doc:"ISO 3166-1 alpha-2 codes."`
	StorageCountries    []string  `json:"storage_countries"`
	TransferMechanism   string    `json:"transfer_mechanism" enum:"adequacy,scc,bcr,none,not_applicable"`
	DPAStatus           string    `json:"dpa_status" enum:"signed,pending,none"`
	DPAURL              string    `json:"dpa_url,omitempty"`
	Website             string    `json:"website,omitempty"`
	Category            string    `json:"category" doc:"hosting, e-mail, analytics, support, payments, …"`
	Status              string    `json:"status" enum:"planned,active,removed"`
	Visibility          string    `json:"visibility" enum:"public,private"`
	Since               string    `json:"since,omitempty" doc:"YYYY-MM-DD."`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

// Input is what a user sets.
type Input = Subprocessor

var (
	leiPattern     = regexp.MustCompile(`^[A-Z0-9]{18}[0-9]{2}$`)
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
	mechanisms     = []string{"adequacy", "scc", "bcr", "none", "not_applicable"}
	dpaStatuses    = []string{"signed", "pending", "none"}
	statuses       = []string{"planned", "active", "removed"}
)

func cleanList(field string, list []string, max int, pattern *regexp.Regexp) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for _, v := range list {
		v = strings.TrimSpace(v)
		if pattern != nil {
			v = strings.ToUpper(v)
		}
		if v == "" || seen[v] {
			continue
		}
		if pattern != nil && !pattern.MatchString(v) {
			return nil, apperr.Field(field, "%q is not an ISO 3166-1 alpha-2 country code such as FR or US", v)
		}
		if err := valid.Text(field, v, 100, true); err != nil {
			return nil, err
		}
		seen[v] = true
		out = append(out, v)
	}
	if len(out) > max {
		return nil, apperr.Field(field, "at most %d values", max)
	}
	sort.Strings(out)
	return out, nil
}

func (in *Input) validate() error {
	for _, p := range []*string{&in.Name, &in.LEI, &in.Purpose, &in.Function, &in.DPAURL, &in.Website, &in.Category, &in.Since, &in.ParentID} {
		*p = strings.TrimSpace(*p)
	}
	in.LEI = strings.ToUpper(in.LEI)
	if in.TransferMechanism == "" {
		in.TransferMechanism = "not_applicable"
	}
	if in.DPAStatus == "" {
		in.DPAStatus = "none"
	}
	if in.Status == "" {
		in.Status = "active"
	}
	if in.Visibility == "" {
		in.Visibility = "public"
	}
	for _, err := range []error{
		valid.Text("name", in.Name, 200, true), valid.Text("purpose", in.Purpose, 2000, true), valid.Text("function", in.Function, 200, false),
		valid.Text("category", in.Category, 100, false), valid.URL("dpa_url", in.DPAURL, false), valid.URL("website", in.Website, false),
	} {
		if err != nil {
			return err
		}
	}
	switch {
	case in.LEI != "" && !leiPattern.MatchString(in.LEI):
		return apperr.Field("lei", "a legal entity identifier has 20 characters: 18 letters or digits and 2 check digits")
	case !slices.Contains(mechanisms, in.TransferMechanism):
		return apperr.Field("transfer_mechanism", "transfer mechanism %q is not one of %s", in.TransferMechanism, strings.Join(mechanisms, ", "))
	case !slices.Contains(dpaStatuses, in.DPAStatus):
		return apperr.Field("dpa_status", "DPA status %q is not one of %s", in.DPAStatus, strings.Join(dpaStatuses, ", "))
	case !slices.Contains(statuses, in.Status):
		return apperr.Field("status", "status %q is not one of %s", in.Status, strings.Join(statuses, ", "))
	case in.Visibility != "public" && in.Visibility != "private":
		return apperr.Field("visibility", "visibility %q is neither public nor private", in.Visibility)
	}
	if in.Since != "" {
		if _, err := clock.ParseDate(in.Since, time.UTC); err != nil {
			return apperr.Field("since", "%q is not a date such as 2026-11-23", in.Since)
		}
	}
	var err error
	if in.DataCategories, err = cleanList("data_categories", in.DataCategories, 50, nil); err != nil {
		return err
	}
	if in.ProcessingCountries, err = cleanList("processing_countries", in.ProcessingCountries, 250, countryPattern); err != nil {
		return err
	}
	if in.StorageCountries, err = cleanList("storage_countries", in.StorageCountries, 250, countryPattern); err != nil {
		return err
	}
	return nil
}

// Service changes and reads subprocessors.
type Service struct {
	db        *db.DB
	clock     clock.Clock
	audit     *audit.Log
	announcer Announcer
	publisher Publisher
}

// NewService returns the subprocessor service.
func NewService(d *db.DB, c clock.Clock, a *audit.Log) *Service {
	return &Service{db: d, clock: c, audit: a}
}

func fields(s *Subprocessor) map[string]any {
	return map[string]any{"subprocessor_name": s.Name, "lei": s.LEI, "purpose": s.Purpose, "function": s.Function,
		"data_categories": s.DataCategories, "processing_countries": s.ProcessingCountries, "storage_countries": s.StorageCountries,
		"transfer_mechanism": s.TransferMechanism, "dpa_status": s.DPAStatus, "dpa_url": s.DPAURL, "website": s.Website,
		"category": s.Category, "status": s.Status, "visibility": s.Visibility, "since": s.Since, "parent_id": s.ParentID}
}

// checkParent refuses a parent of another organisation, the item itself, or
// a chain that would loop.
func checkParent(ctx context.Context, q db.Querier, orgID, id, parent string) error {
	for hops, p := 0, parent; p != ""; hops++ {
		if p == id || hops > 10 {
			return apperr.Field("parent_id", "the subcontractor chain would loop or is deeper than 10")
		}
		var next sql.NullString
		err := q.QueryRowContext(ctx, `SELECT parent_id FROM subprocessors WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, orgID, p).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.Field("parent_id", "no subprocessor %q in this organisation", p)
		}
		if err != nil {
			return err
		}
		p = next.String
	}
	return nil
}

// Create adds a subprocessor. A public one is announced by a notice on the
// terms given.
func (s *Service) Create(ctx context.Context, orgID string, in Input, terms Terms) (*Subprocessor, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	in.ID, in.CreatedAt, in.UpdatedAt = db.NewID(now), now, now
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := checkParent(ctx, tx, orgID, in.ID, in.ParentID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO subprocessors (id, org_id, parent_id, name, lei, purpose, function, data_categories,
			processing_countries, storage_countries, transfer_mechanism, dpa_status, dpa_url, website, category, status, visibility, since,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)`,
			in.ID, orgID, db.NullIfEmpty(in.ParentID), in.Name, in.LEI, in.Purpose, in.Function, db.JSONList(in.DataCategories),
			db.JSONList(in.ProcessingCountries), db.JSONList(in.StorageCountries), in.TransferMechanism, in.DPAStatus, in.DPAURL, in.Website,
			in.Category, in.Status, in.Visibility, in.Since, clock.Micros(now)); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "subprocessor.create", TargetType: "subprocessor", TargetID: in.ID,
			Fields: fields(&in)}); err != nil {
			return err
		}
		_, err := s.giveNotice(ctx, tx, orgID, nil, &in, terms)
		return err
	})
	if err != nil {
		return nil, apperr.Wrap(err, "create subprocessor")
	}
	return &in, nil
}

// Update replaces a subprocessor's fields. A change a visitor can see is
// announced by a notice on the terms given.
func (s *Service) Update(ctx context.Context, orgID, id string, in Input, terms Terms) (*Subprocessor, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		before, err := get(ctx, tx, orgID, id, tx.ForUpdate())
		if err != nil {
			return err
		}
		if err := checkParent(ctx, tx, orgID, id, in.ParentID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE subprocessors SET parent_id = $3, name = $4, lei = $5, purpose = $6, function = $7,
			data_categories = $8, processing_countries = $9, storage_countries = $10, transfer_mechanism = $11, dpa_status = $12,
			dpa_url = $13, website = $14, category = $15, status = $16, visibility = $17, since = $18, updated_at = $19
			WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, orgID, id, db.NullIfEmpty(in.ParentID), in.Name, in.LEI, in.Purpose,
			in.Function, db.JSONList(in.DataCategories), db.JSONList(in.ProcessingCountries), db.JSONList(in.StorageCountries),
			in.TransferMechanism, in.DPAStatus, in.DPAURL, in.Website, in.Category, in.Status, in.Visibility, in.Since,
			clock.Micros(s.clock.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such subprocessor")
		}
		in.ID = id
		if err := s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "subprocessor.update", TargetType: "subprocessor", TargetID: id,
			Fields: fields(&in)}); err != nil {
			return err
		}
		_, err = s.giveNotice(ctx, tx, orgID, before, &in, terms)
		return err
	})
	if err != nil {
		return nil, apperr.Wrap(err, "update subprocessor")
	}
	return s.Get(ctx, orgID, id)
}

// Delete removes a subprocessor that has no live subcontractors. Removing a
// public one is announced by a notice on the terms given.
func (s *Service) Delete(ctx context.Context, orgID, id string, terms Terms) error {
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		before, err := get(ctx, tx, orgID, id, tx.ForUpdate())
		if err != nil {
			return err
		}
		var children int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM subprocessors WHERE org_id = $1 AND parent_id = $2 AND deleted_at IS NULL`,
			orgID, id).Scan(&children); err != nil {
			return err
		}
		if children > 0 {
			return apperr.New(apperr.Conflict, "this subprocessor has %d subcontractors: remove or move them first", children)
		}
		res, err := tx.ExecContext(ctx, `UPDATE subprocessors SET deleted_at = $3 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
			orgID, id, clock.Micros(s.clock.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such subprocessor")
		}
		if err := s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "subprocessor.delete", TargetType: "subprocessor", TargetID: id}); err != nil {
			return err
		}
		_, err = s.giveNotice(ctx, tx, orgID, before, nil, terms)
		return err
	}), "delete subprocessor")
}

// Get returns one subprocessor.
func (s *Service) Get(ctx context.Context, orgID, id string) (*Subprocessor, error) {
	sp, err := get(ctx, s.db.Read, orgID, id, "")
	return sp, apperr.Wrap(err, "read subprocessor")
}

// get reads one subprocessor; lock is appended to the SELECT (tx.ForUpdate()
// when the transaction changes the row: the state a notice is computed from
// must not change under it).
func get(ctx context.Context, q db.Querier, orgID, id, lock string) (*Subprocessor, error) {
	sp, err := scanSubprocessor(q.QueryRowContext(ctx, `SELECT `+spColumns+` FROM subprocessors
		WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`+lock, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no such subprocessor")
	}
	return sp, err
}

const spColumns = `id, COALESCE(parent_id, ''), name, lei, purpose, function, data_categories, processing_countries, storage_countries,
	transfer_mechanism, dpa_status, dpa_url, website, category, status, visibility, since, created_at, updated_at`

func scanSubprocessor(r interface{ Scan(...any) error }) (*Subprocessor, error) {
	var sp Subprocessor
	var dc, pc, sc string
	var created, updated int64
	if err := r.Scan(&sp.ID, &sp.ParentID, &sp.Name, &sp.LEI, &sp.Purpose, &sp.Function, &dc, &pc, &sc, &sp.TransferMechanism,
		&sp.DPAStatus, &sp.DPAURL, &sp.Website, &sp.Category, &sp.Status, &sp.Visibility, &sp.Since, &created, &updated); err != nil {
		return nil, err
	}
	sp.DataCategories, sp.ProcessingCountries, sp.StorageCountries = db.ParseJSONList(dc), db.ParseJSONList(pc), db.ParseJSONList(sc)
	sp.CreatedAt, sp.UpdatedAt = clock.FromMicros(created), clock.FromMicros(updated)
	return &sp, nil
}

// List returns the organisation's subprocessors (only public ones when
// asked), direct ones by name, each followed by its subcontractors.
func (s *Service) List(ctx context.Context, orgID string, publicOnly bool) ([]Subprocessor, error) {
	q := `SELECT ` + spColumns + ` FROM subprocessors WHERE org_id = $1 AND deleted_at IS NULL`
	if publicOnly {
		q += ` AND visibility = 'public'`
	}
	rows, err := s.db.Read.QueryContext(ctx, q, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "list subprocessors")
	}
	defer rows.Close()
	var all []Subprocessor
	for rows.Next() {
		sp, err := scanSubprocessor(rows)
		if err != nil {
			return nil, apperr.Wrap(err, "list subprocessors")
		}
		all = append(all, *sp)
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, "list subprocessors")
	}
	// Order: each direct subprocessor by name, followed by its chain.
	children := map[string][]Subprocessor{}
	present := map[string]bool{}
	for _, sp := range all {
		present[sp.ID] = true
	}
	for _, sp := range all {
		parent := sp.ParentID
		if !present[parent] {
			parent = "" // a private parent left out of a public list: show the subcontractor at the top
		}
		children[parent] = append(children[parent], sp)
	}
	out := []Subprocessor{}
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		list := children[parent]
		sort.Slice(list, func(i, j int) bool { return strings.ToLower(list[i].Name) < strings.ToLower(list[j].Name) })
		for _, sp := range list {
			out = append(out, sp)
			if depth < 10 {
				walk(sp.ID, depth+1)
			}
		}
	}
	walk("", 0)
	return out, nil
}
