package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"

	"github.com/evident-isms/evident/internal/apperr"
)

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// storedEntry is a row of audit_events as stored: fields and personal are
// the canonical JSON texts that were hashed.
type storedEntry struct {
	Chain, OrgID             string
	Seq, Time                int64
	Action                   string
	ActorType, ActorID       string
	TargetType, TargetID     string
	RequestID                string
	FieldsJSON, PersonalJSON string
	Hash                     string
}

// appendCanonical writes the entry's canonical encoding with its stored
// field texts, so verification hashes exactly the stored bytes.
func (s *storedEntry) appendCanonical(b []byte) []byte {
	b = append(b, `{"action":`...)
	b = appendString(b, s.Action)
	b = append(b, `,"actor":{"id":`...)
	b = appendString(b, s.ActorID)
	b = append(b, `,"type":`...)
	b = appendString(b, s.ActorType)
	b = append(b, `},"chain":`...)
	b = appendString(b, s.Chain)
	b = append(b, `,"fields":`...)
	b = append(b, s.FieldsJSON...)
	b = append(b, `,"personal":`...)
	b = append(b, s.PersonalJSON...)
	b = append(b, `,"request_id":`...)
	b = appendString(b, s.RequestID)
	b = append(b, `,"seq":`...)
	b = appendInt(b, s.Seq)
	b = append(b, `,"target":{"id":`...)
	b = appendString(b, s.TargetID)
	b = append(b, `,"type":`...)
	b = appendString(b, s.TargetType)
	b = append(b, `},"time":`...)
	b = appendInt(b, s.Time)
	return append(b, '}')
}

const entryColumns = `seq, COALESCE(org_id, ''), at, action, actor_type, actor, target_type, target, request, fields, personal, hash`

func scanEntry(rows *sql.Rows, chain string) (storedEntry, error) {
	e := storedEntry{Chain: chain}
	err := rows.Scan(&e.Seq, &e.OrgID, &e.Time, &e.Action, &e.ActorType, &e.ActorID, &e.TargetType, &e.TargetID,
		&e.RequestID, &e.FieldsJSON, &e.PersonalJSON, &e.Hash)
	return e, err
}

// personalValue is a row of audit_personal.
type personalValue struct {
	Seq               int64
	Name, Salt, Value string
}

// Problem is the first thing found wrong in a chain.
type Problem struct {
	Seq  int64  `json:"seq"`
	What string `json:"what"`
}

func (p *Problem) Error() string { return fmt.Sprintf("entry %d: %s", p.Seq, p.What) }

// Report is the outcome of verifying one chain.
type Report struct {
	Chain    string   `json:"chain"`
	Entries  int64    `json:"entries"`   // entries verified before any problem
	HeadSeq  int64    `json:"head_seq"`  // the last entry's sequence number
	HeadHash string   `json:"head_hash"` // and its hash
	Problem  *Problem `json:"problem,omitempty"`
}

// verifier checks entries one after another; it is the algorithm of
// docs/audit-chain.md, shared by Verify and the benchmarks.
type verifier struct {
	prev     []byte // the previous entry's hash, raw
	expected int64
	buf      []byte
	sum      [32]byte
	h        hash.Hash
}

func newVerifier() *verifier {
	return &verifier{prev: make([]byte, 32), expected: 1, h: sha256.New()}
}

// next checks e against the chain so far and moves on.
func (v *verifier) next(e *storedEntry) *Problem {
	if e.Seq != v.expected {
		return &Problem{Seq: v.expected, What: fmt.Sprintf("the entry is missing (the next one stored is %d)", e.Seq)}
	}
	if (e.Chain == InstanceChain && e.OrgID != "") || (e.Chain != InstanceChain && e.OrgID != e.Chain) {
		return &Problem{Seq: e.Seq, What: "its organisation does not match its chain"}
	}
	v.buf = e.appendCanonical(v.buf[:0])
	v.h.Reset()
	v.h.Write(v.prev)
	v.h.Write(v.buf)
	v.h.Sum(v.sum[:0])
	var stored [32]byte
	if n, err := hex.Decode(stored[:], []byte(e.Hash)); err != nil || n != 32 || stored != v.sum {
		return &Problem{Seq: e.Seq, What: "its contents do not match its hash: this entry was changed, or an earlier one was rewritten with a recomputed hash"}
	}
	copy(v.prev, v.sum[:])
	v.expected++
	return nil
}

// checkPersonal checks a clear personal value against the commitment in
// its entry's canonical personal object.
func checkPersonal(e *storedEntry, p personalValue) *Problem {
	salt, err := hex.DecodeString(p.Salt)
	if err != nil {
		return &Problem{Seq: p.Seq, What: fmt.Sprintf("the salt of personal value %q is not hex", p.Name)}
	}
	want := appendString(nil, p.Name)
	want = append(want, `:"`...)
	want = append(want, Commit(salt, p.Value)...)
	want = append(want, '"')
	if !bytes.Contains([]byte(e.PersonalJSON), want) {
		return &Problem{Seq: p.Seq, What: fmt.Sprintf("personal value %q does not match its commitment", p.Name)}
	}
	return nil
}

// Chains lists the chains that have entries: the instance chain first,
// then organisations by id.
func (l *Log) Chains(ctx context.Context) ([]string, error) {
	rows, err := l.db.Read.QueryContext(ctx, `SELECT chain FROM audit_heads ORDER BY chain`)
	if err != nil {
		return nil, apperr.Wrap(err, "audit: list chains")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, apperr.Wrap(err, "audit: list chains")
		}
		if c == InstanceChain {
			out = append([]string{c}, out...)
		} else {
			out = append(out, c)
		}
	}
	return out, rows.Err()
}

// Verify checks a whole chain: sequence numbers without gaps, every hash,
// every personal value against its commitment, the head row, and, given a
// checkpoint, that the chain still holds the checkpointed entry. A problem
// found is in the report; the error is for failures to read.
func (l *Log) Verify(ctx context.Context, chain string, cp *Checkpoint) (*Report, error) {
	rep := &Report{Chain: chain, HeadHash: GenesisHash}
	if cp != nil {
		if cp.Chain != chain {
			return nil, apperr.New(apperr.Invalid, "the checkpoint is of chain %s, not %s", cp.Chain, chain)
		}
		if !l.keys.Verify(cp.KeyID, cp.signedBytes(), cp.signature()) {
			rep.Problem = &Problem{Seq: cp.Seq, What: "the checkpoint's signature does not verify with this instance's signing keys"}
			return rep, nil
		}
	}
	rows, err := l.db.Read.QueryContext(ctx, `SELECT `+entryColumns+` FROM audit_events WHERE chain = $1 ORDER BY seq`, chain)
	if err != nil {
		return nil, apperr.Wrap(err, "audit: read chain")
	}
	defer rows.Close()
	prows, err := l.db.Read.QueryContext(ctx, `SELECT seq, name, salt, value FROM audit_personal WHERE chain = $1 ORDER BY seq, name`, chain)
	if err != nil {
		return nil, apperr.Wrap(err, "audit: read personal data")
	}
	defer prows.Close()
	var pending *personalValue
	nextPersonal := func() (*personalValue, error) {
		if !prows.Next() {
			return nil, prows.Err()
		}
		var p personalValue
		if err := prows.Scan(&p.Seq, &p.Name, &p.Salt, &p.Value); err != nil {
			return nil, err
		}
		return &p, nil
	}
	if pending, err = nextPersonal(); err != nil {
		return nil, apperr.Wrap(err, "audit: read personal data")
	}

	v := newVerifier()
	checkpointSeen := false
	for rows.Next() {
		e, err := scanEntry(rows, chain)
		if err != nil {
			return nil, apperr.Wrap(err, "audit: read chain")
		}
		if p := v.next(&e); p != nil {
			rep.Problem = p
			return rep, nil
		}
		for pending != nil && pending.Seq <= e.Seq {
			if pending.Seq == e.Seq {
				if p := checkPersonal(&e, *pending); p != nil {
					rep.Problem = p
					return rep, nil
				}
			}
			if pending, err = nextPersonal(); err != nil {
				return nil, apperr.Wrap(err, "audit: read personal data")
			}
		}
		if cp != nil && e.Seq == cp.Seq {
			checkpointSeen = true
			if e.Hash != cp.Hash {
				rep.Problem = &Problem{Seq: e.Seq, What: "the entry differs from the one the checkpoint signed"}
				return rep, nil
			}
		}
		rep.Entries++
		rep.HeadSeq, rep.HeadHash = e.Seq, e.Hash
	}
	if err := rows.Err(); err != nil {
		return nil, apperr.Wrap(err, "audit: read chain")
	}
	if pending != nil {
		rep.Problem = &Problem{Seq: pending.Seq, What: fmt.Sprintf("personal value %q belongs to no entry", pending.Name)}
		return rep, nil
	}
	var headSeq int64
	var headHash string
	err = l.db.Read.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE chain = $1`, chain).Scan(&headSeq, &headHash)
	if err != nil && !isNoRows(err) {
		return nil, apperr.Wrap(err, "audit: read chain head")
	}
	if headSeq > rep.HeadSeq {
		rep.Problem = &Problem{Seq: rep.HeadSeq + 1, What: fmt.Sprintf("the chain ends at %d but its head says %d: entries were cut off", rep.HeadSeq, headSeq)}
		return rep, nil
	}
	if rep.HeadSeq > 0 && (headSeq != rep.HeadSeq || headHash != rep.HeadHash) {
		rep.Problem = &Problem{Seq: rep.HeadSeq, What: "the chain head does not match the last entry"}
		return rep, nil
	}
	if cp != nil && !checkpointSeen {
		rep.Problem = &Problem{Seq: rep.HeadSeq + 1, What: fmt.Sprintf("the chain ends at %d but the checkpoint of %s names entry %d: entries were cut off",
			rep.HeadSeq, cp.TimeString(), cp.Seq)}
	}
	return rep, nil
}
