package filetype

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestGuard(t *testing.T) {
	csv := Type{MediaType: "text/csv"}
	long := strings.Repeat("a,b,c\n", 3000) // past the head Detect sees
	cases := []struct {
		name string
		t    Type
		body string
		want string // "" passes
	}{
		{"clean text", csv, long + "é,ü\n", ""},
		{"script after the head", csv, long + "<SCRIPT>alert(1)</script>", "<script"},
		{"html after the head", csv, long + "<html>", "<html"},
		{"NUL after the head", csv, long + "\x00", "binary"},
		{"Latin-1 after the head", csv, long + "caf\xe9\n", "UTF-8"},
		{"PDF passes unchanged", Type{MediaType: "application/pdf"}, "%PDF-1.7\x00<script>", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// One byte per read: markers and characters split across reads.
			_, err := io.ReadAll(Guard(c.t, iotest.OneByteReader(strings.NewReader(c.body))))
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			_, err = io.ReadAll(Guard(c.t, bytes.NewReader([]byte(c.body))))
			if c.want == "" && err != nil || c.want != "" && err == nil {
				t.Fatalf("whole reads: error %v, want %q", err, c.want)
			}
		})
	}
}
