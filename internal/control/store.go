package control

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/valid"
)

const controlColumns = `id, library_key, title, description, COALESCE(owner_id, ''), status, visibility, review_interval_days,
	next_review_date, created_at, updated_at`

func insertControl(ctx context.Context, q db.Querier, orgID string, c *Control) error {
	_, err := q.ExecContext(ctx, `INSERT INTO controls (id, org_id, library_key, title, description, owner_id, status, visibility,
		review_interval_days, next_review_date, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.ID, orgID, c.LibraryKey, c.Title, c.Description, db.NullIfEmpty(c.OwnerID), string(c.Status), string(c.Visibility),
		c.ReviewIntervalDays, c.NextReviewDate, clock.Micros(c.CreatedAt), clock.Micros(c.UpdatedAt))
	return err
}

func updateControl(ctx context.Context, q db.Querier, orgID string, c *Control) error {
	_, err := q.ExecContext(ctx, `UPDATE controls SET title = $3, description = $4, owner_id = $5, status = $6, visibility = $7,
		review_interval_days = $8, next_review_date = $9, updated_at = $10 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`,
		orgID, c.ID, c.Title, c.Description, db.NullIfEmpty(c.OwnerID), string(c.Status), string(c.Visibility), c.ReviewIntervalDays,
		c.NextReviewDate, clock.Micros(c.UpdatedAt))
	return err
}

func scanControl(row interface{ Scan(...any) error }) (*Control, error) {
	var c Control
	var status, visibility string
	var created, updated int64
	if err := row.Scan(&c.ID, &c.LibraryKey, &c.Title, &c.Description, &c.OwnerID, &status, &visibility, &c.ReviewIntervalDays,
		&c.NextReviewDate, &created, &updated); err != nil {
		return nil, err
	}
	c.Status, c.Visibility = Status(status), Visibility(visibility)
	c.CreatedAt, c.UpdatedAt = clock.FromMicros(created), clock.FromMicros(updated)
	c.Links = []Link{}
	return &c, nil
}

func getControl(ctx context.Context, q db.Querier, orgID, id string) (*Control, error) {
	// PostgreSQL refuses NUL and invalid UTF-8 with an error where SQLite
	// finds nothing: such an id names no control.
	if id == "" || len(id) > 64 || !valid.PlainText(id) {
		return nil, apperr.New(apperr.NotFound, "no such control")
	}
	c, err := scanControl(q.QueryRowContext(ctx, `SELECT `+controlColumns+` FROM controls
		WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, orgID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no such control")
	}
	return c, err
}

// liveControls returns every live control of an organisation by id.
func liveControls(ctx context.Context, q db.Querier, orgID string) (map[string]*Control, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+controlColumns+` FROM controls WHERE org_id = $1 AND deleted_at IS NULL`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*Control{}
	for rows.Next() {
		c, err := scanControl(rows)
		if err != nil {
			return nil, err
		}
		out[c.ID] = c
	}
	return out, rows.Err()
}

func linksOf(ctx context.Context, q db.Querier, orgID, controlID string) ([]Link, error) {
	rows, err := q.QueryContext(ctx, `SELECT framework_id, requirement_ref FROM control_requirements
		WHERE org_id = $1 AND control_id = $2`, orgID, controlID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	links := []Link{}
	for rows.Next() {
		var l Link
		if err := rows.Scan(&l.FrameworkID, &l.Ref); err != nil {
			return nil, err
		}
		links = append(links, l)
	}
	sortLinks(links)
	return links, rows.Err()
}

func sortLinks(links []Link) {
	sort.Slice(links, func(i, j int) bool {
		if links[i].FrameworkID != links[j].FrameworkID {
			return links[i].FrameworkID < links[j].FrameworkID
		}
		return naturalLess(links[i].Ref, links[j].Ref)
	})
}

// allLinks returns every link of an organisation, optionally of one
// framework, as control id -> links.
func allLinks(ctx context.Context, q db.Querier, orgID, frameworkID string) (map[string][]Link, error) {
	rows, err := q.QueryContext(ctx, `SELECT control_id, framework_id, requirement_ref FROM control_requirements
		WHERE org_id = $1 AND ($2 = '' OR framework_id = $2)`, orgID, frameworkID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]Link{}
	for rows.Next() {
		var id string
		var l Link
		if err := rows.Scan(&id, &l.FrameworkID, &l.Ref); err != nil {
			return nil, err
		}
		out[id] = append(out[id], l)
	}
	return out, rows.Err()
}

// exclusions returns the requirements of a framework marked not applicable,
// ref -> justification.
func exclusions(ctx context.Context, q db.Querier, orgID, frameworkID string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT requirement_ref, justification FROM requirement_exclusions
		WHERE org_id = $1 AND framework_id = $2`, orgID, frameworkID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var ref, why string
		if err := rows.Scan(&ref, &why); err != nil {
			return nil, err
		}
		out[ref] = why
	}
	return out, rows.Err()
}

// naturalLess orders references as people read them: A.5.9 before A.5.10,
// ac-2.3 before ac-2.10.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitsPrefix(a), digitsPrefix(b)
		if da != "" && db != "" {
			if len(strings.TrimLeft(da, "0")) != len(strings.TrimLeft(db, "0")) {
				return len(strings.TrimLeft(da, "0")) < len(strings.TrimLeft(db, "0"))
			}
			if da != db {
				return strings.TrimLeft(da, "0") < strings.TrimLeft(db, "0")
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitsPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
