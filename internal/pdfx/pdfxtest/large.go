package pdfxtest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// LargeOptions describes a large generated document.
type LargeOptions struct {
	Pages int   // default 1,000
	Size  int64 // approximate file size in bytes; default 10 MB
	// Junk, when set, is written before the %PDF- header; the offsets in
	// the file are then relative to the header, as the PDF specification
	// allows.
	Junk []byte
}

// WriteLarge streams a PDF of about o.Size bytes with o.Pages pages to w,
// holding only the page offsets in memory: each page has a short text
// content stream and a grey image XObject of pseudo-random bytes (never
// drawn) that makes up the size. The file has a classic cross-reference
// table. It returns the bytes written.
func WriteLarge(w io.Writer, o LargeOptions) (int64, error) {
	if o.Pages <= 0 {
		o.Pages = 1000
	}
	if o.Size <= 0 {
		o.Size = 10_000_000
	}
	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<20)}
	base := int64(len(o.Junk))
	_, _ = cw.Write(o.Junk)
	cw.n = 0 // offsets count from the header
	fmt.Fprintf(cw, "%%PDF-1.7\n%%\xe2\xe3\xcf\xd3\n")
	// 1 catalog, 2 pages, 3 font; page i: 4+3i page, 5+3i contents, 6+3i image.
	nobj := 3 + 3*o.Pages
	offs := make([]int64, nobj+1)
	obj := func(n int, body string) {
		offs[n] = cw.n
		fmt.Fprintf(cw, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	offs[2] = cw.n
	fmt.Fprintf(cw, "2 0 obj\n<< /Type /Pages /Count %d /Kids [", o.Pages)
	for i := 0; i < o.Pages; i++ {
		fmt.Fprintf(cw, "%d 0 R ", 4+3*i)
	}
	fmt.Fprintf(cw, "] >>\nendobj\n")
	obj(3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	per := max((o.Size-cw.n-int64(o.Pages)*300-int64(nobj)*20)/int64(o.Pages), 1024) / 1024 * 1024
	rng := rand.New(rand.NewPCG(uint64(o.Size), uint64(o.Pages)))
	chunk := make([]byte, 64<<10)
	for i := 0; i < o.Pages; i++ {
		p := 4 + 3*i
		obj(p, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> /XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>", p+2, p+1))
		content := fmt.Sprintf("BT /F1 24 Tf 72 760 Td (Page %d of a large roamsign test document) Tj ET", i+1)
		obj(p+1, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
		offs[p+2] = cw.n
		fmt.Fprintf(cw, "%d 0 obj\n<< /Type /XObject /Subtype /Image /Width 1024 /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Length %d >>\nstream\n", p+2, per/1024, per)
		for left := per; left > 0; {
			n := min(left, int64(len(chunk)))
			for j := 0; j < int(n); j += 8 {
				v := rng.Uint64()
				for k := 0; k < 8 && j+k < int(n); k++ {
					chunk[j+k] = byte(v >> (8 * k))
				}
			}
			_, _ = cw.Write(chunk[:n])
			left -= n
		}
		fmt.Fprintf(cw, "\nendstream\nendobj\n")
	}
	xref := cw.n
	fmt.Fprintf(cw, "xref\n0 %d\n0000000000 65535 f \n", nobj+1)
	for _, off := range offs[1:] {
		fmt.Fprintf(cw, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(cw, "trailer\n<< /Size %d /Root 1 0 R /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] >>\nstartxref\n%d\n%%%%EOF\n", nobj+1, xref)
	if err := cw.w.(*bufio.Writer).Flush(); err != nil {
		return 0, err
	}
	return base + cw.n, cw.err
}

// LargeFile writes a [WriteLarge] document into a file in t's temporary
// directory (removed when t ends) and returns its path and size.
func LargeFile(t testing.TB, o LargeOptions) (string, int64) {
	t.Helper()
	name := filepath.Join(t.TempDir(), fmt.Sprintf("large-%d.pdf", o.Size))
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	n, err := WriteLarge(f, o)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return name, n
}

// countWriter counts what it writes and keeps the first error.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
