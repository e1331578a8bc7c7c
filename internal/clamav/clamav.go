// Package clamav scans uploads with a ClamAV daemon (clamd) over its INSTREAM
// command, so the file never has to be readable by clamd on disk and clamd
// may run on another host. A scan either says clean, says infected with the
// signature's name, or fails; callers treat a failure as "not scanned" and
// quarantine the file, never as clean.
package clamav

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// chunkSize is the largest chunk sent. clamd accepts larger ones up to its
// StreamMaxLength, but 64 KiB keeps the buffer small and is what clamdscan
// itself uses.
const chunkSize = 64 << 10

// DefaultTimeout bounds a call when Client.Timeout is zero: a clamd that has
// stopped answering must not hold an upload forever.
const DefaultTimeout = 2 * time.Minute

// maxReply bounds the reply read from clamd; a real one is a line.
const maxReply = 4 << 10

// ErrSizeLimit is wrapped by the error Scan returns when the file is larger
// than clamd's StreamMaxLength, so that the caller can say why the file was
// not scanned.
var ErrSizeLimit = errors.New("the file is larger than the virus scanner's limit (clamd StreamMaxLength)")

// Client talks to one clamd. The zero value is not usable: Addr is required.
type Client struct {
	// Addr is "host:port" for TCP or "unix:/path/clamd.ctl" for a Unix socket.
	Addr string
	// Timeout bounds each call, from connecting to the last byte of the
	// reply, including the time clamd takes to scan. Zero means
	// DefaultTimeout. A deadline on the context also applies.
	Timeout time.Duration
}

// Result is the verdict on a scanned file.
type Result struct {
	Clean     bool
	Signature string // the name of what was found, when not clean
}

// Scan streams r to clamd with zINSTREAM: chunks of at most 64 KiB, each
// prefixed by its length as 4 big-endian bytes, then a zero-length chunk. It
// returns Result{Clean: true} or the signature found; any other outcome
// (connection, timeout, a clamd ERROR reply, an unexpected reply, a read
// error on r) is an error.
func (c *Client) Scan(ctx context.Context, r io.Reader) (Result, error) {
	ctx, cancel := c.context(ctx)
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close()

	if err := c.send(conn, r); err != nil {
		if errors.Is(err, errReadingFile) {
			return Result{}, err
		}
		// clamd answers and hangs up as soon as the stream passes its size
		// limit, which breaks our writes; its reply, if it got through,
		// says more than the broken pipe.
		if reply, rerr := readReply(conn); rerr == nil {
			if _, perr := parseScanReply(reply); perr != nil {
				return Result{}, c.fail(ctx, "scanning", perr)
			}
		}
		return Result{}, c.fail(ctx, "sending the file", err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return Result{}, c.fail(ctx, "reading the verdict", err)
	}
	res, err := parseScanReply(reply)
	if err != nil {
		return Result{}, c.fail(ctx, "scanning", err)
	}
	return res, nil
}

// errReadingFile marks a failure to read the file being scanned, as opposed
// to a failure to talk to clamd.
var errReadingFile = errors.New("clamav: reading the file to scan")

// send writes the INSTREAM command, the chunks of r and the terminating
// zero-length chunk.
func (c *Client) send(conn net.Conn, r io.Reader) error {
	if _, err := io.WriteString(conn, "zINSTREAM\x00"); err != nil {
		return err
	}
	// One buffer holds the length prefix and the chunk so that each chunk
	// goes out in one write.
	buf := make([]byte, 4+chunkSize)
	for {
		n, err := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf, uint32(n))
			if _, werr := conn.Write(buf[:4+n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errReadingFile, err)
		}
	}
	_, err := conn.Write([]byte{0, 0, 0, 0})
	return err
}

// parseScanReply reads "stream: OK", "stream: <signature> FOUND" and
// "<message> ERROR".
func parseScanReply(reply string) (Result, error) {
	switch {
	case reply == "stream: OK":
		return Result{Clean: true}, nil
	case strings.HasPrefix(reply, "stream: ") && strings.HasSuffix(reply, " FOUND"):
		sig := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(reply, "stream: "), " FOUND"))
		if sig == "" {
			return Result{}, fmt.Errorf("clamd reported a find without a name: %q", reply)
		}
		return Result{Signature: sig}, nil
	case strings.Contains(reply, "size limit exceeded"):
		return Result{}, fmt.Errorf("%w: clamd replied %q", ErrSizeLimit, reply)
	case strings.HasSuffix(reply, " ERROR"):
		return Result{}, fmt.Errorf("clamd replied %q", reply)
	}
	return Result{}, fmt.Errorf("unexpected reply from clamd: %q", reply)
}

// Ping sends zPING and expects PONG: the readiness check.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := c.context(ctx)
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "zPING\x00"); err != nil {
		return c.fail(ctx, "sending PING", err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return c.fail(ctx, "reading the answer to PING", err)
	}
	if reply != "PONG" {
		return c.fail(ctx, "PING", fmt.Errorf("unexpected reply from clamd: %q", reply))
	}
	return nil
}

// errTimeout is the cause of a call's context when Timeout runs out, so that
// the error says so instead of "context deadline exceeded".
var errTimeout = fmt.Errorf("no complete answer in time: %w", os.ErrDeadlineExceeded)

// context bounds ctx by the client's timeout.
func (c *Client) context(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return context.WithTimeoutCause(ctx, timeout, errTimeout)
}

// dial connects and ties the connection to ctx: its deadline becomes the
// connection's, and cancelling ctx aborts blocked reads and writes.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	network, address := "tcp", c.Addr
	if path, ok := strings.CutPrefix(c.Addr, "unix:"); ok {
		network, address = "unix", path
	}
	if address == "" {
		return nil, errors.New("clamav: no clamd address configured")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, c.fail(ctx, "connecting", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			conn.Close()
			return nil, c.fail(ctx, "connecting", err)
		}
	}
	// A deadline in the past makes every blocked call on conn return at
	// once. The wrapper stops the watch when the connection is closed.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return &watchedConn{Conn: conn, stop: stop}, nil
}

type watchedConn struct {
	net.Conn
	stop func() bool
}

func (w *watchedConn) Close() error {
	w.stop()
	return w.Conn.Close()
}

// readReply reads one NUL-terminated reply (the z form of the commands) and
// returns it without the NUL and surrounding space. clamd closing the
// connection right after a reply without NUL is accepted too.
func readReply(conn net.Conn) (string, error) {
	br := bufio.NewReader(io.LimitReader(conn, maxReply))
	reply, err := br.ReadString(0)
	if err != nil && !(err == io.EOF && reply != "") {
		if err == io.EOF {
			return "", errors.New("clamd closed the connection without answering")
		}
		return "", err
	}
	return strings.TrimSpace(strings.TrimSuffix(reply, "\x00")), nil
}

// fail wraps err with what was being done, naming the daemon. When ctx ended,
// its cause replaces err: "deadline exceeded" from a socket read says less
// than the timeout or cancellation that caused it.
func (c *Client) fail(ctx context.Context, doing string, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's deadline is ctx's, but the socket may notice
		// before ctx's own timer has fired; it is due at once.
		<-ctx.Done()
	}
	if cause := context.Cause(ctx); cause != nil {
		err = cause
	}
	return fmt.Errorf("clamav %s: %s: %w", c.Addr, doing, err)
}
