package evidence

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
)

// BenchmarkPostureWithEvidence is the DESIGN.md target measured through the
// real evidence store: the posture of all of SP 800-53 for an organisation
// with 2,000 controls and 20,000 evidence items, on SQLite.
func BenchmarkPostureWithEvidence(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b, db.SQLite)
	f := newFixture(b, d, 1<<20)
	if _, err := f.controls.Adopt(ctx, f.org, catalog.SP80053, control.AdoptOptions{}); err != nil {
		b.Fatal(err)
	}
	var refs []string
	tree, err := catalog.NewService(d, f.clk, nil).Requirements(ctx, catalog.SP80053)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range tree {
		if r.Assessable && !r.Withdrawn {
			refs = append(refs, r.Ref)
		}
	}
	kinds := []Kind{Note, File, Link, Attestation}
	now := f.clk.Now()
	err = d.InTx(ctx, func(tx *db.Tx) error {
		for i := 0; i < 2000; i++ {
			cid := db.NewID(now)
			if _, err := tx.ExecContext(ctx, `INSERT INTO controls (id, org_id, library_key, title, description, status, visibility,
				review_interval_days, next_review_date, created_at, updated_at) VALUES ($1, $2, '', $3, '', $4, 'private', 365, '', 0, 0)`,
				cid, f.org, fmt.Sprintf("Control %d", i), []string{"planned", "implemented", "implemented", "in_progress"}[i%4]); err != nil {
				return err
			}
			for j := 0; j < 3; j++ {
				if _, err := tx.ExecContext(ctx, `INSERT INTO control_requirements (org_id, control_id, framework_id, requirement_ref, created_at)
					VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING`, f.org, cid, catalog.SP80053, refs[(i*3+j)%len(refs)]); err != nil {
					return err
				}
			}
			for j := 0; j < 10; j++ {
				eid := db.NewID(now)
				until := clock.DateIn(now.Add(time.Duration((i+j)%7-2)*24*time.Hour), time.UTC)
				if _, err := tx.ExecContext(ctx, `INSERT INTO evidence (id, org_id, kind, title, description, collected_on, valid_until,
					visibility, url, attestor_name, attestor_firm, blob_sha256, blob_size, media_type, filename, scan_state, scan_detail,
					created_by, created_at, updated_at) VALUES ($1, $2, $3, 'e', '', '2026-01-01', $4, 'private', '', '', '', '', 0, '', '', '', '', 'bench', 0, 0)`,
					eid, f.org, string(kinds[(i+j)%4]), until); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO evidence_controls (org_id, evidence_id, control_id, created_at, kind, valid_until, counts)
					VALUES ($1, $2, $3, 0, $4, $5, TRUE)`, f.org, eid, cid, string(kinds[(i+j)%4]), until); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		p, err := f.controls.Posture(ctx, f.org, catalog.SP80053)
		if err != nil || p.Counts.Requirements != 1007 {
			b.Fatalf("%v %+v", err, p.Counts)
		}
	}
}

func BenchmarkControlEvidenceOnly(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b, db.SQLite)
	f := newFixture(b, d, 1<<20)
	now := f.clk.Now()
	_ = d.InTx(ctx, func(tx *db.Tx) error {
		for i := 0; i < 2000; i++ {
			cid := db.NewID(now)
			_, _ = tx.ExecContext(ctx, `INSERT INTO controls (id, org_id, library_key, title, description, status, visibility,
				review_interval_days, next_review_date, created_at, updated_at) VALUES ($1, $2, '', 'c', '', 'implemented', 'private', 365, '', 0, 0)`, cid, f.org)
			for j := 0; j < 10; j++ {
				eid := db.NewID(now)
				_, _ = tx.ExecContext(ctx, `INSERT INTO evidence (id, org_id, kind, title, description, collected_on, valid_until,
					visibility, url, attestor_name, attestor_firm, blob_sha256, blob_size, media_type, filename, scan_state, scan_detail,
					created_by, created_at, updated_at) VALUES ($1, $2, 'link', 'e', '', '2026-01-01', '2026-12-01', 'private', '', '', '', '', 0, '', '', '', '', 'bench', 0, 0)`, eid, f.org)
				_, _ = tx.ExecContext(ctx, `INSERT INTO evidence_controls (org_id, evidence_id, control_id, created_at, kind, valid_until, counts)
					VALUES ($1, $2, $3, 0, 'link', '2026-12-01', TRUE)`, f.org, eid, cid)
			}
		}
		return nil
	})
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.evidence.ControlEvidence(ctx, f.org); err != nil {
			b.Fatal(err)
		}
	}
}
