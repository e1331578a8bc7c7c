package trust

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/org"
)

// The render cache (DESIGN.md, "Performance"). A page is rendered once per
// (organisation, host, page, language, revision) and served from memory
// until its valid_until. The revision lives in orgs.public_revision and is
// bumped in the transaction of every change a visitor could see (Bump, run
// by the audit log for every organisation event), so every node agrees on
// it. A node learns its own bumps at commit and reads the others' at most
// RevisionTTL late.

// RevisionTTL is how long a node trusts the revision it last read. Writes
// made on this node are seen at once; writes on another node within it.
const RevisionTTL = time.Second

// MaxPages bounds the cached pages and MaxBytes their size; beyond either
// the oldest are dropped.
const (
	MaxPages = 4096
	MaxBytes = 128 << 20
)

// siteBytes is what a built Site is counted as against MaxBytes: about
// the size of the demo's trust.json.
const siteBytes = 2 << 20

// Page is one rendered page.
type Page struct {
	Body        []byte
	Gzip        []byte
	ETag        string // of the identity encoding
	gzipETag    string // of the gzip encoding: the same with -gzip
	ContentType string
	Lang        string
	ValidUntil  time.Time // zero: until the revision changes
	stored      int64     // insertion order, for eviction
	site        *Site     // a built site kept for the pages of its revision (Cache.Site)
}

func (p *Page) size() int {
	if p.site != nil {
		return siteBytes
	}
	return len(p.Body) + len(p.Gzip)
}

// NewPage compresses and tags a rendered body.
func NewPage(body []byte, contentType, lang string, validUntil time.Time) *Page {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	sum := sha256.Sum256(body)
	tag := hex.EncodeToString(sum[:16])
	return &Page{Body: body, Gzip: gz.Bytes(), ETag: `"` + tag + `"`, gzipETag: `"` + tag + `-gzip"`, ContentType: contentType,
		Lang: lang, ValidUntil: validUntil}
}

// GzipETag is the ETag of the gzip encoding (a strong ETag names one
// representation).
func (p *Page) GzipETag() string { return p.gzipETag }

// Key names a cached page.
type Key struct {
	OrgID    string
	Host     string
	Page     string
	Lang     string
	Revision int64
}

// Cache holds rendered pages and the revisions they are keyed by.
type Cache struct {
	db *db.DB

	mu       sync.Mutex
	pages    map[Key]*Page
	inflight map[Key]*call
	seq      int64
	bytes    int                 // the size of the cached pages
	newest   map[string]int64    // organisation id -> the newest revision of its cached pages
	revs     map[string]revision // organisation id -> its revision as last known
	orgs     map[string]knownOrg // a slug or host name -> its organisation as last read
}

type knownOrg struct {
	org    *org.Org
	rev    int64
	readAt time.Time
}

type revision struct {
	value  int64
	readAt time.Time // monotonic time of the read; zero: read again
}

type call struct {
	done chan struct{}
	page *Page
	err  error
}

// NewCache returns an empty cache reading revisions from d.
func NewCache(d *db.DB) *Cache {
	return &Cache{db: d, pages: map[Key]*Page{}, inflight: map[Key]*call{}, revs: map[string]revision{},
		orgs: map[string]knownOrg{}, newest: map[string]int64{}}
}

// Bump moves an organisation's revision in tx, the transaction of a change
// a visitor could see; this node learns the new revision when tx commits.
func (c *Cache) Bump(ctx context.Context, tx *db.Tx, orgID string) error {
	var rev int64
	err := tx.QueryRowContext(ctx, `UPDATE orgs SET public_revision = public_revision + 1 WHERE id = $1 RETURNING public_revision`,
		orgID).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not an organisation (yet): nothing is published
	}
	if err != nil {
		return err
	}
	tx.AfterCommit(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if cur := c.revs[orgID]; rev > cur.value || cur.readAt.IsZero() {
			c.revs[orgID] = revision{value: rev, readAt: time.Now()}
		}
		// A name that named nothing may name this organisation now (a host
		// just mapped, a slug just taken): forget the misses.
		for name, k := range c.orgs {
			if k.org == nil {
				delete(c.orgs, name)
			}
		}
	})
	return nil
}

// Revision returns an organisation's current revision, from memory when it
// was read less than RevisionTTL ago.
func (c *Cache) Revision(ctx context.Context, orgID string) (int64, error) {
	c.mu.Lock()
	r, ok := c.revs[orgID]
	c.mu.Unlock()
	if ok && !r.readAt.IsZero() && time.Since(r.readAt) < RevisionTTL {
		return r.value, nil
	}
	var rev int64
	if err := c.db.Read.QueryRowContext(ctx, `SELECT public_revision FROM orgs WHERE id = $1`, orgID).Scan(&rev); err != nil {
		return 0, err
	}
	c.mu.Lock()
	if cur := c.revs[orgID]; rev >= cur.value || time.Since(cur.readAt) >= RevisionTTL {
		c.revs[orgID] = revision{value: rev, readAt: time.Now()}
	}
	c.mu.Unlock()
	return rev, nil
}

// Org returns the organisation a slug or host name names and its revision,
// calling load only when the one in memory is older than RevisionTTL or its
// revision moved (its settings may have changed: unpublished, renamed).
// A name that names nothing is remembered as well, as a not-found error.
func (c *Cache) Org(ctx context.Context, name string, load func() (*org.Org, error)) (*org.Org, int64, error) {
	c.mu.Lock()
	k, ok := c.orgs[name]
	c.mu.Unlock()
	if ok && time.Since(k.readAt) < RevisionTTL {
		if k.org == nil {
			return nil, 0, apperr.New(apperr.NotFound, "no such trust center")
		}
		rev, err := c.Revision(ctx, k.org.ID)
		if err != nil {
			return nil, 0, err
		}
		if rev == k.rev {
			return k.org, rev, nil
		}
	}
	o, err := load()
	if apperr.CodeOf(err) == apperr.NotFound {
		c.mu.Lock()
		c.orgs[name] = knownOrg{readAt: time.Now()}
		c.mu.Unlock()
		return nil, 0, err
	}
	if err != nil {
		return nil, 0, err
	}
	rev, err := c.Revision(ctx, o.ID)
	if err != nil {
		return nil, 0, err
	}
	// Read again after the revision: what is kept is then at least as new
	// as the revision it is kept with.
	if o, err = load(); err != nil {
		return nil, 0, err
	}
	c.mu.Lock()
	if len(c.orgs) > MaxPages {
		clear(c.orgs) // names probed by visitors: never let them grow without bound
	}
	c.orgs[name] = knownOrg{org: o, rev: rev, readAt: time.Now()}
	c.mu.Unlock()
	return o, rev, nil
}

// Get returns the page for k, rendering it with render when no valid copy
// is cached. Concurrent requests for one missing page render it once.
func (c *Cache) Get(k Key, now time.Time, render func() (*Page, error)) (*Page, error) {
	c.mu.Lock()
	if p, ok := c.pages[k]; ok && (p.ValidUntil.IsZero() || now.Before(p.ValidUntil)) {
		c.mu.Unlock()
		return p, nil
	}
	if cl, ok := c.inflight[k]; ok {
		c.mu.Unlock()
		<-cl.done
		return cl.page, cl.err
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[k] = cl
	c.mu.Unlock()

	cl.page, cl.err = render()

	c.mu.Lock()
	delete(c.inflight, k)
	if cl.err == nil {
		c.store(k, cl.page)
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.page, cl.err
}

// Site returns the site of k (its Page names the language's site), built
// once per revision and valid_until like a page: every page of the
// revision, and the answers that are not cached (a form's errors, a 404),
// reuse it instead of reading everything again.
func (c *Cache) Site(k Key, now time.Time, build func() (*Site, error)) (*Site, error) {
	k.Page = "\x00site"
	p, err := c.Get(k, now, func() (*Page, error) {
		s, err := build()
		if err != nil {
			return nil, err
		}
		return &Page{site: s, ValidUntil: s.Until()}, nil
	})
	if err != nil {
		return nil, err
	}
	return p.site, nil
}

// store keeps p under k, dropping the organisation's pages of older
// revisions and, past MaxPages or MaxBytes, the oldest pages. A page of a
// revision older than one already stored (a slow render) is not kept.
// c.mu is held.
func (c *Cache) store(k Key, p *Page) {
	newest := c.newest[k.OrgID]
	if k.Revision < newest {
		return
	}
	if k.Revision > newest {
		c.newest[k.OrgID] = k.Revision
		for old, page := range c.pages {
			if old.OrgID == k.OrgID && old.Revision < k.Revision {
				c.bytes -= page.size()
				delete(c.pages, old)
			}
		}
	}
	if old, ok := c.pages[k]; ok {
		c.bytes -= old.size()
	}
	c.seq++
	p.stored = c.seq
	c.pages[k] = p
	c.bytes += p.size()
	for len(c.pages) > MaxPages || c.bytes > MaxBytes {
		var oldest Key
		first := true
		for key, page := range c.pages {
			if first || page.stored < c.pages[oldest].stored {
				oldest, first = key, false
			}
		}
		c.bytes -= c.pages[oldest].size()
		delete(c.pages, oldest)
	}
}

// Len is the number of cached pages.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pages)
}
