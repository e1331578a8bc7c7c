package blob

import (
	"context"
	"errors"
	"github.com/evident-isms/evident/internal/clock"
	"io"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/evident-isms/evident/internal/apperr"
)

// S3Config locates an S3-compatible bucket.
type S3Config struct {
	Endpoint  string // host[:port], without a scheme
	Bucket    string // must exist already
	AccessKey string
	SecretKey string
	Region    string // empty: asked from the server
	UseTLS    bool
	Prefix    string // optional key prefix, so one bucket can serve several installations
}

// S3Store keeps blobs as objects in an S3-compatible bucket under
// {prefix}orgs/{org}/sha256/{hex}.
type S3Store struct {
	client   *minio.Client
	bucket   string
	endpoint string
	prefix   string // "" or ending in "/"
	spoolDir string
}

var _ Store = (*S3Store)(nil)

// NewS3Store connects to the bucket and checks that it exists, so a
// misconfiguration shows at startup rather than on the first upload. Uploads
// are spooled to temporary files in spoolDir, created with mode 0700 if
// needed.
func NewS3Store(ctx context.Context, cfg S3Config, spoolDir string) (*S3Store, error) {
	switch {
	case cfg.Endpoint == "":
		return nil, apperr.New(apperr.Invalid, "the S3 endpoint is not set")
	case cfg.Bucket == "":
		return nil, apperr.New(apperr.Invalid, "the S3 bucket is not set")
	case (cfg.AccessKey == "") != (cfg.SecretKey == ""):
		return nil, apperr.New(apperr.Invalid, "set both the S3 access key and the S3 secret key, or neither")
	case strings.Contains(cfg.Endpoint, "/"):
		// minio-go would take "https://host" apart in surprising ways; the
		// scheme is UseTLS's job.
		return nil, apperr.New(apperr.Invalid, "invalid S3 endpoint %q: give host[:port] without a scheme or path, and set TLS separately", cfg.Endpoint)
	case spoolDir == "":
		return nil, apperr.New(apperr.Invalid, "the S3 spool directory is not set")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseTLS,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "invalid S3 endpoint %q (expected host[:port]): %v", cfg.Endpoint, err)
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, apperr.Wrap(err, "check S3 bucket "+cfg.Bucket+" at "+cfg.Endpoint)
	}
	if !ok {
		return nil, apperr.New(apperr.Invalid, "S3 bucket %q does not exist at %s: create it first", cfg.Bucket, cfg.Endpoint)
	}
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return nil, apperr.Wrap(err, "create S3 spool directory")
	}
	if err := sweepTemp(spoolDir, clock.System{}.Now().Add(-staleTemp)); err != nil {
		return nil, err
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &S3Store{client: client, bucket: cfg.Bucket, endpoint: cfg.Endpoint, prefix: prefix, spoolDir: spoolDir}, nil
}

// Name describes the store for logs and readiness.
func (s *S3Store) Name() string {
	name := "s3 " + s.bucket + " at " + s.endpoint
	if s.prefix != "" {
		name += " under " + s.prefix
	}
	return name
}

// orgPrefix is the key prefix of an organisation's blobs; orgID must be valid.
func (s *S3Store) orgPrefix(orgID string) string {
	return s.prefix + "orgs/" + orgID + "/sha256/"
}

// key validates its inputs before joining them, so neither can add a key
// segment.
func (s *S3Store) key(orgID, sha256hex string) (string, error) {
	if err := checkOrgID(orgID); err != nil {
		return "", err
	}
	if err := checkHash(sha256hex); err != nil {
		return "", err
	}
	return s.orgPrefix(orgID) + sha256hex, nil
}

// Put spools r to a temporary file while hashing it, then uploads the file
// under its hash with its exact size; see Store.
func (s *S3Store) Put(ctx context.Context, orgID string, r io.Reader, limit int64) (Object, error) {
	if err := checkOrgID(orgID); err != nil {
		return Object{}, err
	}
	if err := checkLimit(limit); err != nil {
		return Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return Object{}, apperr.Wrap(err, "store file")
	}
	tmp, err := os.CreateTemp(s.spoolDir, tempPattern) // mode 0600
	if err != nil {
		return Object{}, apperr.Wrap(err, "create S3 spool file")
	}
	// The spool file is only a staging copy: it goes on every path.
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()

	sum, size, err := spool(ctx, tmp, r, limit)
	if err != nil {
		return Object{}, err
	}
	key := s.orgPrefix(orgID) + sum
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	switch {
	case err == nil && info.Size == size:
		// Content-addressed: an object under this key holds these bytes.
		return Object{SHA256: sum, Size: size, Existed: true}, nil
	case err == nil:
		// Another size under this hash is a damaged object; replace it.
	case isNoSuchKey(err):
	default:
		return Object{}, apperr.Wrap(err, "check S3 object")
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return Object{}, apperr.Wrap(err, "rewind S3 spool file")
	}
	// The exact size lets the client send one PUT, or parts read from the
	// file one at a time, instead of buffering an unknown-length stream in
	// memory. A concurrent Put of the same bytes writes an identical object,
	// which is harmless.
	up, err := s.client.PutObject(ctx, s.bucket, key, tmp, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		// Content-MD5 on every request makes the server check the bytes it
		// stores. It replaces the aws-chunked streaming signature minio-go
		// otherwise uses without TLS, which some S3-compatible servers do
		// not decode in multipart parts and which sends an empty file
		// without a Content-Length.
		SendContentMd5:       true,
		DisableContentSha256: true,
	})
	if err != nil {
		return Object{}, apperr.Wrap(err, "upload blob to S3")
	}
	if up.Size != size {
		return Object{}, apperr.Wrap(errors.New("size mismatch"), "upload blob to S3")
	}
	return Object{SHA256: sum, Size: size}, nil
}

// Open returns the object's bytes and size; see Store. The reader stays tied
// to ctx: reading after ctx ends fails.
func (s *S3Store) Open(ctx context.Context, orgID, sha256hex string) (io.ReadCloser, int64, error) {
	key, err := s.key(orgID, sha256hex)
	if err != nil {
		return nil, 0, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, apperr.Wrap(err, "open blob in S3")
	}
	// GetObject is lazy; Stat sends the request, so a missing object shows
	// here rather than on the caller's first Read.
	info, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		if isNoSuchKey(err) {
			return nil, 0, ErrNotFound
		}
		return nil, 0, apperr.Wrap(err, "open blob in S3")
	}
	return obj, info.Size, nil
}

// Delete removes an object; absent is not an error.
func (s *S3Store) Delete(ctx context.Context, orgID, sha256hex string) error {
	key, err := s.key(orgID, sha256hex)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !isNoSuchKey(err) {
		return apperr.Wrap(err, "delete blob in S3")
	}
	return nil
}

// List returns the organisation's hashes in ascending order.
func (s *S3Store) List(ctx context.Context, orgID string) ([]string, error) {
	if err := checkOrgID(orgID); err != nil {
		return nil, err
	}
	// Cancelling stops the listing's goroutine if we return early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prefix := s.orgPrefix(orgID)
	var hashes []string
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, apperr.Wrap(obj.Err, "list blobs in S3")
		}
		if h := strings.TrimPrefix(obj.Key, prefix); validHash(h) { // S3 lists keys in ascending order
			hashes = append(hashes, h)
		}
	}
	// A listing cut short by cancellation may end without an error; a
	// partial list must not pass for the whole one.
	if err := ctx.Err(); err != nil {
		return nil, apperr.Wrap(err, "list blobs in S3")
	}
	return hashes, nil
}

// isNoSuchKey reports whether err is S3's answer for a missing object.
func isNoSuchKey(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && resp.Code == minio.NoSuchKey
}
