package evidence

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/valid"
)

const itemColumns = `id, kind, title, description, collected_on, valid_until, visibility, COALESCE(owner_id, ''), url,
	attestor_name, attestor_firm, blob_sha256, blob_size, media_type, filename, scan_state, scan_detail, created_by, created_at, updated_at`

func insertItem(ctx context.Context, q db.Querier, orgID string, it *Evidence) error {
	f := it.File
	if f == nil {
		f = &FileInfo{}
	}
	_, err := q.ExecContext(ctx, `INSERT INTO evidence (id, org_id, kind, title, description, collected_on, valid_until, visibility,
		owner_id, url, attestor_name, attestor_firm, blob_sha256, blob_size, media_type, filename, scan_state, scan_detail,
		created_by, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
		it.ID, orgID, string(it.Kind), it.Title, it.Description, it.CollectedOn, it.ValidUntil, string(it.Visibility),
		db.NullIfEmpty(it.OwnerID), it.URL, it.AttestorName, it.AttestorFirm, f.SHA256, f.Size, f.MediaType, f.Filename, f.ScanState,
		f.ScanDetail, it.CreatedBy, clock.Micros(it.UploadedAt), clock.Micros(it.UpdatedAt))
	return err
}

func updateItem(ctx context.Context, q db.Querier, orgID string, it *Evidence) error {
	_, err := q.ExecContext(ctx, `UPDATE evidence SET title = $3, description = $4, collected_on = $5, valid_until = $6,
		visibility = $7, owner_id = $8, url = $9, attestor_name = $10, attestor_firm = $11, updated_at = $12
		WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
		orgID, it.ID, it.Title, it.Description, it.CollectedOn, it.ValidUntil, string(it.Visibility), db.NullIfEmpty(it.OwnerID),
		it.URL, it.AttestorName, it.AttestorFirm, clock.Micros(it.UpdatedAt))
	return err
}

func scanItem(row interface{ Scan(...any) error }) (*Evidence, error) {
	var it Evidence
	var kind, visibility string
	var f FileInfo
	var created, updated int64
	if err := row.Scan(&it.ID, &kind, &it.Title, &it.Description, &it.CollectedOn, &it.ValidUntil, &visibility, &it.OwnerID,
		&it.URL, &it.AttestorName, &it.AttestorFirm, &f.SHA256, &f.Size, &f.MediaType, &f.Filename, &f.ScanState, &f.ScanDetail,
		&it.CreatedBy, &created, &updated); err != nil {
		return nil, err
	}
	it.Kind, it.Visibility = Kind(kind), Visibility(visibility)
	it.UploadedAt, it.UpdatedAt = clock.FromMicros(created), clock.FromMicros(updated)
	if it.Kind == File {
		it.File = &f
	}
	return &it, nil
}

// visible is the SQL condition on visibility for a reader.
func visible(rd Reader) string {
	if rd.Restricted {
		return ""
	}
	return ` AND visibility <> 'restricted'`
}

// getItem returns a live item the reader may see, with its control ids. A
// restricted item is simply not found for others.
func getItem(ctx context.Context, q db.Querier, orgID, id string, rd Reader) (*Evidence, error) {
	if !validID(id) {
		return nil, apperr.New(apperr.NotFound, "no such evidence")
	}
	it, err := scanItem(q.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM evidence
		WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`+visible(rd), orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no such evidence")
	}
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT control_id FROM evidence_controls WHERE org_id = $1 AND evidence_id = $2`, orgID, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		it.ControlIDs = append(it.ControlIDs, c)
	}
	it.ControlIDs = uniqueSorted(it.ControlIDs)
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if it.Kind == Check {
		c, err := loadCheck(ctx, q, orgID, id)
		if err != nil {
			return nil, err
		}
		it.Check = &c.CheckInfo
	}
	return it, nil
}

func listItems(ctx context.Context, q db.Querier, orgID string, rd Reader) ([]*Evidence, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+itemColumns+` FROM evidence WHERE org_id = $1 AND deleted_at IS NULL`+visible(rd), orgID)
	if err != nil {
		return nil, err
	}
	var items []*Evidence
	byID := map[string]*Evidence{}
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		items = append(items, it)
		byID[it.ID] = it
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	links, err := q.QueryContext(ctx, `SELECT evidence_id, control_id FROM evidence_controls WHERE org_id = $1`, orgID)
	if err != nil {
		return nil, err
	}
	defer links.Close()
	for links.Next() {
		var e, c string
		if err := links.Scan(&e, &c); err != nil {
			return nil, err
		}
		if it := byID[e]; it != nil {
			it.ControlIDs = append(it.ControlIDs, c)
		}
	}
	for _, it := range items {
		it.ControlIDs = uniqueSorted(it.ControlIDs)
	}
	if err := links.Err(); err != nil {
		return nil, err
	}
	return items, loadChecks(ctx, q, orgID, byID)
}

// loadChecks attaches their checks to the check items of a list.
func loadChecks(ctx context.Context, q db.Querier, orgID string, byID map[string]*Evidence) error {
	rows, err := q.QueryContext(ctx, `SELECT evidence_id, kind, target, assertions, interval_minutes, next_run_at, last_run_at,
		last_passed, last_passed_at FROM checks WHERE org_id = $1`, orgID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, assertions string
		var c checkRow
		var next int64
		var lastRun, lastPassedAt sql.NullInt64
		if err := rows.Scan(&id, &c.Kind, &c.Target, &assertions, &c.IntervalMinutes, &next, &lastRun, &c.lastPassed, &lastPassedAt); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(assertions), &c.Assertions); err != nil {
			return err
		}
		c.fill(next, lastRun, lastPassedAt)
		if it := byID[id]; it != nil {
			info := c.CheckInfo
			it.Check = &info
		}
	}
	return rows.Err()
}

// validID tells whether s can be an identifier at all: PostgreSQL refuses
// NUL and invalid UTF-8 with an error where SQLite finds nothing.
func validID(s string) bool {
	return s != "" && len(s) <= 64 && valid.PlainText(s)
}
