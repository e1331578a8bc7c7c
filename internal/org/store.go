package org

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

const columns = `id, slug, name, time_zone, require_totp, audit_retention_days, public_site, created_at, updated_at`

func insert(ctx context.Context, q db.Querier, o *Org) error {
	_, err := q.ExecContext(ctx, `INSERT INTO orgs (`+columns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		o.ID, o.Slug, o.Name, o.TimeZone, o.RequireTOTP, o.AuditRetentionDays, o.PublicSite, clock.Micros(o.CreatedAt), clock.Micros(o.UpdatedAt))
	return err
}

func scan(row interface{ Scan(...any) error }) (*Org, error) {
	var o Org
	var created, updated int64
	if err := row.Scan(&o.ID, &o.Slug, &o.Name, &o.TimeZone, &o.RequireTOTP, &o.AuditRetentionDays, &o.PublicSite, &created, &updated); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = clock.FromMicros(created), clock.FromMicros(updated)
	return &o, nil
}

func list(ctx context.Context, q db.Querier) ([]Org, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM orgs WHERE deleted_at IS NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Org
	for rows.Next() {
		o, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *o)
	}
	// Sorted in Go: the engines' collations differ.
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out, rows.Err()
}

func byID(ctx context.Context, q db.Querier, id string) (*Org, error) {
	o, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM orgs WHERE id = $1 AND deleted_at IS NULL`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no such organisation")
	}
	if err != nil {
		return nil, apperr.Wrap(err, "read organisation")
	}
	return o, nil
}

func setSettings(ctx context.Context, q db.Querier, id string, set Settings, now time.Time) error {
	res, err := q.ExecContext(ctx, `UPDATE orgs SET require_totp = $1, audit_retention_days = $2, public_site = $3, updated_at = $4
		WHERE id = $5 AND deleted_at IS NULL`, set.RequireTOTP, set.AuditRetentionDays, set.PublicSite, clock.Micros(now), id)
	if err != nil {
		return apperr.Wrap(err, "change settings")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.New(apperr.NotFound, "no such organisation")
	}
	return nil
}

func bySlug(ctx context.Context, q db.Querier, slug string) (*Org, error) {
	o, err := scan(q.QueryRowContext(ctx, `SELECT `+columns+` FROM orgs WHERE slug = $1 AND deleted_at IS NULL`, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no organisation with slug %q", slug)
	}
	if err != nil {
		return nil, apperr.Wrap(err, "read organisation")
	}
	return o, nil
}
