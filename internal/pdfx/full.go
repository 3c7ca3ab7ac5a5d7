package pdfx

import (
	"bufio"
	"context"
	"io"
	"strconv"

	"github.com/roamsign/roamsign"
)

// WriteFull writes every object the reader sees as a new, clean file with
// one classic cross-reference table: the header of the file's version,
// each object in number order (the objects of object streams as ordinary
// objects; object and cross-reference streams themselves left out; each
// stream's data copied as it is, in chunks, with a direct /Length), the
// table, and a trailer with the file's /Root, /Info and /ID. Nothing
// precedes the header. The file must not be encrypted: its strings and
// streams would be written still encrypted, under no /Encrypt. Unless
// the reader decrypts ([Reader.Decrypt]): every string and stream is
// then written decrypted, and the /Encrypt dictionary left out.
func (r *Reader) WriteFull(ctx context.Context, w io.Writer) error {
	const op = "pdfx.WriteFull"
	if r.Encrypted() && r.sec == nil {
		return roamsign.E(roamsign.ErrUnsupported, op, "the file is encrypted")
	}
	n := r.MaxObjectNumber() + 1
	if err := r.b.Spend(int64(n) * 8); err != nil {
		return err
	}
	offs := make([]int64, n)
	gens := make([]int, n)
	bw := bufio.NewWriterSize(w, 256<<10)
	cw := &counter{w: bw}
	v := r.version
	if v == "" {
		v = "1.7"
	}
	_, _ = io.WriteString(cw, "%PDF-"+v+"\n%\xe2\xe3\xcf\xd3\n")
	var buf []byte
	for num := 1; num < n; num++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		e, ok := r.Lookup(num)
		if !ok || e.Type == EntryFree {
			continue
		}
		ref := Ref{Num: num, Gen: e.Gen}
		if e.Type == EntryCompressed {
			ref.Gen = 0
		}
		if r.sec != nil && ref == r.sec.encRef {
			continue
		}
		o, err := r.Get(ref)
		if err != nil {
			return err
		}
		if s, ok := o.(*Stream); ok && (s.Dict["Type"] == Name("XRef") || s.Dict["Type"] == Name("ObjStm")) {
			continue
		}
		offs[num], gens[num] = cw.n, ref.Gen
		buf = strconv.AppendInt(buf[:0], int64(num), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(ref.Gen), 10)
		buf = append(buf, " obj\n"...)
		s, isStream := o.(*Stream)
		if !isStream {
			buf = AppendObject(buf, o, 0)
			buf = append(buf, "\nendobj\n"...)
			_, _ = cw.Write(buf)
			continue
		}
		plain, err := r.plainLength(s)
		if err != nil {
			return err
		}
		d := s.Dict.Clone()
		d["Length"] = plain
		buf = appendDict(buf, d, 0)
		buf = append(buf, "\nstream\n"...)
		_, _ = cw.Write(buf)
		if s.crypt != nil {
			err = r.copyDecrypted(cw, s, plain)
		} else {
			err = r.copyData(cw, s)
		}
		if err != nil {
			return err
		}
		_, _ = io.WriteString(cw, "\nendstream\nendobj\n")
	}
	xref := cw.n
	buf = append(buf[:0], "xref\n0 "...)
	buf = strconv.AppendInt(buf, int64(n), 10)
	buf = append(buf, "\n0000000000 65535 f\r\n"...)
	_, _ = cw.Write(buf)
	for num := 1; num < n; num++ {
		buf = buf[:0]
		if offs[num] == 0 {
			buf = append(buf, "0000000000 00000 f\r\n"...)
		} else {
			buf = appendPadded(buf, offs[num], 10)
			buf = append(buf, ' ')
			buf = appendPadded(buf, int64(gens[num]), 5)
			buf = append(buf, " n\r\n"...)
		}
		_, _ = cw.Write(buf)
	}
	tr := Dict{"Size": int64(n)}
	for _, k := range []Name{"Root", "Info", "ID"} {
		if v, ok := r.trailer[k]; ok {
			tr[k] = v
		}
	}
	buf = append(buf[:0], "trailer\n"...)
	buf = appendDict(buf, tr, 0)
	buf = append(buf, "\nstartxref\n"...)
	buf = strconv.AppendInt(buf, xref, 10)
	buf = append(buf, "\n%%EOF\n"...)
	_, _ = cw.Write(buf)
	if cw.err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, cw.err, "writing the file failed")
	}
	if err := bw.Flush(); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "writing the file failed")
	}
	return nil
}

// copyData copies the encoded data of s to w in chunks.
func (r *Reader) copyData(w io.Writer, s *Stream) error {
	if s.Data != nil {
		_, err := w.Write(s.Data)
		return err
	}
	_, err := io.Copy(w, io.NewSectionReader(r.ra, s.Offset, s.Length))
	if err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, "pdfx.WriteFull", err, "reading the file failed")
	}
	return nil
}

// counter counts what it writes and keeps the first error.
type counter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *counter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
