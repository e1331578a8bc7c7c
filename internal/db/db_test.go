package db_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
)

var ctx = context.Background()

// The two engines must end up with the same tables, columns, types,
// nullability, indexes and foreign keys.
func TestMigratedSchemasMatch(t *testing.T) {
	engines := dbtest.Engines(t)
	if len(engines) < 2 {
		t.Skipf("%s is not set: nothing to compare SQLite with", dbtest.PostgresURLVar)
	}
	lite, err := dbtest.Open(t, db.SQLite).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := dbtest.Open(t, db.Postgres).Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite.Tables) == 0 {
		t.Fatal("SQLite schema has no tables")
	}
	for name, cols := range lite.Tables {
		if !reflect.DeepEqual(cols, pg.Tables[name]) {
			t.Errorf("table %s differs:\n sqlite:   %+v\n postgres: %+v", name, cols, pg.Tables[name])
		}
	}
	for name := range pg.Tables {
		if _, ok := lite.Tables[name]; !ok {
			t.Errorf("table %s exists only on PostgreSQL", name)
		}
	}
	if !reflect.DeepEqual(lite.Indexes, pg.Indexes) {
		t.Errorf("indexes differ:\n sqlite:   %+v\n postgres: %+v", lite.Indexes, pg.Indexes)
	}
	if !reflect.DeepEqual(lite.ForeignKeys, pg.ForeignKeys) {
		t.Errorf("foreign keys differ:\n sqlite:   %+v\n postgres: %+v", lite.ForeignKeys, pg.ForeignKeys)
	}
}

// Every table is in the personal-data registry and every registered column
// exists; retention rules name an instant column.
func TestPersonalDataRegistry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, err := d.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		registered := map[string]bool{}
		for _, td := range db.PersonalData {
			if registered[td.Table] {
				t.Errorf("table %s registered twice", td.Table)
			}
			registered[td.Table] = true
			if _, ok := s.Tables[td.Table]; !ok {
				t.Errorf("registry names table %s, which the schema does not have", td.Table)
				continue
			}
			for _, c := range td.Personal {
				if _, ok := s.Column(td.Table, c); !ok {
					t.Errorf("registry names column %s.%s, which the schema does not have", td.Table, c)
				}
			}
			if len(td.Personal) > 0 && (td.Purpose == "" || (td.Retain == nil) == (td.KeptWhile == "")) {
				t.Errorf("table %s holds personal data: it needs a purpose and either a retention rule or KeptWhile", td.Table)
			}
			if r := td.Retain; r != nil {
				c, ok := s.Column(td.Table, r.After)
				if !ok || c.Type != "bigint" {
					t.Errorf("retention of %s runs from %q, which is not a BIGINT instant column", td.Table, r.After)
				}
				if r.Keep <= 0 || r.Why == "" {
					t.Errorf("retention of %s needs a positive period and a reason", td.Table)
				}
			}
		}
		for name := range s.Tables {
			if !registered[name] {
				t.Errorf("table %s is missing from db.PersonalData: list its personal-data columns (or none)", name)
			}
		}
	})
}

// Tenant tables reference organisations, and other tenant rows only through
// composite (org_id, x_id) keys, so a cross-tenant link fails in the database.
func TestTenantForeignKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, err := d.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range tenantKeyProblems(s) {
			t.Error(p)
		}
		// The check itself finds the mistakes it is there for.
		exec(t, d, `CREATE TABLE t_loose (org_id TEXT NOT NULL, id TEXT NOT NULL PRIMARY KEY, invitation_id TEXT REFERENCES invitations (id))`)
		if s, err = d.Describe(ctx); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(tenantKeyProblems(s), "; "); !strings.Contains(got, "t_loose.org_id") || !strings.Contains(got, "t_loose.invitation_id") {
			t.Fatalf("a table without tenant keys was not flagged: %q", got)
		}
	})
}

// tenantKeyProblems lists tenant columns without the keys invariant 1 asks.
// polymorphic columns name rows of several tables (another column says
// which), so no foreign key can hold them; their service checks that the row
// is the organisation's and removes them with it.
var polymorphic = map[string]bool{"translations.entity_id": true}

func tenantKeyProblems(s *db.Schema) []string {
	var problems []string
	for table, cols := range s.Tables {
		if _, tenant := s.Column(table, "org_id"); !tenant {
			continue
		}
		for _, c := range cols {
			if c.Name == "org_id" {
				if !hasForeignKey(s, table, "org_id", "orgs", "id") {
					problems = append(problems, table+".org_id has no foreign key to orgs(id)")
				}
				continue
			}
			if c.Name == "id" || !strings.HasSuffix(c.Name, "_id") || polymorphic[table+"."+c.Name] {
				continue
			}
			// Either a composite key through org_id, or a plain key to an
			// instance table (users), which no organisation owns.
			ok := false
			for _, fk := range s.ForeignKeys {
				if fk.Table != table {
					continue
				}
				if fk.Columns == "org_id,"+c.Name && strings.HasPrefix(fk.RefColumns, "org_id,") {
					ok = true
				}
				if _, refTenant := s.Column(fk.RefTable, "org_id"); fk.Columns == c.Name && !refTenant {
					ok = true
				}
			}
			if !ok {
				problems = append(problems, table+"."+c.Name+" must reference a tenant table through (org_id, "+c.Name+")")
			}
		}
	}
	return problems
}

func hasForeignKey(s *db.Schema, table, col, ref, refCol string) bool {
	for _, fk := range s.ForeignKeys {
		if fk.Table == table && fk.Columns == col && fk.RefTable == ref && fk.RefColumns == refCol {
			return true
		}
	}
	return false
}

// The composite-key pattern itself: a row of one organisation cannot point at
// another organisation's row, on either engine.
func TestCompositeKeyRefusesCrossTenantLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		exec(t, d, `CREATE TABLE t_parent (org_id TEXT NOT NULL REFERENCES orgs (id), id TEXT NOT NULL PRIMARY KEY, UNIQUE (org_id, id))`)
		exec(t, d, `CREATE TABLE t_child (org_id TEXT NOT NULL REFERENCES orgs (id), id TEXT NOT NULL PRIMARY KEY, parent_id TEXT NOT NULL,
			FOREIGN KEY (org_id, parent_id) REFERENCES t_parent (org_id, id))`)
		for _, o := range []string{"a", "b"} {
			exec(t, d, `INSERT INTO orgs (id, slug, name, time_zone, created_at, updated_at) VALUES ($1, $2, $3, 'UTC', 0, 0)`, o, "org-"+o, o)
		}
		exec(t, d, `INSERT INTO t_parent (org_id, id) VALUES ('a', 'pa')`)
		exec(t, d, `INSERT INTO t_child (org_id, id, parent_id) VALUES ('a', 'c1', 'pa')`)
		_, err := d.Write.ExecContext(ctx, `INSERT INTO t_child (org_id, id, parent_id) VALUES ('b', 'c2', 'pa')`)
		if !db.IsForeignKeyViolation(err) {
			t.Fatalf("cross-tenant insert: got %v, want a foreign-key violation", err)
		}
	})
}

func exec(t *testing.T, d *db.DB, q string, args ...any) {
	t.Helper()
	if _, err := d.Write.ExecContext(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestInTx(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		insert := func(tx *db.Tx, slug string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO orgs (id, slug, name, time_zone, created_at, updated_at) VALUES ($1, $2, 'X', 'UTC', 1, 1)`, slug, slug)
			return err
		}
		committed := false
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { committed = true })
			return insert(tx, "kept")
		}); err != nil || !committed {
			t.Fatalf("commit: err=%v afterCommit ran=%v", err, committed)
		}

		boom := errors.New("boom")
		ranAfter := false
		err := d.InTx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { ranAfter = true })
			if err := insert(tx, "rolled-back"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || ranAfter {
			t.Fatalf("rollback: err=%v afterCommit ran=%v", err, ranAfter)
		}

		func() {
			defer func() { _ = recover() }()
			_ = d.InTx(ctx, func(tx *db.Tx) error {
				_ = insert(tx, "panicked")
				panic("handler bug")
			})
		}()

		err = d.InTx(ctx, func(tx *db.Tx) error { return insert(tx, "kept") })
		if !db.IsUniqueViolation(err) {
			t.Fatalf("duplicate slug: got %v, want a unique violation", err)
		}

		var slugs []string
		rows, err := d.Read.QueryContext(ctx, `SELECT slug FROM orgs`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			slugs = append(slugs, s)
		}
		if fmt.Sprint(slugs) != "[kept]" {
			t.Fatalf("rows after commit, rollback and panic: %v, want [kept]", slugs)
		}
	})
}

func TestMigrationsCurrent(t *testing.T) {
	for _, e := range dbtest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			d := dbtest.OpenEmpty(t, e)
			if ok, err := d.MigrationsCurrent(ctx); err != nil || ok {
				t.Fatalf("fresh database: current=%v err=%v, want false", ok, err)
			}
			if err := d.Migrate(ctx, discard()); err != nil {
				t.Fatal(err)
			}
			if ok, err := d.MigrationsCurrent(ctx); err != nil || !ok {
				t.Fatalf("migrated database: current=%v err=%v, want true", ok, err)
			}
			// Applying them again is a no-op.
			if err := d.Migrate(ctx, discard()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestApplyRetention(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
		for i, age := range []time.Duration{31 * 24 * time.Hour, 29 * 24 * time.Hour} {
			exec(t, d, `INSERT INTO mail_messages (id, recipient, subject, text_body, state, last_error, created_at)
				VALUES ($1, 'a@example.com', 's', 'b', 'sent', '', $2)`, fmt.Sprint(i), clock.Micros(now.Add(-age)))
		}
		done, err := d.ApplyRetention(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if done["mail_messages"] != 1 {
			t.Fatalf("deleted %d mail messages, want 1 (the one older than 30 days)", done["mail_messages"])
		}
		var left string
		if err := d.Read.QueryRowContext(ctx, `SELECT id FROM mail_messages`).Scan(&left); err != nil || left != "1" {
			t.Fatalf("remaining message %q (%v), want the 29-day-old one", left, err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts db.Options
		want string
	}{
		{"unknown scheme", db.Options{URL: "mysql://x"}, "must start with postgres://"},
		{"malformed", db.Options{URL: "postgres://%zz"}, "malformed"},
		{"unreachable", db.Options{URL: "postgres://u:s3cret@127.0.0.1:1/x?connect_timeout=2"}, "cannot reach PostgreSQL postgres://u:xxxxx@127.0.0.1:1/x"},
		{"password in the query", db.Options{URL: "postgres://u@127.0.0.1:1/x?connect_timeout=2&password=s3cret"}, "password=xxxxx"},
		{"data dir is a file", db.Options{DataDir: file}, "not a directory"},
		{"option characters in the path", db.Options{DataDir: filepath.Join(t.TempDir(), "a#b")}, "must not contain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := db.Open(ctx, tt.opts)
			if err == nil {
				d.Close()
				t.Fatal("opened; want an error")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error %q: want it to contain %q and no password", err, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db?sslmode=disable":     "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db?password=pw&sslpassword=pw2": "postgres://u@h/db?password=xxxxx&sslpassword=xxxxx",
		"postgres:///db?host=%2Fvar%2Frun%2Fpostgresql": "postgres:///db?host=%2Fvar%2Frun%2Fpostgresql",
	} {
		if got := db.Redact(in); got != want {
			t.Errorf("Redact(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestNewID(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	a, b := db.NewID(now), db.NewID(now.Add(time.Millisecond))
	if len(a) != 36 || a[14] != '7' || !strings.ContainsAny(a[19:20], "89ab") {
		t.Fatalf("%s is not a UUIDv7", a)
	}
	if a == b || a >= b {
		t.Fatalf("ids %s, %s: want distinct and ordered by time", a, b)
	}
	if got := fmt.Sprintf("%x", now.UnixMilli()); !strings.HasPrefix(strings.ReplaceAll(a, "-", ""), fmt.Sprintf("%012s", got)) {
		t.Fatalf("%s does not start with the millisecond timestamp %s", a, got)
	}
	// Ids made in the same millisecond sort in the order they were made.
	prev := db.NewID(now)
	for i := 0; i < 1000; i++ {
		next := db.NewID(now)
		if next <= prev {
			t.Fatalf("id %d of the same millisecond, %s, sorts before %s", i, next, prev)
		}
		if next[14] != '7' {
			t.Fatalf("%s lost its version", next)
		}
		prev = next
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
