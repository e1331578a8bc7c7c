package filetype

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// Detect judges a file by its first HeadSize bytes. For text, what comes
// later matters too: a CSV whose 9,000th byte starts an HTML page is not a
// CSV. Guard checks the whole stream of a text file as it is stored and
// fails the read (so nothing is stored) at the first byte that would have
// made Detect refuse it; other types pass through unchanged.
func Guard(t Type, r io.Reader) io.Reader {
	if !strings.HasPrefix(t.MediaType, "text/") && !strings.HasPrefix(t.MediaType, "application/json") {
		return r
	}
	return &textGuard{r: r}
}

// markers are what a browser sniffing content would take for active
// markup anywhere in a text file.
var markers = [][]byte{[]byte("<script"), []byte("<html"), []byte("<body"), []byte("<svg"), []byte("<iframe")}

const maxMarker = len("<iframe")

type textGuard struct {
	r       io.Reader
	carry   []byte // the end of the previous chunk: an incomplete character, and the last bytes for markers split across reads
	offset  int64
	started bool
}

func (g *textGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if n > 0 {
		if gerr := g.check(p[:n], err == io.EOF); gerr != nil {
			return 0, gerr
		}
	}
	return n, err
}

func (g *textGuard) check(chunk []byte, last bool) error {
	buf := append(append([]byte{}, g.carry...), chunk...)
	if !g.started {
		buf = bytes.TrimPrefix(buf, []byte("\xef\xbb\xbf"))
		g.started = true
	}
	// Hold back an incomplete last character for the next read.
	valid := buf
	if !last {
		for i := 1; i < utf8.UTFMax && i <= len(valid); i++ {
			if utf8.RuneStart(valid[len(valid)-i]) {
				if !utf8.FullRune(valid[len(valid)-i:]) {
					valid = valid[:len(valid)-i]
				}
				break
			}
		}
	}
	if !utf8.Valid(valid) {
		return invalid("the file is not UTF-8 text throughout (near byte %d); upload it as PDF, or save it as UTF-8", g.offset)
	}
	for _, b := range valid {
		if b <= 0x08 || b == 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f) {
			return invalid("the file holds binary data after its start (near byte %d), which text evidence may not", g.offset)
		}
	}
	lower := asciiLower(buf)
	for _, m := range markers {
		if bytes.Contains(lower, m) {
			return invalid("the file contains %s markup after its start, which is not accepted in evidence because a browser could run it", m)
		}
	}
	keep := maxMarker
	if keep > len(buf) {
		keep = len(buf)
	}
	// Carry the incomplete character and enough bytes to catch a marker
	// split across two reads.
	tail := len(buf) - len(valid)
	if tail < keep {
		tail = keep
	}
	g.carry = append(g.carry[:0], buf[len(buf)-tail:]...)
	g.offset += int64(len(chunk))
	return nil
}
