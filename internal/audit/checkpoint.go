package audit

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/db"
)

// Checkpoint is a signed statement of a chain's head at a time. Kept
// somewhere the database's administrators cannot write (a ticket, a mail
// archive, the auditor's files), it lets verification notice entries cut
// off the end of the chain, which the chain alone cannot show.
type Checkpoint struct {
	Chain     string `json:"chain"`
	Seq       int64  `json:"seq"`
	Hash      string `json:"hash"`
	Time      int64  `json:"time"` // microseconds since the epoch, UTC
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"` // base64 Ed25519 over signedBytes
}

// signedBytes is what the signature covers: a fixed prefix and the
// canonical JSON of chain, hash, seq and time.
func (c *Checkpoint) signedBytes() []byte {
	b := []byte("evident-audit-checkpoint-v1\n")
	b = append(b, `{"chain":`...)
	b = appendString(b, c.Chain)
	b = append(b, `,"hash":`...)
	b = appendString(b, c.Hash)
	b = append(b, `,"seq":`...)
	b = appendInt(b, c.Seq)
	b = append(b, `,"time":`...)
	b = appendInt(b, c.Time)
	return append(b, '}')
}

func (c *Checkpoint) signature() []byte {
	sig, _ := base64.StdEncoding.DecodeString(c.Signature)
	return sig
}

// TimeString is the checkpoint's time, for messages.
func (c *Checkpoint) TimeString() string {
	return clock.FromMicros(c.Time).UTC().Format(time.RFC3339)
}

// Checkpoint signs the current head of chain, stores the checkpoint and
// returns it. A chain without entries gets none (nil).
func (l *Log) Checkpoint(ctx context.Context, chain string) (*Checkpoint, error) {
	var cp *Checkpoint
	err := l.db.InTx(ctx, func(tx *db.Tx) error {
		var seq int64
		var hash string
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE chain = $1`, chain).Scan(&seq, &hash)
		if isNoRows(err) || (err == nil && seq == 0) {
			return nil
		}
		if err != nil {
			return apperr.Wrap(err, "audit: read chain head")
		}
		var last int64
		err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints WHERE chain = $1`, chain).Scan(&last)
		if err != nil {
			return apperr.Wrap(err, "audit: read checkpoints")
		}
		cp = &Checkpoint{Chain: chain, Seq: seq, Hash: hash, Time: clock.Micros(l.clock.Now())}
		kid, sig := l.keys.Sign(cp.signedBytes())
		cp.KeyID, cp.Signature = kid, base64.StdEncoding.EncodeToString(sig)
		if last == seq {
			return nil // the head has not moved: nothing new to store
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (chain, seq, hash, at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)`,
			cp.Chain, cp.Seq, cp.Hash, cp.Time, cp.KeyID, cp.Signature)
		return apperr.Wrap(err, "audit: store checkpoint")
	})
	return cp, err
}

// CheckpointAll checkpoints every chain (Checkpoint stores only those whose
// head moved); the periodic job calls it.
func (l *Log) CheckpointAll(ctx context.Context) error {
	chains, err := l.Chains(ctx)
	if err != nil {
		return err
	}
	for _, c := range chains {
		if _, err := l.Checkpoint(ctx, c); err != nil {
			return err
		}
	}
	return nil
}
