package filetype_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/filetype"
)

const (
	pdf  = "application/pdf"
	txt  = "text/plain; charset=utf-8"
	csv  = "text/csv; charset=utf-8"
	js   = "application/json"
	md   = "text/markdown; charset=utf-8"
	docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	pptx = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	odt  = "application/vnd.oasis.opendocument.text"
	ods  = "application/vnd.oasis.opendocument.spreadsheet"
	odp  = "application/vnd.oasis.opendocument.presentation"
	doc  = "application/msword"
	xls  = "application/vnd.ms-excel"
)

type sample struct {
	name     string
	head     []byte
	filename string
	want     string // media type, or "" when refused
	refusal  string // part of the message when refused
}

func samples(t testing.TB) []sample {
	minimalPDF := []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	html := []byte("<!DOCTYPE html>\n<html><head><title>Report</title></head><body>hi</body></html>\n")
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 56)...)
	mz := append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), make([]byte, 48)...)
	cutText := strings.Repeat("a", filetype.HeadSize-1) + "über" // the cut at HeadSize splits the two bytes of ü

	return []sample{
		// Accepted.
		{"pdf", minimalPDF, "audit.pdf", pdf, ""},
		{"pdf without name", minimalPDF, "", pdf, ""},
		{"pdf with windows path and capitals", minimalPDF, `C:\fakepath\Audit Report.PDF`, pdf, ""},
		{"png", encodePNG(t), "screenshot.png", "image/png", ""},
		{"png with unknown extension", encodePNG(t), "screenshot.image", "image/png", ""},
		{"jpeg", encodeJPEG(t), "photo.jpeg", "image/jpeg", ""},
		{"jpeg as jfif", encodeJPEG(t), "photo.jfif", "image/jpeg", ""},
		{"gif", encodeGIF(t), "anim.gif", "image/gif", ""},
		{"webp", []byte("RIFF\x24\x00\x00\x00WEBPVP8L\x18\x00\x00\x00\x2f\x00\x00\x00"), "shot.webp", "image/webp", ""},
		{"plain text", []byte("Backups are tested monthly.\n"), "notes.txt", txt, ""},
		{"text without extension", []byte("Backups are tested monthly.\n"), "README", txt, ""},
		{"text with unknown extension", []byte("retention: 30d\n"), "policy.yaml", txt, ""},
		{"csv with bom", []byte("\xef\xbb\xbfuser,role,last login\nanna,admin,2024-05-01\n"), "access.csv", csv, ""},
		{"json object", []byte(`{"users": [{"name": "anna", "mfa": true}], "count": 1e999}`), "export.json", js, ""},
		{"json array cut by the head", []byte(`[{"id": 1, "name": "an`), "export.json", js, ""},
		{"json content named txt", []byte(`{"a": 1}`), "export.txt", txt, ""},
		{"markdown", []byte("# Access review\n\n- [x] admins checked\n"), "review.md", md, ""},
		{"markdown long name", []byte("# Access review\n"), "review.markdown", md, ""},
		{"long text cut inside a character", []byte(cutText)[:filetype.HeadSize], "log.txt", txt, ""},
		{"text starting with MZ", []byte("MZ Consulting: penetration test summary\n"), "summary.txt", txt, ""},
		{"docx", makeOOXML(t, "word/document.xml"), "policy.docx", docx, ""},
		{"docx without name", makeOOXML(t, "word/document.xml"), "", docx, ""},
		{"xlsx", makeOOXML(t, "xl/workbook.xml"), "assets.xlsx", xlsx, ""},
		{"pptx", makeOOXML(t, "ppt/presentation.xml"), "training.pptx", pptx, ""},
		{"docx with parts beyond the head", bigContentTypes(t), "policy.docx", docx, ""},
		{"odt", makeODF(t, odt, true), "policy.odt", odt, ""},
		{"ods", makeODF(t, ods, true), "assets.ods", ods, ""},
		{"odp", makeODF(t, odp, true), "training.odp", odp, ""},
		{"odt with data descriptor", makeODF(t, odt, false), "policy.odt", odt, ""},
		{"doc", makeOLE(nil, "WordDocument", "1Table"), "old.doc", doc, ""},
		{"xls", makeOLE(nil, "Workbook"), "old.xls", xls, ""},
		{"ppt", makeOLE(nil, "PowerPoint Document"), "old.ppt", "application/vnd.ms-powerpoint", ""},
		{"ole directory beyond the head, named doc", makeOLE(nil)[:512], "old.doc", doc, ""},

		// Refused by content.
		{"empty", nil, "empty.pdf", "", "the file is empty"},
		{"html renamed pdf", html, "report.pdf", "", "the file is HTML"},
		{"html uppercase after spaces", []byte("  \r\n<HTML><BODY>x</BODY></HTML>"), "page.txt", "", "the file is HTML"},
		{"html with bom", append([]byte("\xef\xbb\xbf"), html...), "", "", "the file is HTML"},
		{"iframe", []byte("<iframe src=https://example.com></iframe>"), "a.md", "", "the file is HTML"},
		{"script in text", []byte("Meeting notes\n<ScRiPt>alert(1)</script>\n"), "notes.txt", "", "<script> tag"},
		{"script in csv", []byte("name,comment\nx,<script src=//evil></script>\n"), "data.csv", "", "<script> tag"},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>`), "logo.svg", "", "SVG"},
		{"svg with xml prologue renamed png", []byte("<?xml version=\"1.0\"?>\n<!DOCTYPE svg>\n<svg></svg>"), "logo.png", "", "SVG"},
		{"xml", []byte("<?xml version=\"1.0\"?>\n<report><item/></report>"), "report.txt", "", "XML or HTML markup"},
		{"markup without declaration", []byte("<report><item/></report>"), "", "", "XML or HTML markup"},
		{"rtf", []byte(`{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0 Hello}`), "letter.txt", "", "RTF"},
		{"elf", elf, "tool", "", "a Linux or Unix program"},
		{"elf renamed pdf", elf, "report.pdf", "", "a Linux or Unix program"},
		{"windows program", mz, "setup.pdf", "", "a Windows program"},
		{"mach-o", []byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01\x03\x00\x00\x00"), "", "", "a macOS program"},
		{"shell script", []byte("#!/bin/sh\nrm -rf /\n"), "notes.txt", "", "a script"},
		{"zip of random files", makeZIP(t, map[string][]byte{"a.bin": randomBytes(300), "b/c.txt": []byte("x")}), "evidence.zip", "", "a ZIP archive"},
		{"zip renamed docx", makeZIP(t, map[string][]byte{"a.bin": randomBytes(300)}), "policy.docx", "", "a ZIP archive"},
		{"empty zip", []byte("PK\x05\x06" + strings.Repeat("\x00", 18)), "", "", "a ZIP archive"},
		{"gzip", gzipped(t, "hello"), "logs.gz", "", "a gzip archive"},
		{"7z", []byte("7z\xbc\xaf\x27\x1c\x00\x04"), "", "", "a 7-Zip archive"},
		{"docm", makeOOXML(t, "word/document.xml", "word/vbaProject.bin"), "policy.docx", "", "macros"},
		{"odt with basic macros", makeODF(t, odt, true, "Basic/Standard/Module1.xml"), "policy.odt", "", "macros"},
		{"odt template", makeODF(t, "application/vnd.oasis.opendocument.text-template", true), "policy.odt", "", "OpenDocument file of a kind"},
		{"odg", makeODF(t, "application/vnd.oasis.opendocument.graphics", true), "drawing.odg", "", "OpenDocument file of a kind"},
		{"content types only, no office name", bigContentTypes(t), "package.bin", "", "name it .docx"},
		{"ole unknown streams without office name", makeOLE(nil, "__substg1.0_0037001F"), "mail.msg", "", "name it .doc"},
		{"windows installer", makeOLE([]byte("\x84\x10\x0c\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46")), "setup.doc", "", "Windows installer"},
		{"latin-1 text", []byte("Zugriffspr\xfcfung durchgef\xfchrt\n"), "log.txt", "", "not recognised"},
		{"utf-16 text", []byte("\xff\xfeh\x00i\x00"), "notes.txt", "", "not recognised"},
		{"text with nul", []byte("abc\x00def"), "notes.txt", "", "not recognised"},
		{"text with control bytes", []byte("abc\x01\x02def"), "notes.txt", "", "not recognised"},
		{"incomplete character in a whole file", []byte("caf\xc3"), "notes.txt", "", "not recognised"},
		{"random binary", randomBytes(512), "data", "", "not recognised"},

		// Refused because the name disagrees with the content.
		{"png named pdf", encodePNG(t), "report.pdf", "", "the file's content is a PNG image but its name ends in .pdf"},
		{"text named pdf", []byte("just text"), "report.pdf", "", "the file's content is a plain text file but its name ends in .pdf"},
		{"text named docx", []byte("just text"), "report.docx", "", "ends in .docx"},
		{"text named js", []byte("var x = 1;\n"), "tool.js", "", "ends in .js"},
		{"text named js with trailing dot", []byte("var x = 1;\n"), "tool.js.", "", "ends in .js"},
		{"text named html", []byte("just text"), "page.html", "", "ends in .html"},
		{"pdf with double extension", minimalPDF, "report.pdf.exe", "", "a PDF document but its name ends in .exe"},
		{"docx named xlsx", makeOOXML(t, "word/document.xml"), "policy.xlsx", "", "a Word document but its name ends in .xlsx"},
		{"xls streams named doc", makeOLE(nil, "Workbook"), "old.doc", "", "an Excel 97-2003 workbook but its name ends in .doc"},
		{"odt named docx", makeODF(t, odt, true), "policy.docx", "", "an OpenDocument text but"},
		{"text named json", []byte("not json at all"), "export.json", "", "ends in .json but its content is not JSON"},
		{"broken json named json", []byte(`{"a": 1,,}`), "export.json", "", "not JSON"},
	}
}

func TestDetect(t *testing.T) {
	for _, s := range samples(t) {
		t.Run(s.name, func(t *testing.T) {
			got, err := filetype.Detect(s.head, s.filename)
			if s.want != "" {
				if err != nil {
					t.Fatalf("Detect(%q) refused: %v", s.filename, err)
				}
				if got.MediaType != s.want {
					t.Fatalf("Detect(%q) = %q, want %q", s.filename, got.MediaType, s.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Detect(%q) accepted it as %q, want refusal mentioning %q", s.filename, got.MediaType, s.refusal)
			}
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("code %q, want invalid", apperr.CodeOf(err))
			}
			if msg := apperr.MessageOf(err); !strings.Contains(msg, s.refusal) {
				t.Errorf("message %q does not mention %q", msg, s.refusal)
			}
		})
	}
}

func TestDetectLooksOnlyAtTheHead(t *testing.T) {
	// Only the first HeadSize bytes count: a script further down is the
	// antivirus's and the browser headers' business, not this package's.
	body := append([]byte(strings.Repeat("a", filetype.HeadSize)), "<script>"...)
	got, err := filetype.Detect(body, "notes.txt")
	if err != nil || got.MediaType != txt {
		t.Fatalf("Detect = %v, %v; want text", got, err)
	}
}

func TestAllowed(t *testing.T) {
	types := filetype.Allowed()
	seen := map[string]bool{}
	for _, ty := range types {
		if ty.MediaType == "" || !strings.HasPrefix(ty.Extension, ".") || ty.Label == "" {
			t.Errorf("incomplete type %+v", ty)
		}
		if seen[ty.MediaType] {
			t.Errorf("media type %q listed twice", ty.MediaType)
		}
		seen[ty.MediaType] = true
	}
	for _, want := range []string{pdf, "image/png", "image/jpeg", "image/gif", "image/webp", txt, csv, js, md, docx, xlsx, pptx, odt, ods, odp, doc, xls} {
		if !seen[want] {
			t.Errorf("Allowed() lacks %q", want)
		}
	}
	types[0].MediaType = "changed"
	if filetype.Allowed()[0].MediaType == "changed" {
		t.Error("Allowed returns the package's own slice")
	}
}

func FuzzDetect(f *testing.F) {
	for _, s := range samples(f) {
		f.Add(s.head, s.filename)
	}
	allowed := filetype.Allowed()
	f.Fuzz(func(t *testing.T, head []byte, filename string) {
		got, err := filetype.Detect(head, filename)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid || apperr.MessageOf(err) == "" {
				t.Fatalf("refusal %v is not an invalid-input error with a message", err)
			}
			return
		}
		if !slices.Contains(allowed, got) {
			t.Fatalf("accepted as %+v, which is not in Allowed()", got)
		}
	})
}

// Sample builders. Each makes a real, if small, file of its kind.

func img() image.Image {
	m := image.NewPaletted(image.Rect(0, 0, 2, 2), []color.Color{color.White, color.Black})
	m.SetColorIndex(1, 1, 1)
	return m
}

func encodePNG(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img(), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeGIF(t testing.TB) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, img(), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipped(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0] = 0xf7 // no accepted or refused magic number starts with this byte
	return b
}

// makeZIP writes files in name order, compressed, with data descriptors, as
// archive/zip does.
func makeZIP(t testing.TB, files map[string][]byte) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f, err := w.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const contentTypesXML = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>`

// makeOOXML builds the skeleton of an Office Open XML package in the order
// Office writes it: content types, relationships, then the parts.
func makeOOXML(t testing.TB, parts ...string) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	add := func(name, content string) {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	add("[Content_Types].xml", contentTypesXML)
	add("_rels/.rels", `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>`)
	for _, p := range parts {
		add(p, `<?xml version="1.0"?><document/>`)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bigContentTypes is an OOXML package whose first entry is stored and larger
// than the head, so that no part folder is visible to Detect.
func bigContentTypes(t testing.TB) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	content := []byte(contentTypesXML + strings.Repeat("<!-- padding -->", filetype.HeadSize/8))
	f, err := w.CreateHeader(&zip.FileHeader{Name: "[Content_Types].xml", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(content); err != nil {
		t.Fatal(err)
	}
	if f, err = w.Create("word/document.xml"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("<document/>")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()[:filetype.HeadSize]
}

// makeODF builds an OpenDocument package: the mimetype entry first and
// stored. With sized, its sizes are in the local header as LibreOffice writes
// them; without, in a data descriptor as archive/zip's Create writes them.
func makeODF(t testing.TB, mimetype string, sized bool, extra ...string) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	var f io.Writer
	var err error
	if sized {
		f, err = w.CreateRaw(&zip.FileHeader{
			Name:               "mimetype",
			Method:             zip.Store,
			CRC32:              crc32.ChecksumIEEE([]byte(mimetype)),
			CompressedSize64:   uint64(len(mimetype)),
			UncompressedSize64: uint64(len(mimetype)),
		})
	} else {
		f, err = w.CreateHeader(&zip.FileHeader{Name: "mimetype", Method: zip.Store})
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(mimetype)); err != nil {
		t.Fatal(err)
	}
	for _, name := range append([]string{"META-INF/manifest.xml", "content.xml"}, extra...) {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(`<?xml version="1.0"?><x/>`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// makeOLE builds the start of a Compound File with 512-byte sectors: the
// header and a first directory sector holding the root entry (with clsid)
// and up to three streams.
func makeOLE(clsid []byte, streams ...string) []byte {
	b := make([]byte, 1024)
	copy(b, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
	binary.LittleEndian.PutUint16(b[0x1a:], 3)      // major version
	binary.LittleEndian.PutUint16(b[0x1c:], 0xfffe) // little-endian byte order mark
	binary.LittleEndian.PutUint16(b[0x1e:], 9)      // 512-byte sectors
	binary.LittleEndian.PutUint32(b[0x30:], 0)      // the directory starts at sector 0
	entry := func(i int, name string, kind byte) []byte {
		e := b[512+128*i : 512+128*(i+1)]
		for j, c := range name {
			binary.LittleEndian.PutUint16(e[2*j:], uint16(c))
		}
		binary.LittleEndian.PutUint16(e[0x40:], uint16(2*len(name)+2))
		e[0x42] = kind
		return e
	}
	root := entry(0, "Root Entry", 5)
	copy(root[0x50:], clsid)
	for i, s := range streams {
		entry(i+1, s, 2)
	}
	return b
}
