package blob

import (
	"context"
	"errors"
	"github.com/evident-isms/evident/internal/clock"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/evident-isms/evident/internal/apperr"
)

// tmpName is the directory under the store's root that holds uploads in
// progress. It is inside the same tree as the blobs, so the final rename never
// crosses a file system and stays atomic.
const tmpName = "tmp"

// FileStore keeps blobs as files in a directory: DIR/orgs/{org}/sha256/{hex},
// mode 0600, in directories of mode 0700.
type FileStore struct {
	dir string // absolute, so a later change of working directory does not move the store
}

var _ Store = (*FileStore)(nil)

// NewFileStore opens the store in dir, creating it with mode 0700 if needed,
// and removes temporary files that a crash left behind.
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, apperr.New(apperr.Invalid, "the blob directory is not set")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, apperr.Wrap(err, "resolve blob directory")
	}
	if err := os.MkdirAll(filepath.Join(abs, tmpName), 0o700); err != nil {
		return nil, apperr.Wrap(err, "create blob directory")
	}
	// Temp files carry the system's modification times, so the system clock
	// (not an injected one) says which are stale.
	if err := sweepTemp(filepath.Join(abs, tmpName), clock.System{}.Now().Add(-staleTemp)); err != nil {
		return nil, err
	}
	return &FileStore{dir: abs}, nil
}

// Name describes the store for logs and readiness.
func (s *FileStore) Name() string { return "files in " + s.dir }

// orgDir is the path, relative to the store's root, of the directory that
// holds an organisation's blobs; orgID must be valid.
func orgDir(orgID string) string { return filepath.Join("orgs", orgID, "sha256") }

// Put stores r's bytes durably; see Store.
func (s *FileStore) Put(ctx context.Context, orgID string, r io.Reader, limit int64) (Object, error) {
	if err := checkOrgID(orgID); err != nil {
		return Object{}, err
	}
	if err := checkLimit(limit); err != nil {
		return Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return Object{}, apperr.Wrap(err, "store file")
	}
	tmp, err := os.CreateTemp(filepath.Join(s.dir, tmpName), tempPattern) // mode 0600
	if err != nil {
		return Object{}, apperr.Wrap(err, "create blob temporary file")
	}
	// Until the rename, the temporary file is ours to remove on every path:
	// too large, failed read, cancelled, failed sync, or already stored.
	renamed := false
	defer func() {
		_ = tmp.Close() // a second Close only reports os.ErrClosed
		if !renamed {
			_ = os.Remove(tmp.Name())
		}
	}()

	sum, size, err := spool(ctx, tmp, r, limit)
	if err != nil {
		return Object{}, err
	}
	// The bytes must be on disk before the name points at them; otherwise a
	// crash could leave a complete-looking name over missing data.
	if err := tmp.Sync(); err != nil {
		return Object{}, apperr.Wrap(err, "sync blob")
	}
	if err := tmp.Close(); err != nil {
		return Object{}, apperr.Wrap(err, "close blob")
	}
	if err := mkdirDurable(s.dir, orgDir(orgID)); err != nil {
		return Object{}, err
	}
	final := filepath.Join(s.dir, orgDir(orgID), sum)
	// A file under this name was renamed there only after its fsync, so it
	// already holds these bytes durably. One with another size is damaged;
	// the rename below replaces it.
	if info, err := os.Lstat(final); err == nil && info.Mode().IsRegular() && info.Size() == size {
		return Object{SHA256: sum, Size: size, Existed: true}, nil
	}
	// Rename is atomic: a concurrent Put of the same bytes replaces one
	// complete file with another identical one.
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Object{}, apperr.Wrap(err, "move blob into place")
	}
	renamed = true
	// The rename is durable only once the directory entry is.
	if err := syncDir(filepath.Dir(final)); err != nil {
		return Object{}, err
	}
	return Object{SHA256: sum, Size: size}, nil
}

// Open returns the blob's bytes and size; see Store.
func (s *FileStore) Open(ctx context.Context, orgID, sha256hex string) (io.ReadCloser, int64, error) {
	path, err := s.path(orgID, sha256hex)
	if err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, apperr.Wrap(err, "open blob")
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, apperr.Wrap(err, "open blob")
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, apperr.Wrap(err, "stat blob")
	}
	if !info.Mode().IsRegular() {
		_ = f.Close()
		return nil, 0, ErrNotFound
	}
	return f, info.Size(), nil
}

// Delete removes a blob; absent is not an error.
func (s *FileStore) Delete(ctx context.Context, orgID, sha256hex string) error {
	path, err := s.path(orgID, sha256hex)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return apperr.Wrap(err, "delete blob")
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return apperr.Wrap(err, "delete blob")
	}
	return nil
}

// List returns the organisation's hashes in ascending order.
func (s *FileStore) List(ctx context.Context, orgID string) ([]string, error) {
	if err := checkOrgID(orgID); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, apperr.Wrap(err, "list blobs")
	}
	entries, err := os.ReadDir(filepath.Join(s.dir, orgDir(orgID)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // the organisation never stored a file
	}
	if err != nil {
		return nil, apperr.Wrap(err, "list blobs")
	}
	var hashes []string
	for _, e := range entries { // ReadDir sorts by name
		if e.Type().IsRegular() && validHash(e.Name()) {
			hashes = append(hashes, e.Name())
		}
	}
	return hashes, nil
}

// path validates its inputs before joining them, so neither can add a path
// element.
func (s *FileStore) path(orgID, sha256hex string) (string, error) {
	if err := checkOrgID(orgID); err != nil {
		return "", err
	}
	if err := checkHash(sha256hex); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, orgDir(orgID), sha256hex), nil
}

// mkdirDurable creates the relative path rel below root one element at a time
// with mode 0700, fsyncing the parent of each directory it creates: a blob
// renamed into a new directory is only durable if that directory's own entry
// is.
func mkdirDurable(root, rel string) error {
	cur := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		next := filepath.Join(cur, part)
		err := os.Mkdir(next, 0o700)
		switch {
		case err == nil:
			if err := syncDir(cur); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
			// Already there: created, and made durable, by an earlier Put.
		default:
			return apperr.Wrap(err, "create blob directory")
		}
		cur = next
	}
	return nil
}

// syncDir fsyncs a directory so the entries created or renamed in it survive
// a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return apperr.Wrap(err, "open blob directory")
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return apperr.Wrap(err, "sync blob directory")
}
