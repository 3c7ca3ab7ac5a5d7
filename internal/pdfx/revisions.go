package pdfx

import (
	"bytes"
	"context"
	"io"

	"github.com/roamsign/roamsign"
)

// EOFMarkers scans the file and returns, for every "%%EOF" marker, the
// offset just past it and its end-of-line (CR, LF or CRLF). Each offset is
// where a revision ends; a signature's ByteRange should end at one of them.
// The scan streams the file in fixed-size chunks; at most max markers are
// returned (roamsign.ErrTooLarge beyond).
func EOFMarkers(ctx context.Context, ra io.ReaderAt, size int64, max int) ([]int64, error) {
	const chunk = 64 << 10
	const marker = "%%EOF"
	var out []int64
	buf := make([]byte, chunk+len(marker)+2)
	for off := int64(0); off < size; off += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := int64(len(buf))
		if off+n > size {
			n = size - off
		}
		b := buf[:n]
		if _, err := ra.ReadAt(b, off); err != nil && err != io.EOF {
			return nil, roamsign.Wrap(roamsign.ErrUnavailable, "pdfx.EOFMarkers", err, "read failed")
		}
		for i := 0; ; {
			j := bytes.Index(b[i:], []byte(marker))
			if j < 0 {
				break
			}
			p := i + j
			i = p + 1
			if p >= chunk { // found again by the next chunk
				break
			}
			end := p + len(marker)
			if end < len(b) && b[end] == '\r' {
				end++
			}
			if end < len(b) && b[end] == '\n' {
				end++
			}
			if len(out) >= max {
				return nil, roamsign.E(roamsign.ErrTooLarge, "pdfx.EOFMarkers", "more than %d %%%%EOF markers", max)
			}
			out = append(out, off+int64(end))
		}
	}
	return out, nil
}

// ParseObject parses one direct object from data (for example a dictionary
// read from a known offset), charging lim.Budget (a new budget of
// [DefaultBudget] of len(data) when nil).
func ParseObject(data []byte, lim Limits) (Object, error) {
	lim = lim.withDefaults()
	b := lim.Budget
	if b == nil {
		b = NewBudget(DefaultBudget(int64(len(data))))
	}
	p := &parser{data: data, atEOF: true, maxDepth: lim.MaxDepth, allow: b.remaining()}
	o, err := p.object(0)
	if serr := b.Spend(p.cost + int64(p.pos)); serr != nil {
		return nil, serr
	}
	return o, wrapSyntax(err)
}
