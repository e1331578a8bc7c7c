// Package pdf is the one place that makes PDF files (the audit annex,
// reports). A Document is a simple flowing A4 document built in memory with
// codeberg.org/go-pdf/fpdf: a title block, headings, paragraphs, bullet
// lists, key-value lines and tables, with a footer "Page N of M · <footer>"
// on every page. Text is UTF-8 and set in the embedded DejaVu Sans, so
// accents, "€", typographic quotes and "✓" print as written; a character the
// font lacks prints as "�" rather than failing the document.
//
// Output is deterministic: the same calls give the same bytes. The
// document's creation date is the Unix epoch unless SetCreationDate gives
// one, because this package does not read the clock.
package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// Page geometry, in millimetres.
const (
	pageW   = 210.0
	pageH   = 297.0
	marginL = 20.0
	marginR = 20.0
	marginT = 20.0
	marginB = 22.0 // the body stops here; the footer sits below
	footerY = pageH - 14
	bodyW   = pageW - marginL - marginR
	bottom  = pageH - marginB // where fpdf breaks pages
	eps     = 1e-6
)

// Type sizes in points and line heights in millimetres.
const (
	family     = "DejaVuSans"
	bodySize   = 10.0
	bodyLine   = 5.0
	tableSize  = 9.0
	tableLine  = 4.4
	cellPadX   = 1.5
	cellPadY   = 1.2
	keyWidth   = 55.0
	bulletStep = 6.0
	// nbAlias stands for the page count until fpdf knows it. It is unlikely
	// in real text, where fpdf would replace it too.
	nbAlias = "{nb:pages}"
)

type rgb struct{ r, g, b int }

var (
	textColor   = rgb{33, 37, 41}
	mutedColor  = rgb{108, 117, 125}
	ruleColor   = rgb{190, 196, 202}
	headerColor = rgb{233, 236, 239}
)

// Document is a simple flowing A4 document: a title page header, headings,
// paragraphs, bullet lists, key-value lines and tables, with a footer
// "Page N of M · <footer text>". Each method lays its content out at once;
// Bytes finishes the document. A Document is not safe for concurrent use.
type Document struct {
	pdf    *fpdf.Fpdf
	footer string
	// topPage and topY mark the position right under a repeated table
	// header: starting a new page there would gain no room.
	topPage int
	topY    float64
	out     []byte
	err     error
}

// New starts a document whose first page opens with title and subtitle
// (either may be empty). footer follows the page numbers at the bottom of
// every page, for example "Acme · generated 2026-11-23 by Evident".
func New(title, subtitle, footer string) *Document {
	f := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", SizeStr: "A4"})
	d := &Document{pdf: f, footer: clean(oneLine(footer), false)}
	f.SetCatalogSort(true) // fonts in a fixed order, for reproducible output
	d.SetCreationDate(time.Unix(0, 0))
	f.SetTitle(title, true)
	f.SetSubject(subtitle, true)
	f.SetCreator("Evident", true)
	// The fonts go in before AliasNbPages so that fpdf keeps all digits in
	// the font subsets, whatever the page count turns out to be.
	f.AddUTF8FontFromBytes(family, "", []byte(regularTTF))
	f.AddUTF8FontFromBytes(family, "B", []byte(boldTTF))
	f.AliasNbPages(nbAlias)
	f.SetMargins(marginL, marginT, marginR)
	f.SetAutoPageBreak(true, marginB)
	f.SetCellMargin(0)
	f.SetFooterFunc(d.drawFooter)
	f.SetLineWidth(0.2)
	f.AddPage()

	title, subtitle = clean(title, true), clean(subtitle, false)
	if strings.TrimSpace(title) != "" {
		d.font(true, 20)
		f.MultiCell(0, 9, title, "", "L", false)
	}
	if strings.TrimSpace(subtitle) != "" {
		f.Ln(1)
		d.font(false, 12)
		d.color(mutedColor)
		f.MultiCell(0, 6, subtitle, "", "L", false)
	}
	if f.GetY() > marginT+eps {
		f.Ln(3)
		d.rule(f.GetY())
		f.Ln(6)
	}
	return d
}

// SetCreationDate sets the creation and modification dates recorded in the
// document's properties; give the time the content was generated. Without
// it, or with the zero time, they are the Unix epoch, so that output stays
// reproducible.
func (d *Document) SetCreationDate(t time.Time) {
	if t.IsZero() {
		t = time.Unix(0, 0) // fpdf would read the clock
	}
	t = t.UTC()
	d.pdf.SetCreationDate(t)
	d.pdf.SetModificationDate(t)
}

// Heading adds a heading: level 1 for a section, 2 (or more) for a
// subsection. A heading is kept on the same page as the start of what
// follows it.
func (d *Document) Heading(level int, text string) {
	if d.finished() {
		return
	}
	f := d.pdf
	size, lh, before, after := 15.0, 7.5, 7.0, 3.0
	if level >= 2 {
		size, lh, before, after = 12.0, 6.0, 4.0, 2.0
	}
	text = clean(text, true)
	d.font(true, size)
	lines := max(len(f.SplitText(text, bodyW)), 1)
	if !d.atTop() {
		if f.GetY()+before+float64(lines)*lh+after+2*bodyLine > bottom {
			f.AddPage()
		} else {
			f.Ln(before)
		}
	}
	f.MultiCell(0, lh, text, "", "L", false)
	if level < 2 {
		f.Ln(1)
		d.rule(f.GetY())
	}
	f.Ln(after)
}

// Paragraph adds wrapped text. Line breaks in text are kept; an empty
// paragraph is an empty line.
func (d *Document) Paragraph(text string) {
	if d.finished() {
		return
	}
	d.font(false, bodySize)
	d.pdf.MultiCell(0, bodyLine, clean(text, false), "", "L", false)
	d.pdf.Ln(2.5)
}

// Bullet adds an item of a bullet list; consecutive bullets make a list.
func (d *Document) Bullet(text string) {
	if d.finished() {
		return
	}
	f := d.pdf
	d.font(false, bodySize)
	if f.GetY()+bodyLine > bottom {
		f.AddPage()
	}
	f.SetX(marginL + 1.5)
	f.CellFormat(bulletStep-1.5, bodyLine, "•", "", 0, "L", false, 0, "")
	f.SetLeftMargin(marginL + bulletStep)
	f.SetX(marginL + bulletStep)
	f.MultiCell(0, bodyLine, clean(text, false), "", "L", false)
	f.SetLeftMargin(marginL)
	f.SetX(marginL)
	f.Ln(1)
}

// KeyValue adds a line with key in bold on the left and value beside it;
// consecutive key-value lines align. Both wrap.
func (d *Document) KeyValue(key, value string) {
	if d.finished() {
		return
	}
	const pad = 1.5
	d.row([]float64{keyWidth + pad, bodyW - keyWidth + pad},
		[]string{clean(key, true), clean(value, false)},
		rowStyle{left: marginL - pad, size: bodySize, lineH: bodyLine, padX: pad, padY: 0.3, bold: []bool{true, false}},
		nil, 0)
	d.pdf.Ln(0.7)
}

// Table adds a table with a bold, shaded header row (header may be nil for
// none). Column widths follow the content, cells wrap, and the header is
// repeated at the top of every page the table continues on. A row with fewer
// cells than the widest row is padded with empty ones.
func (d *Document) Table(header []string, rows [][]string) {
	if d.finished() {
		return
	}
	f := d.pdf
	n := len(header)
	for _, r := range rows {
		n = max(n, len(r))
	}
	if n == 0 {
		return
	}
	var head []string
	if len(header) > 0 {
		head = make([]string, n)
		for i, s := range header {
			head[i] = clean(s, true)
		}
	}
	body := make([][]string, len(rows))
	for i, r := range rows {
		body[i] = make([]string, n)
		for j, s := range r {
			body[i][j] = clean(s, false)
		}
	}
	widths := d.columnWidths(head, body, n)

	headStyle := rowStyle{left: marginL, size: tableSize, lineH: tableLine, padX: cellPadX, padY: cellPadY,
		bold: make([]bool, n), border: true, fill: true}
	for i := range headStyle.bold {
		headStyle.bold[i] = true
	}
	bodyStyle := rowStyle{left: marginL, size: tableSize, lineH: tableLine, padX: cellPadX, padY: cellPadY,
		bold: make([]bool, n), border: true}

	var drawHead func()
	headH := 0.0
	if head != nil {
		headH = d.rowHeight(widths, head, headStyle)
		drawHead = func() {
			d.row(widths, head, headStyle, nil, 0)
			d.topPage, d.topY = f.PageNo(), f.GetY()
		}
	}
	// Keep the header with the first row (as far as a page can hold them).
	need := headH
	if len(body) > 0 {
		need += d.rowHeight(widths, body[0], bodyStyle)
	}
	if !d.atTop() && f.GetY()+min(need, bottom-marginT) > bottom {
		f.AddPage()
	}
	if drawHead != nil {
		drawHead()
	}
	for _, r := range body {
		d.row(widths, r, bodyStyle, drawHead, headH)
	}
	d.font(false, bodySize)
	f.Ln(4)
}

// Bytes finishes the document and returns the PDF, or the error fpdf
// recorded while laying it out. It may be called again and returns the same
// PDF; adding content after it is an error.
func (d *Document) Bytes() ([]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	if d.out == nil {
		var buf bytes.Buffer
		if err := d.pdf.Output(&buf); err != nil {
			d.err = fmt.Errorf("pdf: %w", err)
			return nil, d.err
		}
		d.out = buf.Bytes()
	}
	return bytes.Clone(d.out), nil
}

var errFinished = errors.New("pdf: content added after Bytes")

// finished reports whether Bytes has run, recording the misuse if so.
func (d *Document) finished() bool {
	if d.out != nil || d.err != nil {
		if d.err == nil {
			d.err = errFinished
		}
		return true
	}
	return false
}

func (d *Document) font(bold bool, size float64) {
	style := ""
	if bold {
		style = "B"
	}
	d.pdf.SetFont(family, style, size)
	d.color(textColor)
}

func (d *Document) color(c rgb) { d.pdf.SetTextColor(c.r, c.g, c.b) }

// rule draws a thin horizontal line across the body at y.
func (d *Document) rule(y float64) {
	d.pdf.SetDrawColor(ruleColor.r, ruleColor.g, ruleColor.b)
	d.pdf.Line(marginL, y, pageW-marginR, y)
}

// atTop reports whether nothing has been drawn yet on this page, or nothing
// since a repeated table header.
func (d *Document) atTop() bool {
	y := d.pdf.GetY()
	return y <= marginT+eps || d.pdf.PageNo() == d.topPage && y <= d.topY+eps
}

func (d *Document) drawFooter() {
	f := d.pdf
	cellMargin := f.GetCellMargin()
	f.SetCellMargin(0)
	d.rule(footerY - 1.5)
	f.SetFont(family, "", 8)
	d.color(mutedColor)
	text := fmt.Sprintf("Page %d of %s", f.PageNo(), nbAlias)
	if d.footer != "" {
		text += " · " + d.footer
	}
	if f.GetStringWidth(text) > bodyW {
		r := []rune(text)
		r = r[:min(len(r), 200)] // far more than a line holds
		for len(r) > 0 && f.GetStringWidth(string(r)+"…") > bodyW {
			r = r[:len(r)-1]
		}
		text = strings.TrimRight(string(r), " ") + "…"
	}
	f.SetXY(marginL, footerY)
	f.CellFormat(bodyW, 4, text, "", 0, "L", false, 0, "")
	f.SetCellMargin(cellMargin)
}

// oneLine turns line breaks into spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// rowStyle describes a row of cells: a table row or a key-value line.
type rowStyle struct {
	left         float64 // x of the row's left edge
	size         float64 // font size, points
	lineH        float64
	padX, padY   float64
	bold         []bool // per cell
	border, fill bool
}

// lines wraps each cell to its column.
func (d *Document) lines(widths []float64, cells []string, st rowStyle) [][]string {
	d.pdf.SetCellMargin(st.padX)
	out := make([][]string, len(widths))
	for i, w := range widths {
		d.font(i < len(st.bold) && st.bold[i], st.size)
		out[i] = d.pdf.SplitText(cells[i], w)
	}
	d.pdf.SetCellMargin(0)
	return out
}

func (d *Document) rowHeight(widths []float64, cells []string, st rowStyle) float64 {
	n := 1
	for _, l := range d.lines(widths, cells, st) {
		n = max(n, len(l))
	}
	return float64(n)*st.lineH + 2*st.padY
}

// row draws one row at the current position and moves below it. When the
// row does not fit it goes to the next page; one taller than a page is split
// between lines. After each page break it causes, onNewPage (the table
// header, reserve millimetres high) runs.
func (d *Document) row(widths []float64, cells []string, st rowStyle, onNewPage func(), reserve float64) {
	f := d.pdf
	lines := d.lines(widths, cells, st)
	n := 1
	for _, l := range lines {
		n = max(n, len(l))
	}
	auto, margin := f.GetAutoPageBreak()
	f.SetAutoPageBreak(false, margin) // the breaks are decided here
	defer f.SetAutoPageBreak(auto, margin)
	defer f.SetCellMargin(0)

	fullPage := int(math.Floor((bottom - marginT - reserve - 2*st.padY + eps) / st.lineH))
	newPage := func() {
		f.AddPage()
		if onNewPage != nil {
			onNewPage()
		}
	}
	for k := 0; k < n && !f.Err(); {
		rest := n - k
		fit := int(math.Floor((bottom - f.GetY() - 2*st.padY + eps) / st.lineH))
		if fit < rest && !d.atTop() && (rest <= fullPage || fit < 3) {
			newPage()
			continue
		}
		count := min(max(fit, 1), rest)
		f.SetCellMargin(st.padX) // a repeated header may have reset it
		x, y := st.left, f.GetY()
		h := float64(count)*st.lineH + 2*st.padY
		for i, w := range widths {
			switch {
			case st.fill && st.border:
				f.SetFillColor(headerColor.r, headerColor.g, headerColor.b)
				f.SetDrawColor(ruleColor.r, ruleColor.g, ruleColor.b)
				f.Rect(x, y, w, h, "FD")
			case st.border:
				f.SetDrawColor(ruleColor.r, ruleColor.g, ruleColor.b)
				f.Rect(x, y, w, h, "D")
			}
			d.font(i < len(st.bold) && st.bold[i], st.size)
			for j := k; j < k+count && j < len(lines[i]); j++ {
				f.SetXY(x, y+st.padY+float64(j-k)*st.lineH)
				f.CellFormat(w, st.lineH, lines[i][j], "", 0, "L", false, 0, "")
			}
			x += w
		}
		f.SetXY(marginL, y+h)
		k += count
		if k < n {
			newPage()
		}
	}
}

// columnWidths shares the body width between n columns in proportion to
// their content: each column gets at least its longest word (within
// reason), and the rest goes to the columns whose text is longest.
func (d *Document) columnWidths(head []string, body [][]string, n int) []float64 {
	natural := make([]float64, n) // widest line
	least := make([]float64, n)   // widest word
	measure := func(cells []string, bold bool) {
		d.font(bold, tableSize)
		for i, s := range cells {
			for line := range strings.SplitSeq(s, "\n") {
				natural[i] = max(natural[i], d.pdf.GetStringWidth(line))
			}
			for _, word := range strings.Fields(s) {
				least[i] = max(least[i], d.pdf.GetStringWidth(word))
			}
		}
	}
	if head != nil {
		measure(head, true)
	}
	for _, r := range body {
		measure(r, false)
	}
	const floor = 10.0 // no column narrower than this unless all are
	var sumNatural, sumLeast float64
	for i := range n {
		natural[i] = min(max(natural[i]+2*cellPadX+0.5, floor), bodyW)
		least[i] = min(max(least[i]+2*cellPadX+0.5, floor), natural[i], bodyW/float64(n)*1.5)
		sumNatural += natural[i]
		sumLeast += least[i]
	}
	widths := make([]float64, n)
	switch {
	case sumNatural <= bodyW:
		for i := range n {
			widths[i] = natural[i] * bodyW / sumNatural
		}
	case sumLeast >= bodyW:
		for i := range n {
			widths[i] = least[i] * bodyW / sumLeast
		}
	default:
		extra := bodyW - sumLeast
		for i := range n {
			widths[i] = least[i] + extra*(natural[i]-least[i])/(sumNatural-sumLeast)
		}
	}
	return widths
}
