package pdf

import (
	"bytes"
	"context"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// document is the host-side half of a signature that does not involve CMS:
// the incremental update with its placeholders, the ByteRange and its
// digest, and a fingerprint of the original bytes.
type document struct {
	ra          io.ReaderAt
	size        int64
	hash        roamsign.HashAlgorithm
	update      []byte   // the incremental update, /Contents still zeros
	byteRange   [4]int64 // absolute offsets
	contentsOff int64    // offset of the first hex digit in update
	contentsLen int      // reserved hex digits
	digest      []byte   // digest of the ByteRange
	origState   []byte   // CRC-32C of the original bytes, big-endian
	// origHash is the state of the digest (hash) after the original
	// bytes, from which a document time-stamp over the same bytes and
	// more resumes (nil after Resume).
	origHash []byte
	// sigRef is the signature dictionary's object and field its field's
	// name; both are zero after Resume.
	sigRef pdfx.Ref
	field  string
}

// sigParams holds the values of one signature, decided before building.
type sigParams struct {
	name, reason, location, contact string
	when                            time.Time
	certify                         Permission
	field                           string
	app                             *Appearance
	contentsSize                    int
	hash                            roamsign.HashAlgorithm
}

const readBuf = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, readBuf); return &b }}

// copyOriginal streams the first size bytes of ra to dst in fixed-size
// chunks.
func copyOriginal(ctx context.Context, dst io.Writer, ra io.ReaderAt, size int64) error {
	return copySection(ctx, dst, ra, 0, size)
}

// copySection streams the bytes of ra from off to end to dst in
// fixed-size chunks.
func copySection(ctx context.Context, dst io.Writer, ra io.ReaderAt, off, end int64) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	sr := io.NewSectionReader(ra, off, end-off)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(sr, buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crcBytes(c hash.Hash32) []byte { return binary.BigEndian.AppendUint32(nil, c.Sum32()) }

// newDocument opens the file, builds the update and computes the digest.
func newDocument(ctx context.Context, ra io.ReaderAt, size int64, sp sigParams, maxSize int64) (*document, error) {
	const op = "pdf.Prepare"
	if size > maxSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "document of %d bytes exceeds the limit of %d", size, maxSize)
	}
	up, err := buildUpdate(ra, size, sp)
	if err != nil {
		return nil, err
	}
	return placeUpdate(ctx, ra, size, sp.hash, up, nil)
}

// hashedPrefix is the digest state and CRC-32C of the first size bytes of
// a document, hashed before.
type hashedPrefix struct {
	size  int64
	hash  roamsign.HashAlgorithm
	state []byte // encoding.BinaryMarshaler form of the digest
	crc   uint32
}

// prefix returns d's original bytes as a hashedPrefix, or nil when their
// digest state was not kept.
func (d *document) prefix() *hashedPrefix {
	if d.origHash == nil {
		return nil
	}
	return &hashedPrefix{size: d.size, hash: d.hash, state: d.origHash, crc: binary.BigEndian.Uint32(d.origState)}
}

// crcWriter computes a CRC-32C (Castagnoli) from a starting value.
type crcWriter struct{ sum uint32 }

func (c *crcWriter) Write(p []byte) (int, error) {
	c.sum = crc32.Update(c.sum, castagnoli, p)
	return len(p), nil
}

// placeUpdate fills in the update's /ByteRange and computes its digest
// with h while streaming the original bytes. When pre holds the digest
// state of the document's first bytes with h, it resumes from it and
// reads only the rest.
func placeUpdate(ctx context.Context, ra io.ReaderAt, size int64, hash roamsign.HashAlgorithm, up *update, pre *hashedPrefix) (*document, error) {
	const op = "pdf.Prepare"
	upd, brPH, ctPH := up.bytes, up.byteRange, up.contents
	d := &document{ra: ra, size: size, hash: hash, update: upd, contentsLen: ctPH.Width, sigRef: up.sig, field: up.field}
	total := size + int64(len(upd))
	start, end := ctPH.Offset-1, ctPH.Offset+int64(ctPH.Width)+1
	d.byteRange = [4]int64{0, start, end, total - end}
	br := fmt.Appendf(nil, "[0 %d %d %d]", start, end, total-end)
	if len(br) > brPH.Width {
		return nil, roamsign.E(roamsign.ErrInternal, op, "ByteRange placeholder too small")
	}
	copy(upd[brPH.Offset-size:], br)
	d.contentsOff = ctPH.Offset - size

	h := hash.CryptoHash().New()
	crc := &crcWriter{}
	from := int64(0)
	if pre != nil && pre.hash == hash && pre.size <= size {
		if u, ok := h.(encoding.BinaryUnmarshaler); ok && u.UnmarshalBinary(pre.state) == nil {
			crc.sum, from = pre.crc, pre.size
		} else {
			h.Reset()
		}
	}
	if err := copySection(ctx, io.MultiWriter(h, crc), ra, from, size); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "reading the document failed")
	}
	d.origState = binary.BigEndian.AppendUint32(nil, crc.sum)
	if m, ok := h.(encoding.BinaryMarshaler); ok {
		d.origHash, _ = m.MarshalBinary()
	}
	h.Write(upd[:start-size])
	h.Write(upd[end-size:])
	d.digest = h.Sum(nil)
	return d, nil
}

// write embeds der into /Contents and writes the signed document to w. It
// re-reads the original bytes and fails with roamsign.ErrConflict when they
// differ from those prepared; the output is then incomplete and must be
// discarded.
func (d *document) write(ctx context.Context, der []byte, w io.Writer) error {
	const op = "pdf.Complete"
	if len(der) == 0 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "empty signature container")
	}
	if 2*len(der) > d.contentsLen {
		return &ContentsTooSmallError{Need: len(der), Reserved: d.contentsLen / 2}
	}
	// A CRC suffices here: it guards against a document changed by
	// accident between the halves. A deliberate change cannot forge
	// anything, since the signature covers the digest made by Prepare.
	crc := crc32.New(castagnoli)
	if err := copyOriginal(ctx, io.MultiWriter(w, crc), d.ra, d.size); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "copying the document failed")
	}
	if !bytes.Equal(crcBytes(crc), d.origState) {
		return roamsign.E(roamsign.ErrConflict, op, "the document changed between Prepare and Complete; discard the output")
	}
	if err := writeUpdate(w, d.update, d.contentsOff, der); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "writing the signed document failed")
	}
	return nil
}

// writeUpdate writes upd with der hex-encoded at off, in chunks.
func writeUpdate(w io.Writer, upd []byte, off int64, der []byte) error {
	if _, err := w.Write(upd[:off]); err != nil {
		return err
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	hx := *bp
	for rest := der; len(rest) > 0; {
		n := min(len(rest), len(hx)/2)
		hex.Encode(hx, rest[:n])
		if _, err := w.Write(hx[:2*n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	_, err := w.Write(upd[off+int64(2*len(der)):])
	return err
}

// pdfDate formats t as a PDF date string.
func pdfDate(t time.Time) pdfx.String {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	s := t.Format("D:20060102150405") + string(sign) +
		fmt.Sprintf("%02d'%02d'", off/3600, (off%3600)/60)
	return pdfx.String(s)
}

func itoa(n int) string { return strconv.Itoa(n) }
