package evidence

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/clamav"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
)

// fakeClamd speaks enough of clamd's INSTREAM protocol to call files
// containing "INFECTED" infected.
func fakeClamd(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				if cmd, err := r.ReadString(0); err != nil || cmd != "zINSTREAM\x00" {
					return
				}
				var data bytes.Buffer
				for {
					var size uint32
					if binary.Read(r, binary.BigEndian, &size) != nil {
						return
					}
					if size == 0 {
						break
					}
					if _, err := io.CopyN(&data, r, int64(size)); err != nil {
						return
					}
				}
				reply := "stream: OK\x00"
				if bytes.Contains(data.Bytes(), []byte("INFECTED")) {
					reply = "stream: Test-Signature FOUND\x00"
				}
				_, _ = conn.Write([]byte(reply))
			}()
		}
	}()
	return ln.Addr().String()
}

func TestScanning(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, 1<<20)
		f.evidence.scanner = &clamav.Client{Addr: fakeClamd(t)}
		c, _ := f.controls.Create(ctx, f.org, control.Input{Title: "Malware protection", Status: control.Implemented})

		clean, err := f.evidence.Upload(ctx, f.org, Input{Title: "Clean"}, "clean.pdf", bytes.NewReader(pdf))
		if err != nil || clean.File.ScanState != Clean {
			t.Fatalf("clean file: %+v %v", clean, err)
		}
		infected := append(append([]byte{}, pdf...), []byte("INFECTED")...)
		bad, err := f.evidence.Upload(ctx, f.org, Input{Title: "Infected", ControlIDs: []string{c.ID}}, "bad.pdf", bytes.NewReader(infected))
		if err != nil || bad.File.ScanState != Quarantined || bad.Current {
			t.Fatalf("infected file: %+v %v", bad.File, err)
		}
		if _, _, err := f.evidence.Open(ctx, f.org, bad.ID, Reader{Restricted: true}); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("download of a quarantined file: %v", err)
		}
		list, _ := f.controls.List(ctx, f.org, control.ListFilter{})
		if list[0].State != control.Unevidenced {
			t.Fatalf("a quarantined file counted as evidence: %s", list[0].State)
		}
		var n int
		if err := d.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE action = 'evidence.quarantine'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("quarantine audited %d times: %v", n, err)
		}
		// A scanner that does not answer quarantines too: unscanned is never clean.
		f.evidence.scanner = &clamav.Client{Addr: "127.0.0.1:1"}
		unscanned, err := f.evidence.Upload(ctx, f.org, Input{Title: "Unscanned"}, "u.pdf", bytes.NewReader(append(append([]byte{}, pdf...), 'x')))
		if err != nil || unscanned.File.ScanState != Quarantined {
			t.Fatalf("scanner down: %+v %v", unscanned.File, err)
		}
	})
}
