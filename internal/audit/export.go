package audit

import (
	"bufio"
	"context"
	"io"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// Export writes a chain's entries as JSON Lines, oldest first, from since
// (zero: from the start). Each line is the entry's canonical object plus
// "hash", "prev_hash" and "personal_values" (the clear text and salt of each
// commitment still held), which is everything an independent verifier needs
// (docs/audit-chain.md). An export is a sensitive read: it is recorded in
// the chain first (audit.export), so it is the export's last line. It
// returns the number of entries written.
func (l *Log) Export(ctx context.Context, w io.Writer, chain string, since time.Time) (int64, error) {
	var sinceMicros int64
	var sinceField any
	if !since.IsZero() {
		sinceMicros = clock.Micros(since)
		sinceField = sinceMicros
	}
	orgID := chain
	if chain == InstanceChain {
		orgID = ""
	}
	if err := l.db.InTx(ctx, func(tx *db.Tx) error {
		return l.Record(ctx, tx, Event{OrgID: orgID, Action: "audit.export", TargetType: "audit_chain", TargetID: chain,
			Fields: map[string]any{"since": sinceField}})
	}); err != nil {
		return 0, err
	}
	rows, err := l.db.Read.QueryContext(ctx, `SELECT `+entryColumns+` FROM audit_events WHERE chain = $1 AND at >= $2 ORDER BY seq`, chain, sinceMicros)
	if err != nil {
		return 0, apperr.Wrap(err, "audit: read chain")
	}
	defer rows.Close()
	prows, err := l.db.Read.QueryContext(ctx, `SELECT seq, name, salt, value FROM audit_personal WHERE chain = $1 AND at >= $2 ORDER BY seq, name`, chain, sinceMicros)
	if err != nil {
		return 0, apperr.Wrap(err, "audit: read personal data")
	}
	defer prows.Close()
	var pending *personalValue
	advance := func() error {
		pending = nil
		if !prows.Next() {
			return prows.Err()
		}
		var p personalValue
		if err := prows.Scan(&p.Seq, &p.Name, &p.Salt, &p.Value); err != nil {
			return err
		}
		pending = &p
		return nil
	}
	if err := advance(); err != nil {
		return 0, apperr.Wrap(err, "audit: read personal data")
	}

	bw := bufio.NewWriterSize(w, 64<<10)
	var n int64
	prevHash := ""
	var line []byte
	for rows.Next() {
		e, err := scanEntry(rows, chain)
		if err != nil {
			return n, apperr.Wrap(err, "audit: read chain")
		}
		if prevHash == "" {
			prevHash = GenesisHash
			if e.Seq > 1 {
				err := l.db.Read.QueryRowContext(ctx, `SELECT hash FROM audit_events WHERE chain = $1 AND seq = $2`, chain, e.Seq-1).Scan(&prevHash)
				if err != nil && !isNoRows(err) {
					return n, apperr.Wrap(err, "audit: read chain")
				}
			}
		}
		line = e.appendCanonical(line[:0])
		line = line[:len(line)-1] // reopen the object for the extra keys
		line = append(line, `,"hash":`...)
		line = appendString(line, e.Hash)
		line = append(line, `,"prev_hash":`...)
		line = appendString(line, prevHash)
		line = append(line, `,"personal_values":{`...)
		first := true
		for pending != nil && pending.Seq <= e.Seq {
			if pending.Seq == e.Seq {
				if !first {
					line = append(line, ',')
				}
				first = false
				line = appendString(line, pending.Name)
				line = append(line, `:{"salt":`...)
				line = appendString(line, pending.Salt)
				line = append(line, `,"value":`...)
				line = appendString(line, pending.Value)
				line = append(line, '}')
			}
			if err := advance(); err != nil {
				return n, apperr.Wrap(err, "audit: read personal data")
			}
		}
		line = append(line, "}}\n"...)
		if _, err := bw.Write(line); err != nil {
			return n, apperr.Wrap(err, "audit: write export")
		}
		prevHash = e.Hash
		n++
	}
	if err := rows.Err(); err != nil {
		return n, apperr.Wrap(err, "audit: read chain")
	}
	return n, apperr.Wrap(bw.Flush(), "audit: write export")
}
