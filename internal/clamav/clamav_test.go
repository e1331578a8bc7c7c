package clamav_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/evident-isms/evident/internal/clamav"
)

// eicar returns the EICAR antivirus test string. It is assembled at run time
// so that this source file does not itself trip antivirus scanners.
func eicar() []byte {
	return []byte(strings.Join([]string{
		`X5O!P%@AP[4\PZX54`, `(P^)7CC)7}$`,
		"EICAR-STANDARD-", "ANTIVIRUS-TEST-", "FILE!$H+H*",
	}, ""))
}

// fakeClamd is a clamd on loopback speaking the z form of INSTREAM and PING
// as clamd does, with ways to misbehave.
type fakeClamd struct {
	fakeOptions
	addr string

	mu       sync.Mutex
	chunks   []int  // chunk lengths of the last stream
	received []byte // reassembled last stream
}

type fakeOptions struct {
	maxSize int    // stream size above which clamd gives up, like StreamMaxLength; 0: none
	behave  string // "": answer; "close": hang up after the first chunk's length; "silent": never answer; "reply": answer reply
	reply   string // the answer for "reply"; empty: close without a word
}

func (f *fakeClamd) serve(t *testing.T, ln net.Listener) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				f.handle(conn, done)
			})
		}
	})
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
}

func startFake(t *testing.T, o fakeOptions) *fakeClamd {
	f := &fakeClamd{fakeOptions: o}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	f.serve(t, ln)
	return f
}

func (f *fakeClamd) handle(conn net.Conn, done chan struct{}) {
	br := bufio.NewReader(conn)
	cmd, err := br.ReadString(0)
	if err != nil {
		return
	}
	switch cmd {
	case "zPING\x00":
		switch f.behave {
		case "silent":
			<-done
		case "reply":
			io.WriteString(conn, f.reply)
		default:
			io.WriteString(conn, "PONG\x00")
		}
		return
	case "zINSTREAM\x00":
	default:
		io.WriteString(conn, "UNKNOWN COMMAND\x00")
		return
	}

	var data []byte
	var chunks []int
	for {
		var size [4]byte
		if _, err := io.ReadFull(br, size[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(size[:])
		if n == 0 {
			break
		}
		if f.behave == "close" {
			return
		}
		chunk := make([]byte, n)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return
		}
		data = append(data, chunk...)
		chunks = append(chunks, int(n))
		if f.maxSize > 0 && len(data) > f.maxSize {
			io.WriteString(conn, "INSTREAM size limit exceeded. ERROR\x00")
			return // clamd hangs up without reading the rest
		}
	}
	f.mu.Lock()
	f.chunks, f.received = chunks, data
	f.mu.Unlock()

	switch {
	case f.behave == "silent":
		<-done
	case f.behave == "reply":
		io.WriteString(conn, f.reply)
	case bytes.Contains(data, eicar()):
		io.WriteString(conn, "stream: Eicar-Signature FOUND\x00")
	default:
		io.WriteString(conn, "stream: OK\x00")
	}
}

func (f *fakeClamd) last() ([]int, []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.chunks, f.received
}

func TestScan(t *testing.T) {
	big := bytes.Repeat([]byte("evidence "), 200<<10/9+1)[:200<<10]
	infectedAcrossChunks := slices.Clone(big)
	copy(infectedAcrossChunks[64<<10-30:], eicar()) // straddles the first chunk boundary

	tests := []struct {
		name    string
		fake    fakeOptions
		file    io.Reader
		want    clamav.Result
		wantErr string
		is      error
	}{
		{name: "clean", file: strings.NewReader("a perfectly normal policy"), want: clamav.Result{Clean: true}},
		{name: "empty file", file: strings.NewReader(""), want: clamav.Result{Clean: true}},
		{name: "infected", file: bytes.NewReader(eicar()), want: clamav.Result{Signature: "Eicar-Signature"}},
		{name: "infected across chunks", file: bytes.NewReader(infectedAcrossChunks), want: clamav.Result{Signature: "Eicar-Signature"}},
		{name: "size limit", fake: fakeOptions{maxSize: 100 << 10}, file: bytes.NewReader(big), wantErr: "size limit", is: clamav.ErrSizeLimit},
		{name: "size limit, far larger file", fake: fakeOptions{maxSize: 100 << 10}, file: io.LimitReader(zeros{}, 32<<20), wantErr: "size limit", is: clamav.ErrSizeLimit},
		{name: "server closes mid-stream", fake: fakeOptions{behave: "close"}, file: bytes.NewReader(big), wantErr: "clamav"},
		{name: "other error reply", fake: fakeOptions{behave: "reply", reply: "Can't allocate memory ERROR\x00"}, file: strings.NewReader("x"), wantErr: `"Can't allocate memory ERROR"`},
		{name: "unexpected reply", fake: fakeOptions{behave: "reply", reply: "stream: MAYBE\x00"}, file: strings.NewReader("x"), wantErr: "unexpected reply"},
		{name: "find without a name", fake: fakeOptions{behave: "reply", reply: "stream:  FOUND\x00"}, file: strings.NewReader("x"), wantErr: "without a name"},
		{name: "reply without NUL before hanging up", fake: fakeOptions{behave: "reply", reply: "stream: OK"}, file: strings.NewReader("x"), want: clamav.Result{Clean: true}},
		{name: "hang up without a reply", fake: fakeOptions{behave: "reply"}, file: strings.NewReader("x"), wantErr: "without answering"},
		{name: "file cannot be read", file: iotest.ErrReader(errors.New("disk on fire")), wantErr: "disk on fire"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, tt.fake)
			c := &clamav.Client{Addr: f.addr, Timeout: 10 * time.Second}
			got, err := c.Scan(context.Background(), tt.file)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Scan: %v", err)
				}
				if got != tt.want {
					t.Fatalf("Scan = %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Scan = %+v, want an error mentioning %q", got, tt.wantErr)
			}
			if got.Clean {
				t.Error("a failed scan reported clean")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
}

// zeros is an endless file of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestScanChunks(t *testing.T) {
	// A reader returning one byte at a time must still go out in full
	// 64 KiB chunks: 200 KiB is three full chunks and 8 KiB.
	f := startFake(t, fakeOptions{})
	file := make([]byte, 200<<10)
	for i := range file {
		file[i] = byte(i * 7)
	}
	c := &clamav.Client{Addr: f.addr, Timeout: 10 * time.Second}
	res, err := c.Scan(context.Background(), iotest.OneByteReader(bytes.NewReader(file)))
	if err != nil || !res.Clean {
		t.Fatalf("Scan = %+v, %v", res, err)
	}
	chunks, received := f.last()
	if want := []int{64 << 10, 64 << 10, 64 << 10, 8 << 10}; !slices.Equal(chunks, want) {
		t.Errorf("chunks %v, want %v", chunks, want)
	}
	if !bytes.Equal(received, file) {
		t.Error("clamd received other bytes than the file")
	}
}

func TestScanTimeouts(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		ctx     func() (context.Context, context.CancelFunc)
		is      error
	}{
		{"client timeout", 200 * time.Millisecond, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, os.ErrDeadlineExceeded},
		{"context deadline", 0, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 200*time.Millisecond)
		}, context.DeadlineExceeded},
		{"context cancelled", 0, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, fakeOptions{behave: "silent"})
			ctx, cancel := tt.ctx()
			defer cancel()
			c := &clamav.Client{Addr: f.addr, Timeout: tt.timeout}
			start := time.Now()
			res, err := c.Scan(ctx, strings.NewReader("waiting for a verdict"))
			if err == nil || res.Clean {
				t.Fatalf("Scan = %+v, %v; want an error", res, err)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Scan returned after %v", d)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	c := &clamav.Client{Addr: addr, Timeout: 5 * time.Second}
	if res, err := c.Scan(context.Background(), strings.NewReader("x")); err == nil || res.Clean {
		t.Fatalf("Scan = %+v, %v; want an error", res, err)
	} else if !strings.Contains(err.Error(), "connecting") || !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not say it could not connect to %s", err, addr)
	}
	if err := c.Ping(context.Background()); err == nil {
		t.Fatal("Ping succeeded with nothing listening")
	}
}

func TestNoAddress(t *testing.T) {
	for _, addr := range []string{"", "unix:"} {
		c := &clamav.Client{Addr: addr}
		if _, err := c.Scan(context.Background(), strings.NewReader("x")); err == nil {
			t.Errorf("Scan with address %q succeeded", addr)
		}
	}
}

func TestPing(t *testing.T) {
	tests := []struct {
		name    string
		fake    fakeOptions
		wantErr string
	}{
		{"pong", fakeOptions{}, ""},
		{"pong without NUL", fakeOptions{behave: "reply", reply: "PONG"}, ""},
		{"other answer", fakeOptions{behave: "reply", reply: "UNKNOWN COMMAND\x00"}, "unexpected reply"},
		{"hang up", fakeOptions{behave: "reply"}, "without answering"},
		{"silent", fakeOptions{behave: "silent"}, "in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, tt.fake)
			c := &clamav.Client{Addr: f.addr, Timeout: 200 * time.Millisecond}
			err := c.Ping(context.Background())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Ping: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Ping = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestUnixSocket(t *testing.T) {
	// Socket paths are limited to about 100 bytes, which a test's TempDir
	// can exceed; a short directory of our own is safe.
	dir, err := os.MkdirTemp("", "clamd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "clamd.ctl")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Skipf("no Unix sockets here: %v", err)
	}
	f := &fakeClamd{}
	f.serve(t, ln)

	c := &clamav.Client{Addr: "unix:" + path, Timeout: 5 * time.Second}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	res, err := c.Scan(context.Background(), bytes.NewReader(eicar()))
	if err != nil || res.Signature != "Eicar-Signature" {
		t.Fatalf("Scan = %+v, %v; want the EICAR signature", res, err)
	}
}
