// Package filetype decides the type of an uploaded evidence file from its
// content, never from the name or the Content-Type the client sent: both are
// chosen by whoever uploads. The content is checked against an allow-list
// (PDF, images, UTF-8 text, CSV, JSON, Markdown and office documents);
// anything a browser could run (HTML, SVG, XML), programs, archives and
// unrecognised binary data are refused with a sentence the uploader can act
// on. The name still matters in one way: when its extension names a type, it
// must agree with the content, so that a file never reaches a reader under a
// name that makes their computer open it as something else.
package filetype

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/evident-isms/evident/internal/apperr"
)

// HeadSize is how many bytes Detect wants: the first HeadSize bytes of the
// file, or the whole file when it is shorter.
const HeadSize = 8192

// Type is an accepted file type.
type Type struct {
	// MediaType is what to store and send as Content-Type. Text types carry
	// charset=utf-8 because Detect has checked the encoding, and a declared
	// charset stops browsers from guessing one.
	MediaType string
	// Extension is the canonical extension, with its dot. Serve the file
	// under a name ending in it: a client name with an extension Detect does
	// not know (".yaml") is accepted, and only Extension is known to match.
	Extension string
	// Label names the type for people: "PDF document".
	Label string
}

// The accepted types. Each kind of content detected maps to one of them.
var (
	pdfType      = Type{"application/pdf", ".pdf", "PDF document"}
	pngType      = Type{"image/png", ".png", "PNG image"}
	jpegType     = Type{"image/jpeg", ".jpg", "JPEG image"}
	gifType      = Type{"image/gif", ".gif", "GIF image"}
	webpType     = Type{"image/webp", ".webp", "WebP image"}
	textType     = Type{"text/plain; charset=utf-8", ".txt", "plain text file"}
	csvType      = Type{"text/csv; charset=utf-8", ".csv", "CSV file"}
	jsonType     = Type{"application/json", ".json", "JSON file"} // JSON is UTF-8 by definition (RFC 8259)
	markdownType = Type{"text/markdown; charset=utf-8", ".md", "Markdown file"}
	docxType     = Type{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx", "Word document"}
	xlsxType     = Type{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx", "Excel workbook"}
	pptxType     = Type{"application/vnd.openxmlformats-officedocument.presentationml.presentation", ".pptx", "PowerPoint presentation"}
	odtType      = Type{"application/vnd.oasis.opendocument.text", ".odt", "OpenDocument text"}
	odsType      = Type{"application/vnd.oasis.opendocument.spreadsheet", ".ods", "OpenDocument spreadsheet"}
	odpType      = Type{"application/vnd.oasis.opendocument.presentation", ".odp", "OpenDocument presentation"}
	docType      = Type{"application/msword", ".doc", "Word 97-2003 document"}
	xlsType      = Type{"application/vnd.ms-excel", ".xls", "Excel 97-2003 workbook"}
	pptType      = Type{"application/vnd.ms-powerpoint", ".ppt", "PowerPoint 97-2003 presentation"}
)

var allowed = []Type{
	pdfType, pngType, jpegType, gifType, webpType,
	textType, csvType, jsonType, markdownType,
	docxType, xlsxType, pptxType, odtType, odsType, odpType,
	docType, xlsType, pptType,
}

// Allowed lists the accepted types for help texts and the API docs.
func Allowed() []Type {
	return append([]Type(nil), allowed...)
}

// extensions maps every extension Detect knows to the accepted type it names,
// including the usual aliases of the canonical one.
var extensions = map[string]Type{
	".pdf": pdfType, ".png": pngType,
	".jpg": jpegType, ".jpeg": jpegType, ".jpe": jpegType, ".jfif": jpegType,
	".gif": gifType, ".webp": webpType,
	".txt": textType, ".text": textType, ".log": textType,
	".csv": csvType, ".json": jsonType, ".md": markdownType, ".markdown": markdownType,
	".docx": docxType, ".xlsx": xlsxType, ".pptx": pptxType,
	".odt": odtType, ".ods": odsType, ".odp": odpType,
	".doc": docType, ".xls": xlsType, ".ppt": pptType,
}

// refusedExtensions are names that make a computer run, render or unpack the
// file rather than show it. Whatever the content, a file is not accepted
// under such a name: a plain-text .js or .vbs still runs when double-clicked
// on Windows, and a text .rtf or .html is opened by an application that
// interprets it.
var refusedExtensions = wordSet(`
		.html .htm .xhtml .shtml .mht .mhtml .svg .svgz .xml .xsl .xslt .rtf
		.exe .com .scr .pif .bat .cmd .msi .msm .msp .mst .dll .cpl .ocx .sys .drv
		.lnk .url .scf .hta .chm .inf .reg .gadget .application .appref-ms
		.js .jse .mjs .vbs .vbe .wsf .wsh .ws .ps1 .psm1 .psd1 .ps1xml
		.jar .class .py .pyw .pl .rb .php .asp .aspx .jsp .sh .bash .zsh .ksh .csh .command .desktop
		.app .dmg .pkg .deb .rpm .apk .appx .appxbundle .msix .msixbundle .so .dylib .elf .bin .run
		.docm .dotm .xlsm .xltm .xlam .xlsb .pptm .potm .ppsm .ppam .sldm
		.zip .rar .7z .gz .tgz .tar .bz2 .xz .zst .cab .iso .img .vhd .vhdx
`)

func wordSet(words string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.Fields(words) {
		set[w] = true
	}
	return set
}

// Detect reads the first bytes of a file (head: the first HeadSize bytes, or
// the whole file when shorter) and the client's file name, and returns the
// type to store and serve the file as, or an apperr Invalid error saying in
// plain words why the file is refused.
func Detect(head []byte, filename string) (Type, error) {
	if len(head) > HeadSize {
		head = head[:HeadSize]
	}
	// A head of exactly HeadSize bytes may end in the middle of a UTF-8
	// character or a ZIP entry; a shorter one is the whole file.
	truncated := len(head) == HeadSize
	ext := extension(filename)

	t, err := detectContent(head, truncated, ext)
	if err != nil {
		return Type{}, err
	}
	if ext == "" {
		return t, nil
	}
	if named, ok := extensions[ext]; (ok && named != t) || refusedExtensions[ext] {
		return Type{}, invalid("the file's content is %s but its name ends in %s; rename the file or upload the right one", withArticle(t.Label), ext)
	}
	return t, nil
}

// detectContent classifies head. ext is used only where the content alone
// cannot tell between accepted types (text, legacy Office, OOXML whose parts
// lie beyond the head).
func detectContent(head []byte, truncated bool, ext string) (Type, error) {
	switch {
	case len(head) == 0:
		return Type{}, invalid("the file is empty")
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return pdfType, nil
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return pngType, nil
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return jpegType, nil
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return gifType, nil
	case len(head) >= 16 && string(head[:4]) == "RIFF" && string(head[8:15]) == "WEBPVP8":
		return webpType, nil
	case bytes.HasPrefix(head, oleMagic):
		return detectOLE(head, ext)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return detectZIP(head, ext)
	}
	if what := program(head); what != "" {
		return Type{}, invalid("the file is %s, which is not accepted as evidence", what)
	}
	if what := archive(head); what != "" {
		return Type{}, invalid("the file is %s, which is not accepted as evidence; upload the documents it contains one by one", what)
	}
	if text, ok := utf8Text(head, truncated); ok {
		return detectText(text, ext)
	}
	return Type{}, invalid("the file's type is not recognised; accepted are PDF, PNG, JPEG, GIF and WebP images, text, CSV, JSON and Markdown files in UTF-8, and Word, Excel, PowerPoint and OpenDocument files")
}

// program names the kind of executable head starts with, or returns "".
func program(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "a Linux or Unix program"
	case bytes.HasPrefix(head, []byte("\xfe\xed\xfa\xce")), bytes.HasPrefix(head, []byte("\xfe\xed\xfa\xcf")),
		bytes.HasPrefix(head, []byte("\xce\xfa\xed\xfe")), bytes.HasPrefix(head, []byte("\xcf\xfa\xed\xfe")),
		bytes.HasPrefix(head, []byte("\xca\xfe\xba\xbe")): // also a Java class file: refused all the same
		return "a macOS program"
	case bytes.HasPrefix(head, []byte("#!")), bytes.HasPrefix(head, []byte("\xef\xbb\xbf#!")):
		return "a script"
	case bytes.HasPrefix(head, []byte("MZ")):
		// "MZ" is also how an ordinary sentence can begin. A real DOS or
		// Windows executable always has NUL bytes in its header, so a head
		// that is clean UTF-8 text is text.
		if _, ok := utf8Text(head, len(head) == HeadSize); !ok {
			return "a Windows program"
		}
	}
	return ""
}

// archive names the kind of compressed archive head starts with, or returns
// "". ZIP is handled with the office documents that are built on it.
func archive(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x05\x06")), bytes.HasPrefix(head, []byte("PK\x07\x08")):
		return "a ZIP archive"
	case bytes.HasPrefix(head, []byte("\x1f\x8b")):
		return "a gzip archive"
	case bytes.HasPrefix(head, []byte("7z\xbc\xaf\x27\x1c")):
		return "a 7-Zip archive"
	case bytes.HasPrefix(head, []byte("Rar!\x1a\x07")):
		return "a RAR archive"
	case bytes.HasPrefix(head, []byte("\xfd7zXZ\x00")):
		return "an xz archive"
	case bytes.HasPrefix(head, []byte("\x28\xb5\x2f\xfd")):
		return "a Zstandard archive"
	case len(head) >= 10 && string(head[:3]) == "BZh" && string(head[4:10]) == "\x31\x41\x59\x26\x53\x59":
		return "a bzip2 archive"
	case bytes.HasPrefix(head, []byte("MSCF\x00\x00\x00\x00")):
		return "a Windows cabinet archive"
	case len(head) >= 263 && string(head[257:263]) == "ustar\x00", len(head) >= 265 && string(head[257:265]) == "ustar  \x00":
		return "a tar archive"
	}
	return ""
}

// utf8Text returns head without a byte order mark when it is UTF-8 text:
// valid UTF-8 without the control bytes the WHATWG MIME sniffing standard
// calls binary data (NUL among them). When the head was cut at HeadSize, an
// incomplete character at its end is forgiven.
func utf8Text(head []byte, truncated bool) ([]byte, bool) {
	text := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if truncated {
		// The last character is at most utf8.UTFMax bytes long; drop an
		// incomplete one rather than call the file binary.
		for i := 1; i < utf8.UTFMax && i <= len(text); i++ {
			if utf8.RuneStart(text[len(text)-i]) {
				if !utf8.FullRune(text[len(text)-i:]) {
					text = text[:len(text)-i]
				}
				break
			}
		}
	}
	if !utf8.Valid(text) {
		return nil, false
	}
	for _, b := range text {
		if b <= 0x08 || b == 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f) {
			return nil, false
		}
	}
	return text, true
}

// detectText refuses text a browser or an office application could interpret
// as a document with active content, then picks the text type by extension:
// all text types look alike, so the name is what tells a CSV from a note.
func detectText(text []byte, ext string) (Type, error) {
	lower := asciiLower(text)
	start := bytes.TrimLeft(lower, " \t\r\n\f")
	if markup(start) {
		switch {
		case bytes.Contains(lower, []byte("<svg")):
			return Type{}, invalid("the file is an SVG image, which is not accepted as evidence: SVG can carry scripts, and the whole file would have to be read to rule them out; upload a PNG or a PDF instead")
		case hasAnyPrefix(start, "<!doctype html", "<html", "<head", "<body", "<script", "<iframe") ||
			bytes.Contains(lower, []byte("<html")) || bytes.Contains(lower, []byte("<body")):
			return Type{}, invalid("the file is HTML, which is not accepted as evidence; upload a PDF or a screenshot instead")
		default:
			return Type{}, invalid("the file starts with XML or HTML markup, which is not accepted as evidence; upload a PDF or a screenshot, or data as JSON or CSV")
		}
	}
	// Browsers that guess a type from content treat a <script> tag as HTML
	// wherever it appears, so text with one is refused whatever it is named.
	if bytes.Contains(lower, []byte("<script")) {
		return Type{}, invalid("the file contains a <script> tag, which is not accepted in evidence because a browser could run it; remove it or upload a PDF instead")
	}
	if bytes.HasPrefix(start, []byte(`{\rtf`)) {
		return Type{}, invalid("the file is an RTF document, which is not accepted as evidence; save it as PDF or .docx instead")
	}
	switch extensions[ext] {
	case csvType:
		return csvType, nil
	case markdownType:
		return markdownType, nil
	case jsonType:
		if !jsonStart(text) {
			return Type{}, invalid("the file's name ends in .json but its content is not JSON")
		}
		return jsonType, nil
	}
	return textType, nil
}

// markup reports whether text (lower-cased, leading space removed) starts
// like a tag, a comment, a doctype or an XML declaration: '<' followed by a
// letter, '/', '!' or '?'.
func markup(start []byte) bool {
	if len(start) < 2 || start[0] != '<' {
		return false
	}
	c := start[1]
	return (c >= 'a' && c <= 'z') || c == '/' || c == '!' || c == '?'
}

// jsonStart reports whether text begins a JSON object or array and is valid
// JSON as far as it goes: the head may stop in the middle of the document.
func jsonStart(text []byte) bool {
	trimmed := bytes.TrimLeft(text, " \t\r\n")
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber() // a huge number is still JSON; do not fail converting it
	for {
		_, err := dec.Token()
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return true
		default:
			return false
		}
	}
}

// oleMagic starts a Compound File (OLE2): legacy Office documents, but also
// Windows Installer packages and Outlook messages.
var oleMagic = []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")

// detectOLE tells a Word, Excel or PowerPoint 97-2003 file from the rest of
// the Compound File family by the directory entries that lie inside the head,
// and falls back on the extension when the directory lies beyond it.
func detectOLE(head []byte, ext string) (Type, error) {
	installer, streams := oleDirectory(head)
	if installer {
		return Type{}, invalid("the file is a Windows installer package, which is not accepted as evidence")
	}
	switch {
	case streams["WordDocument"]:
		return docType, nil
	case streams["Workbook"], streams["Book"]:
		return xlsType, nil
	case streams["PowerPoint Document"]:
		return pptType, nil
	}
	switch t := extensions[ext]; t {
	case docType, xlsType, pptType:
		return t, nil
	}
	return Type{}, invalid("the file is an old-format (97-2003) Office file, or a similar Windows file, and its kind cannot be told from its start; name it .doc, .xls or .ppt if it is one, or save it as PDF or in a current Office format")
}

// Windows Installer CLSIDs (package, patch, transform) as stored in the root
// directory entry: the first three bytes tell them apart, the rest is shared.
var installerCLSIDs = [][]byte{
	[]byte("\x84\x10\x0c\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"),
	[]byte("\x86\x10\x0c\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"),
	[]byte("\x82\x10\x0c\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"),
}

// oleDirectory reads the directory entries of the first directory sector that
// lie inside head: whether the root entry says Windows Installer, and the
// names of the streams. Both are best effort; the caller falls back on the
// extension.
func oleDirectory(head []byte) (installer bool, streams map[string]bool) {
	streams = map[string]bool{}
	if len(head) < 512 {
		return false, streams
	}
	shift := binary.LittleEndian.Uint16(head[0x1e:])
	if shift != 9 && shift != 12 { // 512- or 4096-byte sectors; anything else is corrupt
		return false, streams
	}
	sector := uint64(binary.LittleEndian.Uint32(head[0x30:]))
	start := (sector + 1) << shift // sector 0 follows the header, which fills one sector
	const entrySize = 128
	for i := uint64(0); i < (1<<shift)/entrySize; i++ {
		off := start + i*entrySize
		if off+entrySize > uint64(len(head)) {
			break
		}
		e := head[off : off+entrySize]
		nameLen := int(binary.LittleEndian.Uint16(e[0x40:])) // in bytes, with the terminating NUL
		kind := e[0x42]
		if i == 0 && kind == 5 { // the root entry
			for _, id := range installerCLSIDs {
				if bytes.Equal(e[0x50:0x60], id) {
					installer = true
				}
			}
		}
		if kind == 2 && nameLen >= 2 && nameLen <= 64 && nameLen%2 == 0 {
			streams[utf16Name(e[:nameLen-2])] = true
		}
	}
	return installer, streams
}

// utf16Name decodes a little-endian UTF-16 directory entry name; names of the
// Office streams are ASCII, so other characters only need to not match.
func utf16Name(b []byte) string {
	var s strings.Builder
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 || c > 0x7e || b[i+1] != 0 {
			s.WriteByte('?')
			continue
		}
		s.WriteByte(byte(c))
	}
	return s.String()
}

// The OpenDocument types accepted, by the content of their mimetype entry.
var openDocuments = []Type{odtType, odsType, odpType}

// detectZIP accepts a ZIP only as an office document: OpenDocument by its
// first entry, OOXML by the names of the entries inside the head.
func detectZIP(head []byte, ext string) (Type, error) {
	entries := zipEntries(head)
	if len(entries) > 0 && entries[0].name == "mimetype" {
		for _, t := range openDocuments {
			if entries[0].holds(t.MediaType) {
				return checkMacros(t, entries)
			}
		}
		if bytes.HasPrefix(entries[0].data, []byte("application/vnd.oasis.opendocument.")) {
			return Type{}, invalid("the file is an OpenDocument file of a kind that is not accepted; only text documents, spreadsheets and presentations are")
		}
	}
	contentTypes := false
	for _, e := range entries {
		if e.name == "[Content_Types].xml" {
			contentTypes = true
		}
		if t, ok := ooxmlPart(e.name); ok {
			return checkMacros(t, entries)
		}
	}
	if contentTypes {
		// The parts that tell the kind lie beyond the head. Other formats
		// share the [Content_Types].xml container (app packages among them),
		// so without a word/, xl/ or ppt/ part only an Office name will do.
		switch t := extensions[ext]; t {
		case docxType, xlsxType, pptxType:
			return checkMacros(t, entries)
		}
		return Type{}, invalid("the file is a ZIP-based package whose kind cannot be told from its start; name it .docx, .xlsx or .pptx if it is an Office document, or save it as PDF")
	}
	return Type{}, invalid("the file is a ZIP archive, which is not accepted as evidence; upload the documents it contains one by one")
}

// ooxmlPart returns the OOXML type whose main folder holds the named entry.
func ooxmlPart(name string) (Type, bool) {
	switch {
	case strings.HasPrefix(name, "word/"):
		return docxType, true
	case strings.HasPrefix(name, "xl/"):
		return xlsxType, true
	case strings.HasPrefix(name, "ppt/"):
		return pptxType, true
	}
	return Type{}, false
}

// checkMacros refuses an office document whose visible entries hold macros.
// It sees only the entries inside the head, so it is a courtesy to the
// uploader rather than a guarantee; the office application still asks before
// running macros.
func checkMacros(t Type, entries []zipEntry) (Type, error) {
	for _, e := range entries {
		n := strings.ToLower(e.name)
		if strings.HasSuffix(n, "vbaproject.bin") || strings.HasPrefix(n, "basic/") || strings.HasPrefix(n, "scripts/") {
			return Type{}, invalid("the file is an office document with macros, which is not accepted as evidence; save it without macros or as PDF")
		}
	}
	return t, nil
}

// zipEntry is a local file header found in the head.
type zipEntry struct {
	name string
	// data is what follows the header up to the end of the head; size is its
	// length in the archive, or -1 when a data descriptor holds it instead.
	data []byte
	size int64
}

// holds reports whether the entry is stored uncompressed with exactly value
// as its content.
func (e zipEntry) holds(value string) bool {
	if !bytes.HasPrefix(e.data, []byte(value)) {
		return false
	}
	if e.size >= 0 {
		return e.size == int64(len(value))
	}
	// Without a size, the next header or data descriptor must follow
	// directly; this tells "...text" from "...text-template".
	return bytes.HasPrefix(e.data[len(value):], []byte("PK"))
}

// zipEntries walks the local file headers inside head. An entry whose size
// is in a trailing data descriptor cannot be skipped by length, so the walk
// looks for the next header signature instead; entry names are claims of
// whoever built the file either way, not proof.
func zipEntries(head []byte) []zipEntry {
	var entries []zipEntry
	off := 0
	for len(entries) < 64 && off+30 <= len(head) && string(head[off:off+4]) == "PK\x03\x04" {
		h := head[off:]
		flags := binary.LittleEndian.Uint16(h[6:])
		method := binary.LittleEndian.Uint16(h[8:])
		size := int64(binary.LittleEndian.Uint32(h[18:]))
		nameLen := int(binary.LittleEndian.Uint16(h[26:]))
		extraLen := int(binary.LittleEndian.Uint16(h[28:]))
		if 30+nameLen > len(h) {
			break
		}
		dataStart := 30 + nameLen + extraLen
		if dataStart > len(h) {
			dataStart = len(h)
		}
		e := zipEntry{name: string(h[30 : 30+nameLen]), data: h[dataStart:], size: size}
		if flags&0x8 != 0 || size == 0xffffffff { // data descriptor, or ZIP64 size in the extra field
			e.size = -1
		}
		if method != 0 { // compressed: its bytes say nothing readable
			e.data = nil
		}
		entries = append(entries, e)

		if e.size >= 0 {
			if int64(dataStart)+e.size > int64(len(h)) {
				break // the next entry starts beyond the head
			}
			off += dataStart + int(e.size)
			continue
		}
		next := bytes.Index(h[dataStart:], []byte("PK\x03\x04"))
		if next < 0 {
			break
		}
		off += dataStart + next
	}
	return entries
}

// extension returns the lower-cased extension of the last element of a file
// name as a browser may send it: with a Unix or Windows path, and with
// trailing dots or spaces, which Windows drops when saving the file.
func extension(filename string) string {
	name := filename[strings.LastIndexAny(filename, `/\`)+1:]
	name = strings.TrimRight(name, ". ")
	i := strings.LastIndexByte(name, '.')
	if i <= 0 { // no dot, or a name like ".profile" that is all extension
		return ""
	}
	return strings.ToLower(name[i:])
}

// asciiLower lower-cases ASCII letters only, keeping every byte where it is,
// so offsets in the result match the original.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func hasAnyPrefix(b []byte, prefixes ...string) bool {
	for _, p := range prefixes {
		if bytes.HasPrefix(b, []byte(p)) {
			return true
		}
	}
	return false
}

// withArticle puts "a" or "an" before a label; labels are chosen so that
// their first letter decides.
func withArticle(label string) string {
	if label != "" && strings.ContainsRune("AEIOUaeiou", rune(label[0])) {
		return "an " + label
	}
	return "a " + label
}

func invalid(format string, args ...any) error {
	return apperr.New(apperr.Invalid, format, args...)
}
