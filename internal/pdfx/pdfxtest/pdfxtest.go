// Package pdfxtest generates small, valid PDF files for tests and drives the
// external checkers (qpdf, pdfsig) used to prove outputs correct. It is for
// tests only.
package pdfxtest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Options describes a generated document. The zero value gives a one-page
// PDF 1.7 with a classic cross-reference table.
type Options struct {
	Version  string // header version; default "1.7"
	Pages    int    // default 1
	AcroForm bool   // add an AcroForm with one text field on page 1
	// Padding adds an uncompressed stream of this many pseudo-random bytes
	// (an unused XObject) to grow the file.
	Padding int
	// Info adds a document information dictionary.
	Info bool
	// Metadata adds an XMP metadata stream (uncompressed, holding
	// [XMPTitle]) to the catalog.
	Metadata bool
}

// XMPTitle is the title in the metadata stream of Options.Metadata.
const XMPTitle = "roamsign XMP test title"

// Generate writes a PDF with a classic cross-reference table.
func Generate(o Options) []byte {
	if o.Version == "" {
		o.Version = "1.7"
	}
	if o.Pages <= 0 {
		o.Pages = 1
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%%PDF-%s\n%%\xe2\xe3\xcf\xd3\n", o.Version)
	var offs []int
	obj := func(body string) int {
		offs = append(offs, b.Len())
		n := len(offs)
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, body)
		return n
	}
	// Fixed numbers: 1 catalog, 2 pages, 3 font; then pages.
	first := 4
	kids := make([]string, o.Pages)
	for i := range kids {
		kids[i] = fmt.Sprintf("%d 0 R", first+2*i)
	}
	cat := "<< /Type /Catalog /Pages 2 0 R"
	fieldNum := first + 2*o.Pages
	if o.AcroForm {
		cat += fmt.Sprintf(" /AcroForm << /Fields [%d 0 R] /DA (/Helv 0 Tf 0 g) >>", fieldNum)
	}
	if o.Metadata {
		n := fieldNum
		for _, b := range []bool{o.AcroForm, o.Padding > 0, o.Info} {
			if b {
				n++
			}
		}
		cat += fmt.Sprintf(" /Metadata %d 0 R", n)
	}
	obj(cat + " >>")
	obj(fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] >>", o.Pages, strings.Join(kids, " ")))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := 0; i < o.Pages; i++ {
		annots := ""
		if o.AcroForm && i == 0 {
			annots = fmt.Sprintf(" /Annots [%d 0 R]", fieldNum)
		}
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R%s >>", first+2*i+1, annots))
		content := fmt.Sprintf("BT /F1 24 Tf 72 760 Td (Page %d of a roamsign test document) Tj ET", i+1)
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	if o.AcroForm {
		obj(fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (Ali) /Rect [72 600 300 630] /P %d 0 R /F 4 >>", first))
	}
	if o.Padding > 0 {
		r := rand.New(rand.NewPCG(1, 2))
		pad := make([]byte, o.Padding)
		for i := range pad {
			pad[i] = byte(r.Uint32())
		}
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XObject /Subtype /Form /BBox [0 0 1 1] /Length %d >>\nstream\n", len(offs), len(pad))
		b.Write(pad)
		b.WriteString("\nendstream\nendobj\n")
	}
	info := ""
	if o.Info {
		n := obj("<< /Title (roamsign test) /Producer (pdfxtest) >>")
		info = fmt.Sprintf(" /Info %d 0 R", n)
	}
	if o.Metadata {
		xmp := `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">` + XMPTitle + `</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`
		obj(fmt.Sprintf("<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream", len(xmp), xmp))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, off := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R%s /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>] >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, info, xref)
	return b.Bytes()
}

// Tool returns the path of an external program, failing the test with
// install instructions when it is missing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in PATH: install it with `make deps` (Debian: apt-get install -y qpdf poppler-utils libnss3-tools)", name)
	}
	return p
}

// QPDF runs qpdf with args on in and returns the output file. It is used to
// derive xref-stream, object-stream and linearized variants of a document.
func QPDF(t testing.TB, in []byte, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(src, in, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Tool(t, "qpdf"), append(append(args, src), dst)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		// qpdf exits 3 for warnings; the file is still written.
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("qpdf %v: %v\n%s", args, err, out)
		}
	}
	out, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Check runs `qpdf --check` on data and fails the test on any error or
// warning.
func Check(t testing.TB, data []byte) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "check.pdf")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(Tool(t, "qpdf"), "--check", f).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("WARNING")) {
		t.Fatalf("qpdf --check failed: %v\n%s", err, out)
	}
}

// Hybrid writes a one-page hybrid-reference file (ISO 32000-2, 7.5.8.4): a
// classic table whose trailer has /XRefStm pointing to an xref stream that
// locates the page's font, stored in an object stream.
func Hybrid() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	offs := map[int]int{}
	put := func(n int, body string) {
		offs[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	put(1, "<< /Type /Catalog /Pages 2 0 R >>")
	put(2, "<< /Type /Pages /Count 1 /Kids [4 0 R] >>")
	put(4, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>")
	content := "BT /F1 24 Tf 72 760 Td (Hybrid reference test document) Tj ET"
	put(5, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	font := "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
	hdr := "3 0 "
	put(6, fmt.Sprintf("<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n%s%s\nendstream", len(hdr), len(hdr)+len(font), hdr, font))
	xs := []byte{2, 0, 6, 0, 0}
	put(7, fmt.Sprintf("<< /Type /XRef /Size 8 /W [1 2 2] /Index [3 1] /Length %d >>\nstream\n%s\nendstream", len(xs), xs))
	xref := b.Len()
	b.WriteString("xref\n0 8\n0000000000 65535 f \n")
	for n := 1; n < 8; n++ {
		if n == 3 {
			b.WriteString("0000000000 00000 f \n")
			continue
		}
		fmt.Fprintf(&b, "%010d 00000 n \n", offs[n])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size 8 /Root 1 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n", offs[7], xref)
	return b.Bytes()
}

// OwnerOnlyEncryptions are qpdf arguments that encrypt a file with an
// owner password only (it opens without a password), by name: RC4 of 40
// and 128 bits (encryption versions 1, 2 and 4), AES-128, AES-256 of
// revisions 5 and 6, and metadata left in clear.
var OwnerOnlyEncryptions = map[string][]string{
	"rc4-40":     {"--allow-weak-crypto", "--encrypt", "", "owner", "40", "--"},
	"rc4-128":    {"--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--"},
	"aes-128":    {"--encrypt", "", "owner", "128", "--use-aes=y", "--"},
	"aes-256":    {"--encrypt", "", "owner", "256", "--"},
	"aes-256-r5": {"--allow-weak-crypto", "--encrypt", "", "owner", "256", "--force-R5", "--"},
	// Version 4 with RC4 crypt filters.
	"rc4-128-cleartext-metadata": {"--allow-weak-crypto", "--encrypt", "", "owner", "128", "--use-aes=n", "--cleartext-metadata", "--"},
	"aes-128-cleartext-metadata": {"--encrypt", "", "owner", "128", "--use-aes=y", "--cleartext-metadata", "--"},
	"aes-256-cleartext-metadata": {"--encrypt", "", "owner", "256", "--cleartext-metadata", "--"},
}

// UserPasswordEncryption are qpdf arguments that encrypt a file with the
// user password "user" (it needs a password to open).
var UserPasswordEncryption = []string{"--encrypt", "user", "owner", "256", "--"}

// EncryptedDocs returns doc encrypted in every way of
// OwnerOnlyEncryptions, each also with object streams (name "-objstm").
func EncryptedDocs(t testing.TB, doc []byte) map[string][]byte {
	out := map[string][]byte{}
	for name, args := range OwnerOnlyEncryptions {
		out[name] = QPDF(t, doc, args...)
		out[name+"-objstm"] = QPDF(t, doc, append([]string{"--object-streams=generate"}, args...)...)
	}
	return out
}
