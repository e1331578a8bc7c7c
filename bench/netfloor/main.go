// Command netfloor serves one saved response from memory with Go's
// net/http: the floor for any Go server answering the same request, used by
// bench/public-overview.sh as a second baseline beside nginx. It answers
// every GET with the body file and the headers of a `curl -D` dump (minus
// the ones net/http sets itself) and logs one JSON line a request, as
// Evident and nginx do.
//
//	go run ./bench/netfloor -addr 127.0.0.1:8400 -body page.gz -headers headers -log floor.log
package main

import (
	"bufio"
	"bytes"
	"flag"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8400", "address to listen on")
	bodyFile := flag.String("body", "", "file holding the response body")
	headerFile := flag.String("headers", "", "response headers as curl -D writes them")
	logFile := flag.String("log", os.DevNull, "file to log one JSON line a request to")
	flag.Parse()

	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		log.Fatal(err)
	}
	raw, err := os.ReadFile(*headerFile)
	if err != nil {
		log.Fatal(err)
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	if _, err := tp.ReadLine(); err != nil { // the status line
		log.Fatal(err)
	}
	mh, err := tp.ReadMIMEHeader()
	if err != nil {
		log.Fatal(err)
	}
	header := http.Header(mh)
	for _, k := range []string{"Date", "Content-Length", "Connection", "Keep-Alive"} {
		header.Del(k)
	}
	header.Set("Content-Length", strconv.Itoa(len(body)))

	lf, err := os.OpenFile(*logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(lf, nil))

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		h := w.Header()
		for k, v := range header {
			h[k] = v
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("path", r.URL.Path),
			slog.Int("status", http.StatusOK), slog.Duration("duration", time.Since(started)))
	})
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	log.Fatal(srv.Serve(l))
}
