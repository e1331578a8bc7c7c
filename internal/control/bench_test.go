package control

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
)

// The posture target of DESIGN.md: 2,000 controls with 20,000 evidence
// items in under 50 ms on SQLite. Evidence comes from a table of the
// benchmark's own (the evidence package does not exist yet), read the way a
// store would read it. BenchmarkPostureReadOnly reads the same rows and
// computes nothing: the baseline docs/benchmarks.md compares against.

const (
	benchControls = 2000
	benchEvidence = 20000
)

type sqlEvidence struct{ d *db.DB }

func (s sqlEvidence) ControlEvidence(ctx context.Context, orgID string) (map[string][]EvidenceItem, error) {
	rows, err := s.d.Read.QueryContext(ctx, `SELECT control_id, assurance, valid_until, failing FROM bench_evidence WHERE org_id = $1`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]EvidenceItem{}
	for rows.Next() {
		var id, assurance string
		var until int64
		var failing bool
		if err := rows.Scan(&id, &assurance, &until, &failing); err != nil {
			return nil, err
		}
		out[id] = append(out[id], EvidenceItem{Assurance: Assurance(assurance), ValidUntil: clock.FromMicros(until), Failing: failing})
	}
	return out, rows.Err()
}

func benchFixture(b *testing.B) *fixture {
	b.Helper()
	ctx := context.Background()
	d := dbtest.Open(b, db.SQLite)
	f := newFixture(b, d)
	if _, err := f.controls.Adopt(ctx, f.org, catalog.SP80053, AdoptOptions{}); err != nil {
		b.Fatal(err)
	}
	tree, _ := f.catalog.Requirements(ctx, catalog.SP80053)
	var refs []string
	for _, r := range tree {
		if r.Assessable && !r.Withdrawn {
			refs = append(refs, r.Ref)
		}
	}
	if _, err := d.Write.ExecContext(ctx, `CREATE TABLE bench_evidence (org_id TEXT, control_id TEXT, assurance TEXT, valid_until BIGINT, failing BOOLEAN)`); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Write.ExecContext(ctx, `CREATE INDEX bench_evidence_org ON bench_evidence (org_id)`); err != nil {
		b.Fatal(err)
	}
	assurances := []Assurance{SelfAttested, Documented, Automated, Independent}
	err := d.InTx(ctx, func(tx *db.Tx) error {
		for i := 0; i < benchControls; i++ {
			c := &Control{ID: db.NewID(now), Title: fmt.Sprintf("Control %d", i), Status: []Status{Planned, InProgress, Implemented, Implemented}[i%4],
				Visibility: Private, ReviewIntervalDays: 365, CreatedAt: now, UpdatedAt: now}
			if err := insertControl(ctx, tx, f.org, c); err != nil {
				return err
			}
			for j := 0; j < 3; j++ {
				if _, err := tx.ExecContext(ctx, `INSERT INTO control_requirements (org_id, control_id, framework_id, requirement_ref, created_at)
					VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING`, f.org, c.ID, catalog.SP80053, refs[(i*3+j)%len(refs)]); err != nil {
					return err
				}
			}
			for j := 0; j < benchEvidence/benchControls; j++ {
				until := now.Add(time.Duration((i+j)%7-2) * 24 * time.Hour)
				if _, err := tx.ExecContext(ctx, `INSERT INTO bench_evidence VALUES ($1, $2, $3, $4, $5)`, f.org, c.ID,
					string(assurances[(i+j)%4]), clock.Micros(until), (i+j)%97 == 0); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	f.controls.SetEvidenceSource(sqlEvidence{d})
	return f
}

func BenchmarkPosture(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		p, err := f.controls.Posture(ctx, f.org, catalog.SP80053)
		if err != nil || p.Counts.Requirements != 1007 {
			b.Fatalf("%v %+v", err, p.Counts)
		}
	}
}

// BenchmarkPostureReadOnly reads what Posture reads and computes nothing.
func BenchmarkPostureReadOnly(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		a, err := f.controls.Adoption(ctx, f.org, catalog.SP80053)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.catalog.Requirements(ctx, a.FrameworkID); err != nil {
			b.Fatal(err)
		}
		if _, err := liveControls(ctx, f.d.Read, f.org); err != nil {
			b.Fatal(err)
		}
		if _, err := allLinks(ctx, f.d.Read, f.org, a.FrameworkID); err != nil {
			b.Fatal(err)
		}
		if _, err := exclusions(ctx, f.d.Read, f.org, a.FrameworkID); err != nil {
			b.Fatal(err)
		}
		if _, err := f.controls.evidence.ControlEvidence(ctx, f.org); err != nil {
			b.Fatal(err)
		}
	}
}
