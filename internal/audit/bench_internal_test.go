package audit

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/keys"
)

// benchChain builds n typical stored entries of one chain in memory, with
// valid hashes.
func benchChain(b *testing.B, n int) []storedEntry {
	b.Helper()
	out := make([]storedEntry, n)
	const chain = "01a20812-c22c-7291-8bdf-45600fdbed7e"
	v := newVerifier()
	for i := range out {
		e := storedEntry{Chain: chain, OrgID: chain, Seq: int64(i + 1), Time: 1795431600000000 + int64(i), Action: "membership.role_change",
			ActorType: "user", ActorID: "01a20812-c238-754d-aa72-d24dcae519b2", TargetType: "user", TargetID: fmt.Sprintf("01a20812-c238-754d-aa72-%012d", i),
			RequestID: "3f2a9c0e4b7d1a6e", FieldsJSON: `{"from":"member","role":"manager"}`,
			PersonalJSON: `{"client_ip":"10210c80e28c44a31cc0e0ded018411171c0618367bc30cffc28f6e2fcebf722","user_agent":"5fd958a34c8656d06ab850694075b19013ed4c86fe9293a9ffb6d5a029885cfb"}`}
		body := e.appendCanonical(nil)
		e.Hash = chainHash(v.prev, body)
		if p := v.next(&e); p != nil {
			b.Fatal(p)
		}
		out[i] = e
	}
	return out
}

// BenchmarkVerifyInMemory is the verification algorithm alone: canonical
// encoding, SHA-256 and comparison per entry.
func BenchmarkVerifyInMemory(b *testing.B) {
	entries := benchChain(b, 10000)
	b.ResetTimer()
	for b.Loop() {
		v := newVerifier()
		for i := range entries {
			if p := v.next(&entries[i]); p != nil {
				b.Fatal(p)
			}
		}
	}
	b.ReportMetric(float64(len(entries)*b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkSHA256Ceiling hashes the same bytes with nothing else: the
// ceiling verification cannot beat.
func BenchmarkSHA256Ceiling(b *testing.B) {
	entries := benchChain(b, 10000)
	bodies := make([][]byte, len(entries))
	for i := range entries {
		bodies[i] = entries[i].appendCanonical(nil)
	}
	prev := make([]byte, 32)
	b.ResetTimer()
	for b.Loop() {
		for _, body := range bodies {
			h := sha256.New()
			h.Write(prev)
			h.Write(body)
			h.Sum(prev[:0])
		}
	}
	b.ReportMetric(float64(len(bodies)*b.N)/b.Elapsed().Seconds(), "entries/s")
}

func benchLog(b *testing.B, e db.Engine) (*Log, *db.DB, string) {
	d := dbtest.Open(b, e)
	clk := clock.NewSettable(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	k, err := keys.Load(keys.Config{DataDir: b.TempDir(), Generate: true})
	if err != nil {
		b.Fatal(err)
	}
	orgID := db.NewID(clk.Now())
	if _, err := d.Write.Exec(`INSERT INTO orgs (id, slug, name, time_zone, created_at, updated_at) VALUES ($1, $2, 'Bench', 'UTC', 0, 0)`, orgID, "b-"+orgID); err != nil {
		b.Fatal(err)
	}
	return New(d, clk, k), d, orgID
}

func record(b *testing.B, l *Log, d *db.DB, orgID string, n int) {
	ctx := WithRequest(context.Background(), &Request{ID: "r", ClientIP: "203.0.113.9", UserAgent: "bench", Actor: Actor{Type: ActorUser, ID: "u"}})
	for i := 0; i < n; i++ {
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			return l.Record(ctx, tx, Event{OrgID: orgID, Action: "membership.role_change", TargetType: "user", TargetID: "x",
				Fields: map[string]any{"role": "manager", "from": "member"}})
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend is one event per transaction, as services write them.
func BenchmarkAppend(b *testing.B) {
	for _, e := range []db.Engine{db.SQLite, db.Postgres} {
		b.Run(string(e), func(b *testing.B) {
			if e == db.Postgres && dbtest.PostgresURL(b) == "" {
				b.Skip("no PostgreSQL")
			}
			l, d, orgID := benchLog(b, e)
			b.ResetTimer()
			record(b, l, d, orgID, b.N)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkVerifyStored verifies a 20,000-entry chain read from the
// database, personal data included.
func BenchmarkVerifyStored(b *testing.B) {
	for _, e := range []db.Engine{db.SQLite, db.Postgres} {
		b.Run(string(e), func(b *testing.B) {
			if e == db.Postgres && dbtest.PostgresURL(b) == "" {
				b.Skip("no PostgreSQL")
			}
			l, d, orgID := benchLog(b, e)
			const n = 20000
			record(b, l, d, orgID, n)
			b.ResetTimer()
			for b.Loop() {
				rep, err := l.Verify(context.Background(), orgID, nil)
				if err != nil || rep.Problem != nil || rep.Entries != n {
					b.Fatalf("%+v %v", rep, err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
