package pdfxtest

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"strings"
	"sync"
)

// Case is one generated hostile document.
type Case struct {
	Name string
	Data []byte
}

// Raw writes PDF files object by object, for documents no PDF writer would
// produce. Offsets are recorded so cross-reference data can point anywhere.
type Raw struct {
	B    bytes.Buffer
	Offs map[int]int // object number → offset of "n 0 obj"
}

// NewRaw starts a file with a PDF 1.7 header.
func NewRaw() *Raw {
	w := &Raw{Offs: map[int]int{}}
	w.B.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	return w
}

// Obj writes "num 0 obj body endobj" and returns its offset.
func (w *Raw) Obj(num int, body string) int {
	off := w.B.Len()
	w.Offs[num] = off
	fmt.Fprintf(&w.B, "%d 0 obj\n%s\nendobj\n", num, body)
	return off
}

// Stream writes a stream object whose dictionary is dict plus /Length.
func (w *Raw) Stream(num int, dict string, data []byte) int {
	off := w.B.Len()
	w.Offs[num] = off
	fmt.Fprintf(&w.B, "%d 0 obj\n<< %s /Length %d >>\nstream\n", num, dict, len(data))
	w.B.Write(data)
	w.B.WriteString("\nendstream\nendobj\n")
	return off
}

// Table writes a classic cross-reference table listing objects 0..size-1
// from Offs (missing ones free), the trailer (dict without << >>), startxref
// and %%EOF. It returns the table's offset.
func (w *Raw) Table(size int, trailer string) int {
	off := w.B.Len()
	fmt.Fprintf(&w.B, "xref\n0 %d\n0000000000 65535 f \n", size)
	for n := 1; n < size; n++ {
		if o, ok := w.Offs[n]; ok {
			fmt.Fprintf(&w.B, "%010d 00000 n \n", o)
		} else {
			w.B.WriteString("0000000000 00000 f \n")
		}
	}
	fmt.Fprintf(&w.B, "trailer\n<< /Size %d %s >>\n", size, trailer)
	w.EOF(off)
	return off
}

// EOF writes "startxref off %%EOF".
func (w *Raw) EOF(off int) { fmt.Fprintf(&w.B, "startxref\n%d\n%%%%EOF\n", off) }

// Bytes returns the file written so far.
func (w *Raw) Bytes() []byte { return bytes.Clone(w.B.Bytes()) }

// Deflate compresses data with zlib.
func Deflate(data []byte) []byte {
	var b bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&b, zlib.DefaultCompression)
	_, _ = zw.Write(data)
	_ = zw.Close()
	return b.Bytes()
}

// zeros deflates n zero bytes.
func zeros(n int) []byte { return deflateRepeat(nil, "\x00", n, nil) }

// deflateRepeat returns a zlib stream of prefix, n copies of pat, then
// suffix, made without compressing them: prefix and suffix are stored
// blocks, and the copies are deflate segments of 2^k copies that refer
// only to their own output, so each is compressed once and reused after
// anything. The checksum is combined arithmetically.
func deflateRepeat(prefix []byte, pat string, n int, suffix []byte) []byte {
	out := []byte{0x78, 0xda}
	out = stored(out, prefix)
	sum := adler32.Checksum(prefix)
	for k := 30; k >= 0; k-- {
		for n >= 1<<k && len(pat)<<k <= 1<<20 {
			seg := segment(pat, k)
			out = append(out, seg.data...)
			sum = adler32Combine(sum, seg.sum, len(pat)<<k)
			n -= 1 << k
		}
	}
	out = stored(out, suffix)
	sum = adler32Combine(sum, adler32.Checksum(suffix), len(suffix))
	out = append(out, 0x03, 0x00) // an empty final block
	return binary.BigEndian.AppendUint32(out, sum)
}

// stored appends data as non-final stored deflate blocks.
func stored(out, data []byte) []byte {
	for len(data) > 0 {
		k := min(len(data), 0xffff)
		out = append(out, 0, byte(k), byte(k>>8), ^byte(k), ^byte(k>>8))
		out = append(out, data[:k]...)
		data = data[k:]
	}
	return out
}

type seg struct {
	data []byte
	sum  uint32
}

var (
	segMu    sync.Mutex
	segments = map[string]seg{}
)

// segment returns non-final raw deflate blocks, ending with a sync flush,
// that encode 2^k copies of pat, and their checksum.
func segment(pat string, k int) seg {
	segMu.Lock()
	defer segMu.Unlock()
	key := fmt.Sprint(k, pat)
	if s, ok := segments[key]; ok {
		return s
	}
	plain := bytes.Repeat([]byte(pat), 1<<k)
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	_, _ = fw.Write(plain)
	_ = fw.Flush()
	s := seg{data: buf.Bytes(), sum: adler32.Checksum(plain)}
	segments[key] = s
	return s
}

const adlerBase = 65521

// adler32Combine is zlib's adler32_combine: the checksum of two
// concatenated inputs from theirs and the second's length.
func adler32Combine(a1, a2 uint32, len2 int) uint32 {
	rem := uint64(len2 % adlerBase)
	sum1 := uint64(a1 & 0xffff)
	sum2 := rem * sum1 % adlerBase
	sum1 += uint64(a2&0xffff) + adlerBase - 1
	sum2 += uint64(a1>>16) + uint64(a2>>16) + adlerBase - rem
	for sum1 >= adlerBase {
		sum1 -= adlerBase
	}
	for sum2 >= adlerBase {
		sum2 -= adlerBase
	}
	return uint32(sum2<<16 | sum1)
}

// body writes a one-page document (1 catalog, 2 pages, 3 page, 4 contents)
// with an AcroForm whose fields are given, and returns the writer.
func body(fields string) *Raw {
	w := NewRaw()
	form := ""
	if fields != "" {
		form = " /AcroForm << /Fields [" + fields + "] >>"
	}
	w.Obj(1, "<< /Type /Catalog /Pages 2 0 R"+form+" >>")
	w.Obj(2, "<< /Type /Pages /Count 1 /Kids [3 0 R] >>")
	w.Obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>")
	w.Stream(4, "", []byte("BT /F1 12 Tf 72 700 Td (hostile) Tj ET"))
	return w
}

func refs(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d 0 R ", from+i)
	}
	return b.String()
}

// Adversarial returns documents of at most 1 MiB built to exhaust the
// memory or CPU of a PDF reader: cross-reference data whose declared size
// multiplies (chained xref streams, huge /Size and /Index, deep /Prev
// chains), deflate bombs in xref and object streams, object-stream bombs,
// many entries sharing one offset, and many revisions. Each is named after
// its trick. A reader must answer each with a result or a typed error
// while its memory stays bounded by the size of the file.
func Adversarial() []Case {
	adversarialOnce.Do(func() { adversarial = makeAdversarial() })
	return adversarial
}

var (
	adversarialOnce sync.Once
	adversarial     []Case
)

func makeAdversarial() []Case {
	return []Case{
		{"chained xref streams, 40 x /Size 4000000", chainedXRefStreams(40, 4_000_000)},
		{"huge /Size, deflate bomb", hugeSize()},
		{"huge /Index ranges", hugeIndex()},
		{"deep /Prev chain of tables", deepTables(9_000)},
		{"deep /Prev chain of xref streams", chainedXRefStreams(2_000, 100_000)},
		{"deflate bomb in an xref stream", xrefDeflateBomb()},
		{"object stream deflate bomb", objStmBomb()},
		{"object streams read in turn", objStmRoundRobin(60, 12<<20)},
		{"many entries at one offset", sameOffset(10_000, 300_000)},
		{"object stream entries at one offset", objStmSameOffset(50_000, 200_000)},
		{"deep /Prev chain of xref streams, within the file size", chainedXRefStreams(2_000, 150)},
		{"many revisions", manyRevisions(400, 2000)},
		{"many revisions, within the file size", manyRevisions(400, 200)},
		{"many signed revisions", fakeSignatures(100, 20_000)},
		{"many signed revisions, within the file size", fakeSignatures(100, 600)},
	}
}

// chainedXRefStreams: a classic table for the body, then n xref streams
// chained by /Prev, each declaring size entries of one byte (/W [1 0 0])
// whose data is a few KB of deflated zeros.
func chainedXRefStreams(n, size int) []byte {
	w := body("")
	prev := w.Table(5, "/Root 1 0 R")
	data := zeros(size - 5)
	for i := 0; i < n; i++ {
		num := 5 + i
		off := w.Stream(num, fmt.Sprintf("/Type /XRef /Size %d /Index [5 %d] /W [1 0 0] /Filter /FlateDecode /Root 1 0 R /Prev %d", size, size-5, prev), data)
		w.EOF(off)
		prev = off
	}
	return w.Bytes()
}

// hugeSize: one xref stream with /Size 4000000 and no /Index, its rows
// (/W [1 3 1]) a deflate bomb of 20 MB.
func hugeSize() []byte {
	return oneXRefStream("/Size 4000000 /W [1 3 1]", zeros(5*4_000_000))
}

// hugeIndex: /Index ranges that repeat the same four million objects
// sixteen times over 64 MiB of deflated rows.
func hugeIndex() []byte {
	return oneXRefStream("/Size 4000000 /Index ["+strings.Repeat("5 3999990 ", 16)+"] /W [1 0 0]", zeros(64<<20))
}

// oneXRefStream writes the body and its table, then one deflated xref
// stream (dict adds to /Type, /Filter, /Root and /Prev) of data.
func oneXRefStream(dict string, data []byte) []byte {
	w := body("")
	prev := w.Table(5, "/Root 1 0 R")
	off := w.Stream(5, fmt.Sprintf("/Type /XRef %s /Filter /FlateDecode /Root 1 0 R /Prev %d", dict, prev), data)
	w.EOF(off)
	return w.Bytes()
}

// deepTables: n classic sections chained by /Prev.
func deepTables(n int) []byte {
	w := body("")
	prev := w.Table(5, "/Root 1 0 R")
	for i := 0; i < n; i++ {
		off := w.B.Len()
		fmt.Fprintf(&w.B, "xref\n3 1\n%010d 00000 n \ntrailer\n<< /Size 5 /Root 1 0 R /Prev %d >>\n", w.Offs[3], prev)
		w.EOF(off)
		prev = off
	}
	return w.Bytes()
}

// xrefDeflateBomb: an xref stream of five entries whose data inflates to
// 64 MiB.
func xrefDeflateBomb() []byte {
	return oneXRefStream("/Size 10 /Index [5 5] /W [1 0 0]", zeros(64<<20))
}

// objStm writes object stream num holding objects (number → body) whose
// decoded data is padded with spaces to pad bytes, deflated.
func objStm(w *Raw, num int, objs map[int]string, order []int, pad int) {
	var hdr, content strings.Builder
	for _, n := range order {
		fmt.Fprintf(&hdr, "%d %d ", n, content.Len())
		content.WriteString(objs[n])
		content.WriteString(" ")
	}
	first := hdr.Len()
	data := []byte(hdr.String() + content.String())
	w.Stream(num, fmt.Sprintf("/Type /ObjStm /N %d /First %d /Filter /FlateDecode", len(order), first), deflateRepeat(data, " ", max(pad-len(data), 0), nil))
}

// xrefStreamFor writes an xref stream (object num) locating every object of
// w.Offs in the file and the compressed ones given, then startxref.
func xrefStreamFor(w *Raw, num int, compressed map[int][2]int, trailer string) {
	size := num + 1
	for n := range w.Offs {
		size = max(size, n+1)
	}
	for n := range compressed {
		size = max(size, n+1)
	}
	off := w.B.Len()
	w.Offs[num] = off
	rows := make([]byte, 0, size*7)
	for n := 0; n < size; n++ {
		if c, ok := compressed[n]; ok {
			rows = append(rows, 2, byte(c[0]>>24), byte(c[0]>>16), byte(c[0]>>8), byte(c[0]), byte(c[1]>>8), byte(c[1]))
			continue
		}
		o, ok := w.Offs[n]
		if !ok {
			rows = append(rows, 0, 0, 0, 0, 0, 0, 0)
			continue
		}
		rows = append(rows, 1, byte(o>>24), byte(o>>16), byte(o>>8), byte(o), 0, 0)
	}
	z := Deflate(rows)
	fmt.Fprintf(&w.B, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Filter /FlateDecode %s /Length %d >>\nstream\n", num, size, trailer, len(z))
	w.B.Write(z)
	w.B.WriteString("\nendstream\nendobj\n")
	w.EOF(off)
}

// objStmBomb: the catalog lives in an object stream that inflates to
// 64 MiB.
func objStmBomb() []byte {
	w := NewRaw()
	w.Obj(2, "<< /Type /Pages /Count 1 /Kids [3 0 R] >>")
	w.Obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
	objStm(w, 5, map[int]string{1: "<< /Type /Catalog /Pages 2 0 R >>"}, []int{1}, 64<<20)
	xrefStreamFor(w, 6, map[int][2]int{1: {5, 0}}, "/Root 1 0 R")
	return w.Bytes()
}

// objStmRoundRobin: n form fields, each in its own object stream that
// inflates to pad bytes, listed twice so a reader with a small cache of
// object streams inflates each again.
func objStmRoundRobin(n, pad int) []byte {
	w := NewRaw()
	fields := refs(100, n) + refs(100, n)
	w.Obj(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields ["+fields+"] >> >>")
	w.Obj(2, "<< /Type /Pages /Count 1 /Kids [3 0 R] >>")
	w.Obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
	z := map[int][2]int{}
	for i := 0; i < n; i++ {
		f := 100 + i
		objStm(w, 10+i, map[int]string{f: fmt.Sprintf("<< /FT /Tx /T (f%d) /V (x) >>", i)}, []int{f}, pad)
		z[f] = [2]int{10 + i, 0}
	}
	xrefStreamFor(w, 100+n, z, "/Root 1 0 R")
	return w.Bytes()
}

// sameOffset: n form fields whose cross-reference entries all point at one
// large object (an array of arrayBytes bytes that belongs to another
// number), so every lookup parses it again.
func sameOffset(n, arrayBytes int) []byte {
	w := NewRaw()
	w.Obj(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields ["+refs(10, n)+"] >> >>")
	w.Obj(2, "<< /Type /Pages /Count 1 /Kids [3 0 R] >>")
	w.Obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots ["+refs(10, 200)+"] >>")
	big := w.Obj(9, "["+strings.Repeat("0 ", arrayBytes/2)+"]")
	xref := w.B.Len()
	fmt.Fprintf(&w.B, "xref\n0 4\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \n%010d 00000 n \n9 %d\n", w.Offs[1], w.Offs[2], w.Offs[3], n+1)
	for i := 0; i <= n; i++ {
		fmt.Fprintf(&w.B, "%010d 00000 n \n", big)
	}
	fmt.Fprintf(&w.B, "trailer\n<< /Size %d /Root 1 0 R >>\n", 10+n)
	w.EOF(xref)
	return w.Bytes()
}

// objStmSameOffset: an object stream of n objects that all start at the
// same large array, referenced as n form fields.
func objStmSameOffset(n, arrayBytes int) []byte {
	w := NewRaw()
	w.Obj(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields ["+refs(10, n)+"] >> >>")
	w.Obj(2, "<< /Type /Pages /Count 1 /Kids [3 0 R] >>")
	w.Obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
	var hdr strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&hdr, "%d 0 ", 10+i)
	}
	w.Stream(5, fmt.Sprintf("/Type /ObjStm /N %d /First %d /Filter /FlateDecode", n, hdr.Len()),
		deflateRepeat([]byte(hdr.String()+"["), "0 ", arrayBytes/2, []byte("]")))
	z := map[int][2]int{}
	for i := 0; i < n; i++ {
		z[10+i] = [2]int{5, i}
	}
	xrefStreamFor(w, 10+n, z, "/Root 1 0 R")
	return w.Bytes()
}

// row appends an xref stream row (/W [1 4 1]) for an object at off.
func row(b []byte, off int) []byte {
	return append(b, 1, byte(off>>24), byte(off>>16), byte(off>>8), byte(off), 0)
}

// manyRevisions: n incremental updates, each replacing the page and
// adding an xref stream that also declares entries free entries.
func manyRevisions(n, entries int) []byte {
	w := body("")
	prev := w.Table(5, "/Root 1 0 R")
	for i := 0; i < n; i++ {
		page := w.Obj(3, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Rev %d >>", i))
		rows := deflateRepeat(row(nil, page), "\x00", 6*entries, nil)
		off := w.Stream(10+i, fmt.Sprintf("/Type /XRef /Size %d /Index [3 1 100000 %d] /W [1 4 1] /Filter /FlateDecode /Root 1 0 R /Prev %d", 100000+entries, entries, prev), rows)
		w.EOF(off)
		prev = off
	}
	return w.Bytes()
}

// fakeSignatures: n revisions, each adding a signature field whose
// /ByteRange is well formed and ends at its revision's %%EOF but whose
// /Contents is not a CMS, so a verifier reads every revision; each
// revision's xref stream also declares entries free entries.
func fakeSignatures(n, entries int) []byte {
	w := body("")
	prev := w.Table(5, "/Root 1 0 R")
	var fields []string
	for i := 0; i < n; i++ {
		sig, fld := 1000+2*i, 1001+2*i
		w.Offs[sig] = w.B.Len()
		fmt.Fprintf(&w.B, "%d 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange ", sig)
		brPos := w.B.Len()
		w.B.WriteString(strings.Repeat(" ", 40))
		w.B.WriteString(" /Contents ")
		b := w.B.Len()
		w.B.WriteString("<" + strings.Repeat("30", 64) + ">")
		c := w.B.Len()
		w.B.WriteString(" >>\nendobj\n")
		w.Obj(fld, fmt.Sprintf("<< /FT /Sig /T (s%d) /V %d 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /P 3 0 R >>", i, sig))
		fields = append(fields, fmt.Sprintf("%d 0 R", fld))
		w.Obj(1, "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields ["+strings.Join(fields, " ")+"] /SigFlags 3 >> >>")
		rows := row(nil, w.Offs[1])
		rows = row(rows, w.Offs[sig])
		rows = row(rows, w.Offs[fld])
		off := w.Stream(5000+i, fmt.Sprintf("/Type /XRef /Size %d /Index [1 1 %d 2 100000 %d] /W [1 4 1] /Filter /FlateDecode /Root 1 0 R /Prev %d", 100000+entries, sig, entries, prev), deflateRepeat(rows, "\x00", 6*entries, nil))
		w.EOF(off)
		prev = off
		end := w.B.Len()
		copy(w.B.Bytes()[brPos:], fmt.Sprintf("[0 %d %d %d]", b, c, end-c))
	}
	return w.Bytes()
}
