// Package dbtest runs store tests on both engines: SQLite always, PostgreSQL
// when EVIDENT_TEST_POSTGRES_URL is set. Under CI=true a missing PostgreSQL
// fails the test instead of skipping it. Every call gets a fresh, migrated
// database (a temporary SQLite file, or a new PostgreSQL schema dropped at the
// end of the test).
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"

	"github.com/evident-isms/evident/internal/db"
)

// PostgresURLVar names the variable holding the PostgreSQL server for tests.
const PostgresURLVar = "EVIDENT_TEST_POSTGRES_URL"

// Engines lists the engines this run tests.
func Engines(t testing.TB) []db.Engine {
	t.Helper()
	engines := []db.Engine{db.SQLite}
	if os.Getenv(PostgresURLVar) != "" {
		engines = append(engines, db.Postgres)
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is not set: the PostgreSQL half of the store tests cannot run", PostgresURLVar)
	}
	return engines
}

// Each runs fn as one subtest per engine, named after it, each with a fresh
// migrated database.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, e := range Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			fn(t, Open(t, e))
		})
	}
}

// Open returns a fresh migrated database on engine e, closed and removed when
// the test ends.
func Open(t testing.TB, e db.Engine) *db.DB {
	t.Helper()
	d := OpenEmpty(t, e)
	if err := d.Migrate(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("migrate %s: %v", e, err)
	}
	return d
}

// OpenEmpty is Open without the migrations.
func OpenEmpty(t testing.TB, e db.Engine) *db.DB {
	t.Helper()
	ctx := context.Background()
	if e == db.SQLite {
		d, err := db.Open(ctx, db.Options{DataDir: t.TempDir()})
		if err != nil {
			t.Fatalf("open SQLite: %v", err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	return openPostgresSchema(t, PostgresURL(t))
}

// PostgresURL returns the test server's URL, failing or skipping the test
// when there is none.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresURLVar)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set", PostgresURLVar)
		}
		t.Skipf("%s is not set", PostgresURLVar)
	}
	return u
}

// SchemaURL creates a fresh schema on the server at base and returns a URL
// whose connections use it, and a function that drops it.
func SchemaURL(t testing.TB, base string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "evident_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("open PostgreSQL: %v", err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresURLVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as run-time settings
	u.RawQuery = q.Encode()
	return u.String()
}

func openPostgresSchema(t testing.TB, base string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{URL: SchemaURL(t, base)})
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	// Registered after SchemaURL's cleanup, so it runs first: connections
	// close before the schema is dropped.
	t.Cleanup(func() { d.Close() })
	return d
}
