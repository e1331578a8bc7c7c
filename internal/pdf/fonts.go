package pdf

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"unicode"
)

// The fonts are DejaVu Sans, regular and bold (fonts/LICENSE.txt,
// fonts/SOURCES.md). They are strings so that nothing can write to them:
// each document gets its own copy to hand to fpdf.
var (
	//go:embed fonts/DejaVuSans.ttf
	regularTTF string
	//go:embed fonts/DejaVuSans-Bold.ttf
	boldTTF string
)

// coverage records which runes of the Basic Multilingual Plane a font has
// a glyph for. fpdf only handles that plane: it refuses (MultiCell) or
// misplaces anything above it, and draws an empty box for a rune the font
// lacks.
type coverage [0x10000 / 64]uint64

func (c *coverage) has(r rune) bool {
	return r >= 0 && r < 0x10000 && c[r/64]&(1<<(r%64)) != 0
}

func (c *coverage) set(r int) { c[r/64] |= 1 << (r % 64) }

var (
	regularCoverage = sync.OnceValue(func() *coverage { return coverageOrAll(regularTTF) })
	boldCoverage    = sync.OnceValue(func() *coverage { return coverageOrAll(boldTTF) })
)

// coverageOrAll reads a font's coverage, or claims every rune if the cmap
// cannot be read (the tests make sure the embedded fonts can be): a box is
// better than losing text.
func coverageOrAll(ttf string) *coverage {
	c, err := readCoverage([]byte(ttf))
	if err != nil {
		c = new(coverage)
		for i := range c {
			c[i] = ^uint64(0)
		}
	}
	return c
}

var errCmap = errors.New("pdf: no usable cmap in font")

// readCoverage reads the font's Unicode BMP cmap subtable (format 4,
// platform 3 encoding 1 or platform 0) and returns the runes that map to a
// glyph other than .notdef.
func readCoverage(ttf []byte) (*coverage, error) {
	u16 := func(off int) (int, bool) {
		if off < 0 || off+2 > len(ttf) {
			return 0, false
		}
		return int(binary.BigEndian.Uint16(ttf[off:])), true
	}
	u32 := func(off int) (int, bool) {
		if off < 0 || off+4 > len(ttf) {
			return 0, false
		}
		return int(binary.BigEndian.Uint32(ttf[off:])), true
	}
	numTables, ok := u16(4)
	if !ok {
		return nil, errCmap
	}
	cmap := -1
	for i := range numTables {
		rec := 12 + 16*i
		if rec+16 > len(ttf) {
			return nil, errCmap
		}
		if string(ttf[rec:rec+4]) == "cmap" {
			cmap, _ = u32(rec + 8)
			break
		}
	}
	if cmap < 0 {
		return nil, errCmap
	}
	n, ok := u16(cmap + 2)
	if !ok {
		return nil, errCmap
	}
	sub := -1
	for i := range n {
		rec := cmap + 4 + 8*i
		platform, ok1 := u16(rec)
		encoding, ok2 := u16(rec + 2)
		off, ok3 := u32(rec + 4)
		if !ok1 || !ok2 || !ok3 {
			return nil, errCmap
		}
		if format, _ := u16(cmap + off); format != 4 {
			continue
		}
		if platform == 3 && encoding == 1 || platform == 0 {
			sub = cmap + off
			if platform == 3 {
				break
			}
		}
	}
	if sub < 0 {
		return nil, errCmap
	}
	segX2, ok := u16(sub + 6)
	if !ok || segX2 == 0 {
		return nil, errCmap
	}
	ends := sub + 14
	starts := ends + segX2 + 2
	deltas := starts + segX2
	rangeOffsets := deltas + segX2
	c := new(coverage)
	for s := 0; s < segX2; s += 2 {
		end, ok1 := u16(ends + s)
		start, ok2 := u16(starts + s)
		delta, ok3 := u16(deltas + s)
		ro, ok4 := u16(rangeOffsets + s)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, errCmap
		}
		for r := start; r <= end && r < 0xFFFF; r++ {
			glyph := 0
			if ro == 0 {
				glyph = (r + delta) & 0xFFFF
			} else if g, ok := u16(rangeOffsets + s + ro + 2*(r-start)); ok && g != 0 {
				glyph = (g + delta) & 0xFFFF
			}
			if glyph != 0 {
				c.set(r)
			}
		}
	}
	return c, nil
}

// clean makes text safe to give fpdf in the given font: line ends become
// "\n", a tab four spaces, other control characters go, and a rune the font
// has no glyph for becomes U+FFFD (or "?"), or goes if it is an invisible
// format character or a combining mark such as an emoji variation selector.
// Invalid UTF-8 reads as U+FFFD.
func clean(s string, bold bool) string {
	cov := regularCoverage()
	if bold {
		cov = boldCoverage()
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteString("    ")
		case unicode.IsControl(r):
		case cov.has(r):
			b.WriteRune(r)
		case unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me):
		case cov.has(unicode.ReplacementChar):
			b.WriteRune(unicode.ReplacementChar)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}
