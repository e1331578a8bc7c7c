package trust

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A cached page is served until its valid_until, rendered once however many
// ask for it at the same time, and dropped when its organisation's revision
// moves on; a failed render is not kept.
func TestCacheGet(t *testing.T) {
	c := NewCache(nil)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var renders atomic.Int32
	render := func(body string, until time.Time) func() (*Page, error) {
		return func() (*Page, error) {
			renders.Add(1)
			time.Sleep(10 * time.Millisecond) // let concurrent callers pile up
			return NewPage([]byte(body), "text/html", "en", until), nil
		}
	}
	k := Key{OrgID: "o", Page: "/", Lang: "en", Revision: 1}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if p, err := c.Get(k, now, render("one", now.Add(time.Hour))); err != nil || string(p.Body) != "one" {
				t.Errorf("concurrent get: %v", err)
			}
		})
	}
	wg.Wait()
	if n := renders.Load(); n != 1 {
		t.Fatalf("rendered %d times, want once", n)
	}
	if p, _ := c.Get(k, now.Add(59*time.Minute), render("two", time.Time{})); string(p.Body) != "one" {
		t.Fatalf("before valid_until: %q", p.Body)
	}
	if p, _ := c.Get(k, now.Add(time.Hour), render("two", time.Time{})); string(p.Body) != "two" {
		t.Fatalf("at valid_until: %q", p.Body)
	}
	if p, _ := c.Get(k, now.AddDate(1, 0, 0), render("three", time.Time{})); string(p.Body) != "two" {
		t.Fatalf("no valid_until: kept until the revision moves, got %q", p.Body)
	}
	next := k
	next.Revision = 2
	if _, err := c.Get(next, now, render("four", time.Time{})); err != nil {
		t.Fatal(err)
	}
	if c.Len() != 1 {
		t.Fatalf("pages of the older revision kept: %d pages", c.Len())
	}
	failed := Key{OrgID: "o", Page: "/fail", Revision: 2}
	if _, err := c.Get(failed, now, func() (*Page, error) { return nil, errors.New("database down") }); err == nil {
		t.Fatal("a failed render answered no error")
	}
	if c.Len() != 1 {
		t.Fatal("a failed render was kept")
	}
}

// Past MaxPages the oldest pages go.
func TestCacheBound(t *testing.T) {
	c := NewCache(nil)
	page := NewPage([]byte("x"), "text/plain", "", time.Time{})
	for i := range MaxPages + 10 {
		k := Key{OrgID: "o", Page: string(rune('a' + i%26)), Lang: time.Duration(i).String(), Revision: 1}
		if _, err := c.Get(k, time.Time{}, func() (*Page, error) { return page, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if c.Len() != MaxPages {
		t.Fatalf("%d pages, want %d", c.Len(), MaxPages)
	}
}

// The gzip body is the same page, and each encoding has its own ETag.
func TestNewPage(t *testing.T) {
	p := NewPage([]byte("<p>hello</p>"), "text/html", "en", time.Time{})
	zr, err := gzip.NewReader(bytes.NewReader(p.Gzip))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if string(b) != "<p>hello</p>" || p.ETag == p.GzipETag() || p.ETag[0] != '"' || p.GzipETag()[len(p.GzipETag())-1] != '"' {
		t.Fatalf("page: %q %s %s", b, p.ETag, p.GzipETag())
	}
}
