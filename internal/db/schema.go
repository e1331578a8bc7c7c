package db

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Schema is the shape of the live database, read the same way from either
// engine so tests can compare them and check the registries against them.
type Schema struct {
	Tables      map[string][]Column
	Indexes     []Index
	ForeignKeys []ForeignKey
}

// Column is one table column.
type Column struct {
	Name    string
	Type    string // lower case, as declared: text, bigint, integer, boolean
	NotNull bool
}

// Index is an index created by a migration (not one backing a primary key).
type Index struct {
	Name    string
	Table   string
	Columns string // comma-separated, in index order
	Unique  bool
	Partial bool
}

// ForeignKey is one foreign-key constraint.
type ForeignKey struct {
	Table      string
	Columns    string
	RefTable   string
	RefColumns string
}

// bookkeeping tables belong to the migration tool, not to the application.
const migrationTable = "goose_db_version"

// Describe reads the schema of the application's tables.
func (d *DB) Describe(ctx context.Context) (*Schema, error) {
	s := &Schema{Tables: map[string][]Column{}}
	var err error
	if d.Engine == Postgres {
		err = describePostgres(ctx, d, s)
	} else {
		err = describeSQLite(ctx, d, s)
	}
	if err != nil {
		return nil, fmt.Errorf("describe schema: %w", err)
	}
	for t := range s.Tables {
		sort.Slice(s.Tables[t], func(i, j int) bool { return s.Tables[t][i].Name < s.Tables[t][j].Name })
	}
	sort.Slice(s.Indexes, func(i, j int) bool { return s.Indexes[i].Name < s.Indexes[j].Name })
	sort.Slice(s.ForeignKeys, func(i, j int) bool {
		a, b := s.ForeignKeys[i], s.ForeignKeys[j]
		return a.Table+"."+a.Columns < b.Table+"."+b.Columns
	})
	return s, nil
}

// Column returns the named column of a table, if it exists.
func (s *Schema) Column(table, name string) (Column, bool) {
	for _, c := range s.Tables[table] {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

func describeSQLite(ctx context.Context, d *DB, s *Schema) error {
	tables, err := queryStrings(ctx, d, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> $1`, migrationTable)
	if err != nil {
		return err
	}
	for _, t := range tables {
		rows, err := d.Read.QueryContext(ctx, `SELECT name, type, "notnull" FROM pragma_table_info($1)`, t)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c Column
			if err := rows.Scan(&c.Name, &c.Type, &c.NotNull); err != nil {
				rows.Close()
				return err
			}
			c.Type = strings.ToLower(c.Type)
			s.Tables[t] = append(s.Tables[t], c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}

		rows, err = d.Read.QueryContext(ctx, `SELECT name, "unique", partial FROM pragma_index_list($1) WHERE origin = 'c'`, t)
		if err != nil {
			return err
		}
		var idx []Index
		for rows.Next() {
			i := Index{Table: t}
			if err := rows.Scan(&i.Name, &i.Unique, &i.Partial); err != nil {
				rows.Close()
				return err
			}
			idx = append(idx, i)
		}
		rows.Close()
		for _, i := range idx {
			cols, err := queryStrings(ctx, d, `SELECT name FROM pragma_index_info($1) ORDER BY seqno`, i.Name)
			if err != nil {
				return err
			}
			i.Columns = strings.Join(cols, ",")
			s.Indexes = append(s.Indexes, i)
		}

		rows, err = d.Read.QueryContext(ctx, `SELECT id, "table", "from", "to" FROM pragma_foreign_key_list($1) ORDER BY id, seq`, t)
		if err != nil {
			return err
		}
		byID := map[int]*ForeignKey{}
		var order []int
		for rows.Next() {
			var id int
			var ref, from, to string
			if err := rows.Scan(&id, &ref, &from, &to); err != nil {
				rows.Close()
				return err
			}
			fk, ok := byID[id]
			if !ok {
				fk = &ForeignKey{Table: t, RefTable: ref}
				byID[id] = fk
				order = append(order, id)
			}
			fk.Columns = joinComma(fk.Columns, from)
			fk.RefColumns = joinComma(fk.RefColumns, to)
		}
		rows.Close()
		for _, id := range order {
			s.ForeignKeys = append(s.ForeignKeys, *byID[id])
		}
	}
	return nil
}

func joinComma(list, item string) string {
	if list == "" {
		return item
	}
	return list + "," + item
}

func describePostgres(ctx context.Context, d *DB, s *Schema) error {
	rows, err := d.Read.QueryContext(ctx, `
		SELECT table_name, column_name, data_type, is_nullable = 'NO'
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> $1`, migrationTable)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var c Column
		if err := rows.Scan(&t, &c.Name, &c.Type, &c.NotNull); err != nil {
			return err
		}
		s.Tables[t] = append(s.Tables[t], c)
	}
	if err := rows.Err(); err != nil {
		return err
	}

	// Indexes written in migrations: not those that back a primary key or a
	// constraint, which SQLite does not list either.
	irows, err := d.Read.QueryContext(ctx, `
		SELECT i.relname, t.relname, ix.indisunique, ix.indpred IS NOT NULL,
		       array_to_string(ARRAY(
		           SELECT a.attname FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(n, o)
		           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o), ',')
		FROM pg_index ix
		JOIN pg_class i ON i.oid = ix.indexrelid
		JOIN pg_class t ON t.oid = ix.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND t.relname <> $1 AND NOT ix.indisprimary
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)`, migrationTable)
	if err != nil {
		return err
	}
	defer irows.Close()
	for irows.Next() {
		var i Index
		if err := irows.Scan(&i.Name, &i.Table, &i.Unique, &i.Partial, &i.Columns); err != nil {
			return err
		}
		s.Indexes = append(s.Indexes, i)
	}
	if err := irows.Err(); err != nil {
		return err
	}

	frows, err := d.Read.QueryContext(ctx, `
		SELECT cl.relname, rf.relname,
		       array_to_string(ARRAY(
		           SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(n, o)
		           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), ','),
		       array_to_string(ARRAY(
		           SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(n, o)
		           JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o), ',')
		FROM pg_constraint c
		JOIN pg_class cl ON cl.oid = c.conrelid
		JOIN pg_class rf ON rf.oid = c.confrelid
		JOIN pg_namespace n ON n.oid = cl.relnamespace
		WHERE c.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return err
	}
	defer frows.Close()
	for frows.Next() {
		var fk ForeignKey
		if err := frows.Scan(&fk.Table, &fk.RefTable, &fk.Columns, &fk.RefColumns); err != nil {
			return err
		}
		s.ForeignKeys = append(s.ForeignKeys, fk)
	}
	return frows.Err()
}

func queryStrings(ctx context.Context, d *DB, query string, args ...any) ([]string, error) {
	rows, err := d.Read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
