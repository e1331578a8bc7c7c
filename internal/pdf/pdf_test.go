package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// pdfText extracts the text of a PDF with pdftotext (poppler-utils). Without
// it the test is skipped, except in CI, where it must be installed.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	path, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext (poppler-utils) is not on PATH; CI must install it")
		}
		t.Skip("pdftotext (poppler-utils) is not on PATH")
	}
	cmd := exec.Command(path, "-layout", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pdftotext: %v: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("pdftotext complained: %s", stderr.String())
	}
	return stdout.String()
}

// squash collapses all runs of white space to one space, so that text
// wrapped over several lines still reads as one string.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func mustBytes(t *testing.T, d *Document) []byte {
	t.Helper()
	b, err := d.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("output does not start with %%PDF-: %q", b[:min(len(b), 20)])
	}
	if !bytes.HasSuffix(bytes.TrimSpace(b), []byte("%%EOF")) {
		t.Fatal("output does not end with the end-of-file marker")
	}
	return b
}

const footer = "Acme · generated 2026-11-23 by Evident"

func sampleDocument(rows int) (*Document, []string) {
	d := New("Annexe d’audit — Acme SAS", "Déclaration d’applicabilité ISO/IEC 27001:2022", footer)
	want := []string{
		"Annexe d’audit — Acme SAS",
		"Déclaration d’applicabilité ISO/IEC 27001:2022",
	}
	add := func(s string) { want = append(want, s) }

	d.Heading(1, "1. Périmètre et méthode")
	add("1. Périmètre et méthode")
	d.Paragraph("Sécurité des données : chiffrement AES-256 au repos")
	add("Sécurité des données : chiffrement AES-256 au repos")
	long := strings.Repeat("Les sauvegardes quotidiennes sont chiffrées, répliquées hors site et testées chaque trimestre. ", 6)
	d.Paragraph(long)
	add(strings.TrimSpace(long))
	d.Paragraph("Première ligne\nDeuxième ligne après un saut\n\nAprès une ligne vide")
	add("Première ligne")
	add("Deuxième ligne après un saut")
	add("Après une ligne vide")
	d.Paragraph("Budget annuel : 12 500 € — « guillemets français » et “guillemets anglais” ✓")
	add("Budget annuel : 12 500 € — « guillemets français » et “guillemets anglais” ✓")

	d.Heading(2, "1.1 Mesures clés")
	add("1.1 Mesures clés")
	for _, b := range []string{
		"Authentification à deux facteurs obligatoire",
		"Journalisation centralisée, conservée 12 mois",
		strings.Repeat("Un point de liste assez long pour passer à la ligne suivante. ", 4),
	} {
		d.Bullet(b)
		add(strings.TrimSpace(b))
	}
	d.KeyValue("Organisation", "Acme SAS")
	d.KeyValue("Responsable sécurité", "Zoë Lefèvre")
	d.KeyValue("Période couverte", "du 1er janvier au 31 décembre 2026")
	add("Organisation")
	add("Acme SAS")
	add("Responsable sécurité")
	add("Zoë Lefèvre")
	add("Période couverte")
	add("du 1er janvier au 31 décembre 2026")

	d.Heading(1, "2. Contrôles")
	add("2. Contrôles")
	header := []string{"Référence", "Contrôle", "Statut", "Preuve"}
	body := make([][]string, rows)
	for i := range body {
		body[i] = []string{
			fmt.Sprintf("CTL-%03d", i+1),
			fmt.Sprintf("Contrôle d’accès n°%d", i+1),
			"Appliqué ✓",
			fmt.Sprintf("preuve-%03d.pdf", i+1),
		}
		want = append(want, body[i]...)
	}
	d.Table(header, body)
	want = append(want, header...)
	d.Paragraph("Fin du document.")
	add("Fin du document.")
	return d, want
}

func TestDocumentText(t *testing.T) {
	d, want := sampleDocument(120)
	text := pdfText(t, mustBytes(t, d))
	flat := squash(text)
	for _, s := range want {
		if !strings.Contains(flat, squash(s)) {
			t.Errorf("text %q not found in the PDF", s)
		}
	}

	pages := strings.Count(text, "\f")
	if pages < 3 {
		t.Fatalf("the document has %d pages, want at least 3 for a 120-row table", pages)
	}
	for n := 1; n <= pages; n++ {
		line := fmt.Sprintf("Page %d of %d · %s", n, pages, footer)
		if !strings.Contains(text, line) {
			t.Errorf("footer %q not found", line)
		}
	}
	if !strings.Contains(text, "Page 2 of") {
		t.Error(`"Page 2 of" not found`)
	}
	if strings.Contains(text, "{nb") {
		t.Error("the page count alias was left in the text")
	}

	// The header row is repeated on every page the table continues on.
	tablePages := 0
	for page := range strings.SplitSeq(text, "\f") {
		if strings.Contains(page, "CTL-") {
			tablePages++
			if !regexpHeader(page) {
				t.Errorf("a page with table rows has no header row:\n%s", page)
			}
		}
	}
	if tablePages < 2 {
		t.Errorf("the table covers %d pages, want at least 2", tablePages)
	}
	// Rows come out in order, each once.
	last := -1
	for i := 1; i <= 120; i++ {
		ref := fmt.Sprintf("CTL-%03d", i)
		if c := strings.Count(text, ref); c != 1 {
			t.Errorf("%s appears %d times", ref, c)
		}
		at := strings.Index(text, ref)
		if at < last {
			t.Errorf("%s is out of order", ref)
		}
		last = at
	}
}

func regexpHeader(page string) bool {
	for line := range strings.SplitSeq(page, "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "Référence" && f[3] == "Preuve" {
			return true
		}
	}
	return false
}

func TestEmptyDocument(t *testing.T) {
	for _, d := range []*Document{New("", "", ""), New("Title only", "", "")} {
		mustBytes(t, d)
	}
}

func TestEmptyDocumentText(t *testing.T) {
	text := pdfText(t, mustBytes(t, New("", "", "")))
	if strings.TrimSpace(text) != "Page 1 of 1" {
		t.Errorf("text = %q, want only the page number", text)
	}
}

func TestDeterministic(t *testing.T) {
	build := func() []byte {
		d, _ := sampleDocument(60)
		d.SetCreationDate(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
		return mustBytes(t, d)
	}
	const n = 4
	out := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = build() })
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !bytes.Equal(out[0], out[i]) {
			t.Fatal("the same document built twice gave different bytes")
		}
	}
	if !bytes.Contains(out[0], []byte("D:20261123100000")) {
		t.Error("the creation date is not the one set")
	}
	d, _ := sampleDocument(60)
	if b := mustBytes(t, d); !bytes.Contains(b, []byte("D:19700101000000")) {
		t.Error("without SetCreationDate the date is not the Unix epoch")
	}
}

func TestUnsupportedCharacters(t *testing.T) {
	d := New("Emoji 😀 title", "", "footer 🚀")
	d.Paragraph("smile 😀 here, nul \x00 byte, bad \xff utf8, CJK 中文, check ✓\ufe0f, tab\there")
	d.Bullet("rocket 🚀")
	d.KeyValue("key 🔑", "value")
	d.Table([]string{"a 😀"}, [][]string{{"b 🚀"}})
	// Layout spacing varies, so compare without white space.
	text := strings.Join(strings.Fields(pdfText(t, mustBytes(t, d))), "")
	for _, s := range []string{"Emoji�title", "smile�here", "nulbyte", "bad�utf8", "CJK��", "check✓", "tabhere", "rocket�", "key�", "a�", "b�", "footer�"} {
		if !strings.Contains(text, s) {
			t.Errorf("%q not found in %q", s, text)
		}
	}
}

func TestAfterBytes(t *testing.T) {
	d := New("t", "", "")
	first := mustBytes(t, d)
	again := mustBytes(t, d)
	if !bytes.Equal(first, again) {
		t.Error("a second Bytes gave a different PDF")
	}
	d.Paragraph("too late")
	if _, err := d.Bytes(); !errors.Is(err, errFinished) {
		t.Errorf("Bytes after more content: err = %v, want errFinished", err)
	}
}

func TestEdgeCases(t *testing.T) {
	d := New("", "Sous-titre seul", "")
	d.SetCreationDate(time.Time{})
	d.Heading(0, "")
	d.Heading(0, "Niveau zéro")
	d.Heading(3, "Niveau trois")
	d.Paragraph("")
	d.Paragraph("\n\n")
	d.Bullet("")
	d.KeyValue("", "")
	d.KeyValue("Clé seule", "")
	d.Table(nil, nil)
	d.Table([]string{"En-tête seul"}, nil)
	d.Table(nil, [][]string{{"sans", "en-tête"}})
	d.Table([]string{"a", "b"}, [][]string{{"court"}, {"x", "y", "colonne en plus"}, {}})
	b := mustBytes(t, d)
	if !bytes.Contains(b, []byte("D:19700101000000")) {
		t.Error("a zero creation date did not fall back to the Unix epoch")
	}
	text := squash(pdfText(t, b))
	for _, s := range []string{"Sous-titre seul", "Niveau zéro", "Niveau trois", "Clé seule", "En-tête seul", "sans", "en-tête", "court", "colonne en plus", "Page 1 of 1"} {
		if !strings.Contains(text, s) {
			t.Errorf("%q not found in %q", s, text)
		}
	}
}

func TestTallRowAndLongFooter(t *testing.T) {
	long := strings.Repeat("x", 400)
	d := New("Tall", "", long)
	d.Paragraph("before")
	var lines []string
	for i := range 150 {
		lines = append(lines, fmt.Sprintf("ligne-%03d", i))
	}
	d.Table([]string{"Nom", "Détail"}, [][]string{
		{"court", "un"},
		{"haute", strings.Join(lines, "\n")},
		{"après", "deux"},
	})
	text := pdfText(t, mustBytes(t, d))
	for _, s := range append(lines, "before", "court", "haute", "après", "deux") {
		if strings.Count(text, s) != 1 {
			t.Errorf("%q appears %d times", s, strings.Count(text, s))
		}
	}
	if !strings.Contains(text, "…") {
		t.Error("a footer too long for the page was not shortened")
	}
	if strings.Count(text, "\f") < 3 {
		t.Error("a 150-line row should take three pages")
	}
}

func TestColumnWidths(t *testing.T) {
	d := New("", "", "")
	check := func(name string, head []string, body [][]string) []float64 {
		t.Helper()
		w := d.columnWidths(head, body, len(head))
		sum := 0.0
		for _, x := range w {
			if x <= 0 {
				t.Errorf("%s: width %v", name, w)
			}
			sum += x
		}
		if math.Abs(sum-bodyW) > 1e-6 {
			t.Errorf("%s: widths %v add up to %v, want %v", name, w, sum, bodyW)
		}
		return w
	}
	w := check("short", []string{"A", "Longer header"}, [][]string{{"1", "two"}})
	if w[0] >= w[1] {
		t.Errorf("short: widths %v, want the wider content wider", w)
	}
	w = check("long", []string{"Ref", "Description", "Status"}, [][]string{
		{"A.1", strings.Repeat("very long description ", 30), "OK"},
	})
	if w[0] < 10 || w[2] < 10 || w[1] < 100 {
		t.Errorf("long: widths %v, want the long column to take most room, the others their words", w)
	}
	many := make([]string, 30)
	for i := range many {
		many[i] = strings.Repeat("word", 10)
	}
	check("many", many, nil)
}

func TestCoverage(t *testing.T) {
	for name, ttf := range map[string]string{"regular": regularTTF, "bold": boldTTF} {
		c, err := readCoverage([]byte(ttf))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, r := range "aZé€“”«»—…•·✓\ufffd" {
			if !c.has(r) {
				t.Errorf("%s: no glyph for %q", name, r)
			}
		}
		for _, r := range "中\u0000😀" {
			if c.has(r) {
				t.Errorf("%s: claims a glyph for %q", name, r)
			}
		}
	}
}

func BenchmarkDocument(b *testing.B) {
	for b.Loop() {
		d, _ := sampleDocument(120)
		if _, err := d.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmptyDocument(b *testing.B) {
	for b.Loop() {
		if _, err := New("", "", "").Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}
