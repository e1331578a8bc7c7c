package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/evident-isms/evident/internal/apperr"
)

// harness is one store under test plus views of its backend that bypass the
// Store interface, so the tests do not trust List to check Put.
type harness struct {
	store Store
	// stored lists every blob the backend holds, as keys relative to the
	// store's root ("orgs/{org}/sha256/{hex}").
	stored func(t *testing.T) []string
	// temps lists the temporary files in the file store's tree or the S3
	// spool directory.
	temps func(t *testing.T) []string
}

func newFileHarness(t *testing.T) harness {
	dir := filepath.Join(t.TempDir(), "blobs")
	s, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return harness{
		store: s,
		stored: func(t *testing.T) []string {
			var keys []string
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() && path == filepath.Join(dir, tmpName) {
					return fs.SkipDir
				}
				if !d.IsDir() {
					rel, _ := filepath.Rel(dir, path)
					keys = append(keys, filepath.ToSlash(rel))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return keys
		},
		temps: func(t *testing.T) []string { return dirNames(t, filepath.Join(dir, tmpName)) },
	}
}

const (
	testBucket = "evidence"
	testPrefix = "evident/" // a prefix, so the tests also cover key building with one
)

func newS3Harness(t *testing.T) harness {
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	spoolDir := filepath.Join(t.TempDir(), "spool")
	s, err := NewS3Store(t.Context(), testS3Config(srv), spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	return harness{
		store: s,
		stored: func(t *testing.T) []string {
			list, err := backend.ListBucket(testBucket, nil, gofakes3.ListBucketPage{})
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, c := range list.Contents {
				key, ok := strings.CutPrefix(c.Key, testPrefix)
				if !ok {
					t.Errorf("object %q is outside the prefix %q", c.Key, testPrefix)
				}
				keys = append(keys, key)
			}
			return keys
		},
		temps: func(t *testing.T) []string { return dirNames(t, spoolDir) },
	}
}

func testS3Config(srv *httptest.Server) S3Config {
	return S3Config{
		Endpoint:  strings.TrimPrefix(srv.URL, "http://"),
		Bucket:    testBucket,
		AccessKey: "test-access",
		SecretKey: "test-secret",
		Region:    "us-east-1",
		Prefix:    "/" + testPrefix, // slashes around are trimmed
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func key(org string, b []byte) string { return "orgs/" + org + "/sha256/" + hashOf(b) }

// readBlob opens a blob and returns its bytes, checking the reported size.
func readBlob(t *testing.T, s Store, org, sum string) []byte {
	t.Helper()
	rc, size, err := s.Open(t.Context(), org, sum)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if int64(len(b)) != size {
		t.Errorf("Open reported size %d, read %d bytes", size, len(b))
	}
	return b
}

func put(t *testing.T, s Store, org string, b []byte) Object {
	t.Helper()
	obj, err := s.Put(t.Context(), org, bytes.NewReader(b), 1<<30)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return obj
}

// assertNothingStored checks the state every failed Put must leave: no blob,
// nothing listed, no temporary file.
func assertNothingStored(t *testing.T, h harness, org string) {
	t.Helper()
	if got := h.stored(t); len(got) != 0 {
		t.Errorf("stored = %v, want nothing", got)
	}
	if got, err := h.store.List(t.Context(), org); err != nil || len(got) != 0 {
		t.Errorf("List = %v, %v; want empty", got, err)
	}
	if got := h.temps(t); len(got) != 0 {
		t.Errorf("temporary files left: %v", got)
	}
}

// zeros is an endless reader: a Put that read to the end would never return.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// cancelOnRead cancels its context after the first read, as a client that
// disconnects mid-upload does.
type cancelOnRead struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c cancelOnRead) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.cancel()
	return n, err
}

var (
	hello = []byte("hello, evidence\n")
	ten   = []byte("0123456789")
	big   = func() []byte { // over minio-go's 16 MiB part size: a multipart upload
		b := make([]byte, 17<<20)
		for i := range b {
			b[i] = byte(i * 31 >> 8)
		}
		return b
	}()
)

var scenarios = []struct {
	name string
	run  func(t *testing.T, h harness)
}{
	{"put then open returns the bytes", func(t *testing.T, h harness) {
		obj := put(t, h.store, "org-1", hello)
		want := Object{SHA256: hashOf(hello), Size: int64(len(hello))}
		if obj != want {
			t.Errorf("Put = %+v, want %+v", obj, want)
		}
		if got := readBlob(t, h.store, "org-1", obj.SHA256); !bytes.Equal(got, hello) {
			t.Errorf("Open = %q, want %q", got, hello)
		}
		if got := h.stored(t); !slices.Equal(got, []string{key("org-1", hello)}) {
			t.Errorf("stored = %v", got)
		}
		if got := h.temps(t); len(got) != 0 {
			t.Errorf("temporary files left: %v", got)
		}
	}},
	{"empty file", func(t *testing.T, h harness) {
		obj, err := h.store.Put(t.Context(), "org-1", bytes.NewReader(nil), 0)
		if err != nil {
			t.Fatal(err)
		}
		if obj.Size != 0 || obj.SHA256 != hashOf(nil) {
			t.Errorf("Put = %+v", obj)
		}
		if got := readBlob(t, h.store, "org-1", obj.SHA256); len(got) != 0 {
			t.Errorf("Open = %q, want empty", got)
		}
	}},
	{"larger than one upload part", func(t *testing.T, h harness) {
		obj := put(t, h.store, "org-1", big)
		if obj.SHA256 != hashOf(big) || obj.Size != int64(len(big)) {
			t.Errorf("Put = %+v", obj)
		}
		if got := readBlob(t, h.store, "org-1", obj.SHA256); !bytes.Equal(got, big) {
			t.Errorf("Open returned %d different bytes", len(got))
		}
	}},
	{"same bytes twice are kept once per organisation", func(t *testing.T, h harness) {
		first := put(t, h.store, "org-1", hello)
		second := put(t, h.store, "org-1", hello)
		if first.Existed || !second.Existed {
			t.Errorf("Existed = %v then %v, want false then true", first.Existed, second.Existed)
		}
		if first.SHA256 != second.SHA256 || second.Size != int64(len(hello)) {
			t.Errorf("second Put = %+v, first %+v", second, first)
		}
		if got := h.stored(t); len(got) != 1 {
			t.Errorf("stored = %v, want one blob", got)
		}
		// Deduplication stops at the organisation.
		if other := put(t, h.store, "org-2", hello); other.Existed {
			t.Error("another organisation's Put reported Existed")
		}
		want := []string{key("org-1", hello), key("org-2", hello)}
		if got := h.stored(t); !slices.Equal(got, want) {
			t.Errorf("stored = %v, want %v", got, want)
		}
	}},
	{"concurrent puts of the same bytes", func(t *testing.T, h harness) {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = h.store.Put(t.Context(), "org-1", bytes.NewReader(ten), 10)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if got := h.stored(t); !slices.Equal(got, []string{key("org-1", ten)}) {
			t.Errorf("stored = %v", got)
		}
		if got := readBlob(t, h.store, "org-1", hashOf(ten)); !bytes.Equal(got, ten) {
			t.Errorf("Open = %q", got)
		}
		if got := h.temps(t); len(got) != 0 {
			t.Errorf("temporary files left: %v", got)
		}
	}},
	{"exactly the limit is accepted", func(t *testing.T, h harness) {
		obj, err := h.store.Put(t.Context(), "org-1", bytes.NewReader(ten), int64(len(ten)))
		if err != nil {
			t.Fatal(err)
		}
		if obj.Size != int64(len(ten)) {
			t.Errorf("Size = %d", obj.Size)
		}
	}},
	{"one byte over the limit stores nothing", func(t *testing.T, h harness) {
		_, err := h.store.Put(t.Context(), "org-1", bytes.NewReader(ten), int64(len(ten))-1)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		assertNothingStored(t, h, "org-1")
	}},
	{"an endless body stops at the limit", func(t *testing.T, h harness) {
		_, err := h.store.Put(t.Context(), "org-1", zeros{}, 1<<20)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
		assertNothingStored(t, h, "org-1")
	}},
	{"a reader failing midway stores nothing", func(t *testing.T, h harness) {
		boom := errors.New("connection reset")
		r := io.MultiReader(bytes.NewReader(big[:1<<20]), iotest.ErrReader(boom))
		_, err := h.store.Put(t.Context(), "org-1", r, 1<<30)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the reader's error", err)
		}
		assertNothingStored(t, h, "org-1")
	}},
	{"a context cancelled before Put stores nothing", func(t *testing.T, h harness) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := h.store.Put(ctx, "org-1", bytes.NewReader(hello), 1<<20)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		assertNothingStored(t, h, "org-1")
	}},
	{"a context cancelled mid-upload stores nothing", func(t *testing.T, h harness) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		r := cancelOnRead{r: iotest.HalfReader(bytes.NewReader(big[:1<<20])), cancel: cancel}
		_, err := h.store.Put(ctx, "org-1", r, 1<<30)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		assertNothingStored(t, h, "org-1")
	}},
	{"open of an absent blob", func(t *testing.T, h harness) {
		put(t, h.store, "org-1", hello)
		for _, c := range []struct{ org, sum string }{
			{"org-1", hashOf(ten)},   // other bytes
			{"org-2", hashOf(hello)}, // same bytes, other organisation
		} {
			if _, _, err := h.store.Open(t.Context(), c.org, c.sum); !errors.Is(err, ErrNotFound) {
				t.Errorf("Open(%s, %s) err = %v, want ErrNotFound", c.org, c.sum, err)
			}
		}
	}},
	{"delete then open", func(t *testing.T, h harness) {
		obj := put(t, h.store, "org-1", hello)
		put(t, h.store, "org-2", hello)
		if err := h.store.Delete(t.Context(), "org-1", obj.SHA256); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.store.Open(t.Context(), "org-1", obj.SHA256); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open after Delete err = %v, want ErrNotFound", err)
		}
		if err := h.store.Delete(t.Context(), "org-1", obj.SHA256); err != nil {
			t.Errorf("second Delete = %v, want nil", err)
		}
		// The other organisation's copy is untouched.
		if got := readBlob(t, h.store, "org-2", obj.SHA256); !bytes.Equal(got, hello) {
			t.Errorf("org-2 Open = %q", got)
		}
		if got := h.stored(t); !slices.Equal(got, []string{key("org-2", hello)}) {
			t.Errorf("stored = %v", got)
		}
	}},
	{"list", func(t *testing.T, h harness) {
		if got, err := h.store.List(t.Context(), "org-1"); err != nil || len(got) != 0 {
			t.Fatalf("List of an empty organisation = %v, %v", got, err)
		}
		blobs := [][]byte{hello, ten, []byte("third")}
		var want []string
		for _, b := range blobs {
			put(t, h.store, "org-1", b)
			want = append(want, hashOf(b))
		}
		put(t, h.store, "org-10", []byte("another organisation, sharing a name prefix"))
		slices.Sort(want)
		got, err := h.store.List(t.Context(), "org-1")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("List = %v, want %v", got, want)
		}
	}},
	{"bad organisation ids and hashes are refused", func(t *testing.T, h harness) {
		ctx := t.Context()
		good := hashOf(hello)
		badOrgs := []string{"", "..", "../org-1", "org/1", `org\1`, "org.1", "org 1", "org_1", "orgé", strings.Repeat("a", 65), "org\x00"}
		for _, org := range badOrgs {
			_, err := h.store.Put(ctx, org, bytes.NewReader(hello), 1<<20)
			assertInvalid(t, "Put", org, err)
			_, _, err = h.store.Open(ctx, org, good)
			assertInvalid(t, "Open", org, err)
			assertInvalid(t, "Delete", org, h.store.Delete(ctx, org, good))
			_, err = h.store.List(ctx, org)
			assertInvalid(t, "List", org, err)
		}
		badHashes := []string{"", strings.ToUpper(good), good[:63], good + "0", "../../" + good[6:], strings.Repeat("g", 64)}
		for _, sum := range badHashes {
			_, _, err := h.store.Open(ctx, "org-1", sum)
			assertInvalid(t, "Open", sum, err)
			assertInvalid(t, "Delete", sum, h.store.Delete(ctx, "org-1", sum))
		}
		_, err := h.store.Put(ctx, "org-1", bytes.NewReader(hello), -1)
		assertInvalid(t, "Put with a negative limit", "", err)
		assertNothingStored(t, h, "org-1")
		// The longest valid id is accepted.
		put(t, h.store, strings.Repeat("A", 64), hello)
	}},
}

func assertInvalid(t *testing.T, op, input string, err error) {
	t.Helper()
	if code := apperr.CodeOf(err); code != apperr.Invalid {
		t.Errorf("%s(%q): err = %v (code %q), want an invalid-input error", op, input, err, code)
	}
}

// TestStores runs every scenario against both stores, so they behave alike.
func TestStores(t *testing.T) {
	stores := []struct {
		name string
		new  func(*testing.T) harness
	}{
		{"file", newFileHarness},
		{"s3", newS3Harness},
	}
	for _, st := range stores {
		for _, sc := range scenarios {
			t.Run(st.name+"/"+sc.name, func(t *testing.T) {
				t.Parallel()
				sc.run(t, st.new(t))
			})
		}
	}
}

func TestFileStoreLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "blobs")
	s, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Name(), "files in "+dir; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
	obj := put(t, s, "org-1", hello)
	path := filepath.Join(dir, "orgs", "org-1", "sha256", hashOf(hello))
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("blob not at %s: %v", path, err)
	}
	if mode := info.Mode(); mode != 0o600 {
		t.Errorf("file mode = %v, want 0600", mode)
	}
	if info.Size() != obj.Size {
		t.Errorf("file size = %d, want %d", info.Size(), obj.Size)
	}
	for _, d := range []string{dir, filepath.Join(dir, "orgs"), filepath.Join(dir, "orgs", "org-1"), filepath.Dir(path), filepath.Join(dir, tmpName)} {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o700 {
			t.Errorf("%s mode = %v, want 0700", d, mode)
		}
	}
}

func TestFileStoreReplacesDamagedBlob(t *testing.T) {
	dir := t.TempDir()
	s, err := NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	obj := put(t, s, "org-1", hello)
	path := filepath.Join(dir, "orgs", "org-1", "sha256", obj.SHA256)
	if err := os.WriteFile(path, hello[:3], 0o600); err != nil { // truncated
		t.Fatal(err)
	}
	if again := put(t, s, "org-1", hello); again.Existed {
		t.Error("a damaged blob counted as existing")
	}
	if got := readBlob(t, s, "org-1", obj.SHA256); !bytes.Equal(got, hello) {
		t.Errorf("Open = %q, want %q", got, hello)
	}
}

func TestNewFileStoreSweepsStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, tmpName)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleTemp)
	files := []struct {
		name  string
		mtime time.Time
		kept  bool
	}{
		{"blob-put-1", old, false},       // left by a crash
		{"blob-put-2", time.Now(), true}, // maybe an upload in progress
		{"notes.txt", old, true},         // not ours
	}
	for _, f := range files {
		p := filepath.Join(tmp, f.name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := NewFileStore(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(tmp, f.name))
		if kept := err == nil; kept != f.kept {
			t.Errorf("%s kept = %v, want %v", f.name, kept, f.kept)
		}
	}
}

func TestNewS3Store(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	good := testS3Config(srv)
	with := func(change func(*S3Config)) S3Config {
		c := good
		change(&c)
		return c
	}
	tests := []struct {
		name    string
		cfg     S3Config
		spool   string
		wantErr string // empty: success
	}{
		{"ok", good, "spool", ""},
		{"missing bucket", with(func(c *S3Config) { c.Bucket = "no-such-bucket" }), "spool", `S3 bucket "no-such-bucket" does not exist`},
		{"no endpoint", with(func(c *S3Config) { c.Endpoint = "" }), "spool", "endpoint is not set"},
		{"endpoint with scheme", with(func(c *S3Config) { c.Endpoint = "http://" + c.Endpoint }), "spool", "invalid S3 endpoint"},
		{"no bucket", with(func(c *S3Config) { c.Bucket = "" }), "spool", "bucket is not set"},
		{"half the credentials", with(func(c *S3Config) { c.SecretKey = "" }), "spool", "secret key"},
		{"no spool directory", good, "", "spool directory is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spool := tt.spool
			if spool != "" {
				spool = filepath.Join(t.TempDir(), spool)
			}
			s, err := NewS3Store(t.Context(), tt.cfg, spool)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got, want := s.Name(), "s3 "+testBucket+" at "+good.Endpoint+" under "+testPrefix; got != want {
					t.Errorf("Name = %q, want %q", got, want)
				}
				if info, err := os.Stat(spool); err != nil || info.Mode().Perm() != 0o700 {
					t.Errorf("spool directory: %v, %v", info, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if code := apperr.CodeOf(err); code != apperr.Invalid {
				t.Errorf("code = %q, want invalid", code)
			}
		})
	}
}
