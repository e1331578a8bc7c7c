// Package blob keeps the bytes of evidence files, addressed by organisation and
// content hash.
//
// Layout: every blob lives under the key orgs/{org}/sha256/{hex}, where hex is
// the lower-case SHA-256 of its bytes. The same bytes uploaded twice in one
// organisation are stored once; two organisations never share a blob, so
// deleting or collecting one organisation's data cannot touch another's.
// Nothing else in the store names a blob: a blob that no row references is
// garbage, found through List and removed with Delete.
//
// Durability: Put returns only once the bytes are durable, because the caller
// records a reference to the blob right after (invariant 4: blob bytes are
// durable before anything references them). FileStore writes a temporary file
// in the same directory tree, fsyncs it, renames it into place and fsyncs the
// directory, so a crash leaves either no blob or the whole blob, never a
// partial one under its final name. S3Store spools the upload to a local
// temporary file first, since the key needs the hash before the upload
// starts, and uploads it with its exact size; the object store acknowledges
// only stored bytes.
//
// Every method validates the organisation id and the hash before building a
// path or key from them, so no input can reach outside the store.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
)

// Store keeps file bytes by organisation and content hash.
type Store interface {
	// Put reads r to the end and stores its bytes under
	// orgs/{orgID}/sha256/{hex}. More than limit bytes: ErrTooLarge and
	// nothing stored (no partial file, no object, no temp file left). The same
	// bytes stored twice in one organisation are kept once (Object.Existed
	// true). The bytes are durable when Put returns.
	Put(ctx context.Context, orgID string, r io.Reader, limit int64) (Object, error)
	// Open returns the bytes; ErrNotFound when absent.
	Open(ctx context.Context, orgID, sha256hex string) (io.ReadCloser, int64, error)
	// Delete removes a blob; absent is not an error.
	Delete(ctx context.Context, orgID, sha256hex string) error
	// List returns the hashes stored for an organisation (for garbage
	// collection).
	List(ctx context.Context, orgID string) ([]string, error)
	// Name describes the store for logs and readiness ("files in DIR",
	// "s3 BUCKET at ENDPOINT").
	Name() string
}

// Object describes a stored blob.
type Object struct {
	SHA256  string // lower-case hex
	Size    int64  // bytes
	Existed bool   // the organisation already had these bytes
}

var (
	// ErrTooLarge reports an upload over the limit given to Put; callers map
	// it to HTTP 413.
	ErrTooLarge = errors.New("blob: the file is larger than the limit")
	// ErrNotFound reports a blob that is not in the store.
	ErrNotFound = errors.New("blob: not found")
)

// maxOrgIDLen bounds an organisation id; ids are UUIDs (36 characters).
const maxOrgIDLen = 64

// checkOrgID refuses anything but [A-Za-z0-9-]{1,64}: no separator, no dot,
// so the id is always exactly one path element or key segment.
func checkOrgID(orgID string) error {
	if orgID == "" || len(orgID) > maxOrgIDLen {
		return apperr.New(apperr.Invalid, "invalid organisation id")
	}
	for i := 0; i < len(orgID); i++ {
		c := orgID[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return apperr.New(apperr.Invalid, "invalid organisation id")
		}
	}
	return nil
}

// checkHash refuses anything but 64 lower-case hex digits, the only form Put
// produces; upper case is refused too so one blob never has two names.
func checkHash(sha256hex string) error {
	if !validHash(sha256hex) {
		return apperr.New(apperr.Invalid, "invalid SHA-256 hash")
	}
	return nil
}

func validHash(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// checkLimit refuses a negative limit, which would make every upload too large
// and most likely is a configuration mistake.
func checkLimit(limit int64) error {
	if limit < 0 {
		return apperr.New(apperr.Invalid, "invalid size limit %d", limit)
	}
	return nil
}

// spool copies r into f while hashing, reading at most limit+1 bytes: one byte
// more than allowed is enough to know the upload is too large without reading
// the rest of a possibly huge body. It checks ctx between reads, so a cancelled
// request stops the copy. It returns the lower-case hex hash and the size.
func spool(ctx context.Context, f *os.File, r io.Reader, limit int64) (string, int64, error) {
	most := limit
	if most < math.MaxInt64 {
		most++
	}
	h := sha256.New()
	// Neither side implements WriterTo/ReaderFrom, so io.CopyBuffer really
	// reads through ctxReader in chunks of buf and never buffers the whole body.
	buf := make([]byte, 256<<10)
	n, err := io.CopyBuffer(hashWriter{f, h}, ctxReader{ctx, io.LimitReader(r, most)}, buf)
	if err != nil {
		if ctx.Err() != nil {
			return "", 0, apperr.Wrap(ctx.Err(), "store file")
		}
		return "", 0, apperr.Wrap(err, "store file")
	}
	if n > limit {
		return "", 0, ErrTooLarge
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// hashWriter writes to a file and a hash; unlike io.MultiWriter it stays a
// plain Writer, which keeps io.CopyBuffer on its explicit read loop.
type hashWriter struct {
	f *os.File
	h hash.Hash
}

func (w hashWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n]) // hash.Hash never fails
	return n, err
}

// tempPattern names the temporary files of uploads in progress; sweepTemp
// removes only files named like this, since an S3 spool directory may be
// shared with other programs.
const tempPattern = "blob-put-*"

// staleTemp is how long a temporary file may go unwritten before sweepTemp
// takes it for the leftover of a crash. An upload in progress writes to its
// file continuously, so its modification time stays recent.
const staleTemp = time.Hour

// sweepTemp removes the temporary files in dir last written before cutoff.
// Put removes its temporary file on every path it returns by, but a crash
// mid-upload leaves one, possibly hundreds of MB, that nothing else removes.
func sweepTemp(dir string, cutoff time.Time) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return apperr.Wrap(err, "read blob temporary directory")
	}
	for _, e := range entries {
		if ok, _ := filepath.Match(tempPattern, e.Name()); !ok {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || !info.ModTime().Before(cutoff) {
			continue // gone meanwhile, or not a file, or maybe still being written
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return apperr.Wrap(err, "remove stale blob temporary file")
		}
	}
	return nil
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
