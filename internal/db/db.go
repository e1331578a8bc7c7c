// Package db opens the database (embedded SQLite or PostgreSQL), applies the
// embedded migrations and runs transactions. Both engines take the same SQL
// text with $1…$n placeholders; the few places where they differ go through
// Dialect.
//
// Type rules, for every table: ids are TEXT (UUIDv7, see NewID); instants are
// BIGINT microseconds since the epoch, UTC (clock.Micros); calendar dates are
// TEXT YYYY-MM-DD; JSON is TEXT; times come from the injected clock, never from
// now() in SQL. Tenant tables carry org_id and reference each other with
// composite foreign keys (org_id, x_id) → x(org_id, id). Soft-deleted rows
// keep deleted_at and unique indexes are partial (WHERE deleted_at IS NULL).
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Engine names a database engine.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Dialect holds the few SQL fragments that differ between the engines.
type Dialect struct {
	Engine Engine
}

// ForUpdateSkipLocked is appended to a SELECT that claims rows other workers
// must skip. SQLite has one writer, so a plain SELECT inside the writing
// statement is enough there.
func (d Dialect) ForUpdateSkipLocked() string {
	if d.Engine == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// ForUpdate is appended to a SELECT whose rows the transaction must hold
// until it ends, so that a check and the write it allows cannot interleave
// with another transaction's. SQLite transactions here take the write lock
// at BEGIN (IMMEDIATE), which serialises them already.
func (d Dialect) ForUpdate() string {
	if d.Engine == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// LockTx takes a lock named by key for the rest of the transaction, so that
// work which must not run twice at once (several nodes storing the same
// data at start) runs one after the other. On PostgreSQL it is a
// transaction-level advisory lock; SQLite transactions here are serialised
// already. It returns the statement to run, or "" when none is needed.
func (d Dialect) LockTx() string {
	if d.Engine == Postgres {
		return "SELECT pg_advisory_xact_lock($1)"
	}
	return ""
}

// Querier is what stores need: a *sql.DB, a *sql.Tx or a *Tx.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is an open database. On SQLite, Write is a single connection (SQLite has
// one writer) and Read a pool; on PostgreSQL both are the same pool.
type DB struct {
	Dialect
	Write *sql.DB
	Read  *sql.DB
	// Where tells the operator which database this is, without secrets.
	Where string
}

// Options say which database to open.
type Options struct {
	// URL is empty for SQLite in DataDir, or postgres://… / postgresql://….
	URL string
	// DataDir holds evident.db when URL is empty.
	DataDir string
}

// Open opens and pings the database. Its errors are one line, fit for an
// operator, and never contain a password.
func Open(ctx context.Context, o Options) (*DB, error) {
	switch {
	case o.URL == "":
		return openSQLite(ctx, filepath.Join(o.DataDir, "evident.db"))
	case strings.HasPrefix(o.URL, "postgres://"), strings.HasPrefix(o.URL, "postgresql://"):
		return openPostgres(ctx, o.URL)
	case strings.HasPrefix(o.URL, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(strings.TrimPrefix(o.URL, "sqlite:"), "//"))
	default:
		return nil, errors.New("database URL must start with postgres:// (or be empty for SQLite in the data directory)")
	}
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("SQLite database path is empty")
	}
	// The driver reads everything after '?' as options: a path with these
	// characters would silently lose them (WAL, foreign keys…).
	if strings.ContainsAny(path, "?#%") {
		return nil, fmt.Errorf("SQLite database path %q must not contain ?, # or %%: choose another data directory", path)
	}
	// WAL lets readers work beside the one writer; synchronous FULL makes a
	// committed write survive power loss, not only a killed process.
	pragmas := "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	// Create the file 0600 first: SQLite gives its -wal and -shm files the
	// permissions of the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", path, errors.Unwrap(err))
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("restrict SQLite database %s: %w", path, err)
	}
	dsn := "file:" + path + "?" + pragmas
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open SQLite database %s: %s", path, sqliteMessage(err))
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, runtime.NumCPU()))
	return &DB{Dialect: Dialect{SQLite}, Write: w, Read: r, Where: "SQLite " + path}, nil
}

func sqliteMessage(err error) string {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return sqlite.ErrorCodeString[se.Code()]
	}
	return err.Error()
}

func openPostgres(ctx context.Context, rawURL string) (*DB, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("database URL is malformed: expected postgres://user[:password]@host[:port]/database")
	}
	where := "PostgreSQL " + Redact(rawURL)
	p, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("database URL is malformed: %s", redactErr(err, u))
	}
	p.SetMaxOpenConns(max(10, 4*runtime.NumCPU()))
	p.SetMaxIdleConns(max(10, 4*runtime.NumCPU()))
	p.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := p.PingContext(pingCtx); err != nil {
		p.Close()
		return nil, fmt.Errorf("cannot reach %s: %s", where, redactErr(err, u))
	}
	return &DB{Dialect: Dialect{Postgres}, Write: p, Read: p, Where: where}, nil
}

// secretParams are the URL parameters that carry secrets (pgx reads the
// password from the query string too).
var secretParams = []string{"password", "sslpassword"}

// Redact returns a database URL without its secrets, fit for logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(malformed URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for _, p := range secretParams {
		if q.Has(p) {
			q.Set(p, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// redactErr removes secrets from a driver message, in case it quotes them.
func redactErr(err error, u *url.URL) string {
	msg := err.Error()
	secrets := []string{}
	if pw, has := u.User.Password(); has {
		secrets = append(secrets, pw)
	}
	for _, p := range secretParams {
		secrets = append(secrets, u.Query().Get(p))
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

// Close closes both pools.
func (d *DB) Close() error {
	err := d.Write.Close()
	if d.Read != d.Write {
		err = errors.Join(err, d.Read.Close())
	}
	return err
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.Write.PingContext(ctx); err != nil {
		return err
	}
	if d.Read != d.Write {
		return d.Read.PingContext(ctx)
	}
	return nil
}

// Tx is a write transaction. Functions registered with AfterCommit run once it
// has committed (to wake workers, say), never if it rolls back.
type Tx struct {
	*sql.Tx
	Dialect
	afterCommit []func()
}

// AfterCommit registers f to run after a successful commit.
func (tx *Tx) AfterCommit(f func()) { tx.afterCommit = append(tx.afterCommit, f) }

// InTx runs fn in a write transaction: committed when fn returns nil, rolled
// back otherwise (and on panic). Hold no transaction across network I/O:
// SQLite has one writer.
func (d *DB) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := d.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	tx := &Tx{Tx: sqlTx, Dialect: d.Dialect}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

// IsUniqueViolation tells whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	return hasCode(err, "23505", sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// IsInvalidText tells whether err is PostgreSQL refusing a text value it
// cannot store: a NUL byte in an id or a filter, which SQLite would take.
// It is the caller's input, never the server's fault.
func IsInvalidText(err error) bool {
	return hasCode(err, "22021")
}

// IsForeignKeyViolation tells whether err is a foreign-key violation, such as
// a reference to another organisation's row.
func IsForeignKeyViolation(err error) bool {
	return hasCode(err, "23503", sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY)
}

func hasCode(err error, pgCode string, sqliteCodes ...int) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgCode
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		for _, c := range sqliteCodes {
			if se.Code() == c {
				return true
			}
		}
	}
	return false
}
