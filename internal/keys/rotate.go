package keys

import (
	"context"
	"fmt"
	"regexp"

	"github.com/evident-isms/evident/internal/db"
)

// EncryptedColumn is a column that holds values made by Seal, with the id
// column of its table. Every such column is listed in Encrypted so rotation
// can re-encrypt it.
type EncryptedColumn struct {
	Table, ID, Column string
}

// Encrypted is the registry of sealed columns; packages that add one list it
// here in the same change.
var Encrypted = []EncryptedColumn{}

// AAD is the associated data a column's values are sealed with: it binds a
// value to its table, column and row.
func (c EncryptedColumn) AAD(rowID string) []byte {
	return []byte(c.Table + "." + c.Column + ":" + rowID)
}

var sqlName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Reencrypt seals every value of cols that is not under the current secret
// key again under it, and returns how many it changed. Each value is replaced
// only if unchanged since it was read, so a concurrent write is never lost.
func (k *Keys) Reencrypt(ctx context.Context, d *db.DB, cols []EncryptedColumn) (int, error) {
	current := k.Secret.Current().ID
	changed := 0
	for _, c := range cols {
		for _, n := range []string{c.Table, c.ID, c.Column} {
			if !sqlName.MatchString(n) {
				return changed, fmt.Errorf("encrypted column registry: bad name %q", n)
			}
		}
		type row struct{ id, value string }
		var stale []row
		rows, err := d.Read.QueryContext(ctx, fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s <> ''`, c.ID, c.Column, c.Table, c.Column))
		if err != nil {
			return changed, fmt.Errorf("read %s.%s: %w", c.Table, c.Column, err)
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.value); err != nil {
				rows.Close()
				return changed, err
			}
			if KeyID(r.value) != current {
				stale = append(stale, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return changed, err
		}
		update := fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2 AND %s = $3`, c.Table, c.Column, c.ID, c.Column)
		for _, r := range stale {
			plain, err := k.Open(r.value, c.AAD(r.id))
			if err != nil {
				return changed, fmt.Errorf("%s.%s of row %s: %w", c.Table, c.Column, r.id, err)
			}
			if _, err := d.Write.ExecContext(ctx, update, k.Seal(plain, c.AAD(r.id)), r.id, r.value); err != nil {
				return changed, fmt.Errorf("update %s.%s: %w", c.Table, c.Column, err)
			}
			changed++
		}
	}
	return changed, nil
}
