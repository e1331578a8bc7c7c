package web_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/demo"
)

// The cached path of the public trust center (DESIGN.md, "Performance"),
// measured on the demo organisation: bench/public-overview.sh compares the
// whole server with nginx; these benchmarks say where its time goes.
//
//	go test ./internal/web -run '^$' -bench PublicOverview -cpuprofile cpu.out
//
// Each case is given beside a baseline in the same run: a bare net/http
// handler writing the same bytes with the same headers, without Evident's
// middleware, router or cache.

// publicBench is an instance with the demo seeded and published at /.
type publicBench struct {
	handler  http.Handler
	header   http.Header // what Evident sends for the gzip overview at /
	gzipBody []byte
}

func newPublicBench(b *testing.B) *publicBench {
	b.Helper()
	dir := b.TempDir()
	// The server logs every request, as in production: to a file.
	logFile, err := os.Create(filepath.Join(dir, "evident.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { logFile.Close() })
	cfg := app.Defaults()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.LogFormat = "json"
	cfg.PublicOrg = demo.Slug
	ctx := context.Background()
	seedCfg := cfg
	seedCfg.PublicOrg = ""
	seeding, err := app.Open(ctx, seedCfg, app.NewLogger(cfg, io.Discard), clock.System{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := demo.Seed(ctx, seeding, demo.Options{}); err != nil {
		b.Fatal(err)
	}
	seeding.Close()
	a, err := app.Open(ctx, cfg, app.NewLogger(cfg, logFile), clock.System{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	pb := &publicBench{handler: a.Web.Handler()}
	for _, path := range []string{"/", "/t/" + demo.Slug + "/"} {
		w := &discardWriter{h: http.Header{}, keep: true}
		pb.handler.ServeHTTP(w, overviewRequest(path))
		if w.status != http.StatusOK || w.h.Get("Content-Encoding") != "gzip" {
			b.Fatalf("%s: status %d, encoding %q", path, w.status, w.h.Get("Content-Encoding"))
		}
		if path == "/" {
			pb.header, pb.gzipBody = w.h, w.body
		}
	}
	return pb
}

func overviewRequest(path string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Accept-Encoding", "gzip")
	r.Header.Set("User-Agent", "bench")
	return r
}

// baseline writes the saved gzip overview with Evident's headers: what any
// net/http handler serving those bytes from memory costs.
func (pb *publicBench) baseline() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range pb.header {
			if k != "X-Request-Id" {
				h[k] = v
			}
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(pb.gzipBody)
	})
}

// discardWriter is the cheapest ResponseWriter: the handler's own cost.
type discardWriter struct {
	h      http.Header
	status int
	keep   bool // keep the body written (once, outside the timed loop)
	body   []byte
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.keep {
		w.body = append(w.body, p...)
	}
	return len(p), nil
}

// BenchmarkPublicOverview measures the overview from the render cache.
// handler/*: ServeHTTP alone, with a ResponseWriter that discards. http/*:
// a real http.Server on loopback with keep-alive clients in this process
// (their cost is in the numbers; it is the same for every case).
func BenchmarkPublicOverview(b *testing.B) {
	pb := newPublicBench(b)
	cases := []struct {
		name string
		h    http.Handler
		path string
	}{
		{"baseline", pb.baseline(), "/"},
		{"root", pb.handler, "/"},
		{"slug", pb.handler, "/t/" + demo.Slug + "/"},
	}
	for _, c := range cases {
		b.Run("handler/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(p *testing.PB) {
				w := &discardWriter{h: http.Header{}}
				for p.Next() {
					clear(w.h)
					w.status = 0
					c.h.ServeHTTP(w, overviewRequest(c.path))
				}
			})
		})
	}
	for _, c := range cases {
		b.Run("http/"+c.name, func(b *testing.B) {
			benchHTTP(b, c.h, c.path)
		})
	}
}

// benchHTTP serves h on loopback and sends b.N requests for path over
// keep-alive connections, as wrk does.
func benchHTTP(b *testing.B, h http.Handler, path string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { srv.Close() })
	req := []byte(fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nAccept-Encoding: gzip\r\nUser-Agent: bench\r\n\r\n", path, l.Addr()))
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(p *testing.PB) {
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		br := bufio.NewReaderSize(conn, 16<<10)
		for p.Next() {
			if _, err := conn.Write(req); err != nil {
				b.Error(err)
				return
			}
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
	})
}
