package pdfx

import (
	"bytes"
	"compress/zlib"
	"io"

	"github.com/roamsign/roamsign"
)

// decode applies the stream's filters, charging what it allocates to the
// budget. Only FlateDecode (optionally with a PNG predictor) is supported;
// that is what cross-reference and object streams use in practice. When
// want ≥ 0, decoding stops once want bytes are out: the caller needs no
// more (a bomb's tail is never inflated).
func (r *Reader) decode(raw []byte, d Dict, want int64) ([]byte, error) {
	var filters Array
	var parms Array
	switch f := d["Filter"].(type) {
	case nil:
		return raw, nil
	case Name:
		filters = Array{f}
		parms = Array{d["DecodeParms"]}
	case Array:
		filters = f
		if pa, ok := d["DecodeParms"].(Array); ok {
			parms = pa
		}
	default:
		return nil, invalid("bad stream /Filter")
	}
	data := raw
	for i, f := range filters {
		if f != Name("FlateDecode") && f != Name("Fl") {
			return nil, roamsign.E(roamsign.ErrUnsupported, op, "stream filter %v is not supported here", f)
		}
		var p Dict
		if i < len(parms) {
			p, _ = parms[i].(Dict)
		}
		limit := int64(-1)
		if want >= 0 && i == len(filters)-1 {
			limit = predictedInput(want, p)
		}
		out, err := r.inflate(data, limit)
		if err != nil {
			return nil, err
		}
		if data, err = r.unpredict(out, p); err != nil {
			return nil, err
		}
	}
	return data, nil
}

// predictedInput returns the decoded bytes a PNG predictor needs to yield
// want bytes (a row tag byte per row).
func predictedInput(want int64, p Dict) int64 {
	pred, _ := Int(p["Predictor"])
	if pred < 10 {
		return want
	}
	row, err := predictorRow(p)
	if err != nil {
		return -1
	}
	rows := (want + int64(row.len) - 1) / int64(row.len)
	return rows * int64(row.len+1)
}

// inflate decompresses src with the reader's zlib reader, up to
// Limits.MaxStreamBytes, stopping after want bytes when want ≥ 0.
func (r *Reader) inflate(src []byte, want int64) ([]byte, error) {
	if err := r.resetZlib(src); err != nil {
		return nil, err
	}
	limit := r.lim.MaxStreamBytes
	if want >= 0 {
		limit = min(limit, want)
	}
	out := make([]byte, 0)
	for want < 0 || int64(len(out)) < want {
		if len(out) == cap(out) {
			if int64(len(out)) > r.lim.MaxStreamBytes {
				return nil, tooLarge("decoded stream exceeds %d bytes", r.lim.MaxStreamBytes)
			}
			c := min(max(2*int64(cap(out)), 4*int64(len(src)), 4096), limit+1)
			if err := r.b.Spend(c); err != nil {
				return nil, err
			}
			grown := make([]byte, len(out), c)
			copy(grown, out)
			out = grown
		}
		n, err := r.zr.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			if len(out) == 0 {
				return nil, invalid("bad compressed stream")
			}
			break // keep what a damaged stream yielded, as viewers do
		}
	}
	if int64(len(out)) > r.lim.MaxStreamBytes {
		return nil, tooLarge("decoded stream exceeds %d bytes", r.lim.MaxStreamBytes)
	}
	if want >= 0 && int64(len(out)) > want {
		out = out[:want]
	}
	return out, nil
}

// resetZlib points the reader's zlib reader at src, making it once.
func (r *Reader) resetZlib(src []byte) error {
	br := bytes.NewReader(src)
	if r.zr != nil {
		if err := r.zr.(zlib.Resetter).Reset(br, nil); err != nil {
			return invalid("bad compressed stream")
		}
		return nil
	}
	if err := r.b.Spend(costZlib); err != nil {
		return err
	}
	zr, err := zlib.NewReader(br)
	if err != nil {
		return invalid("bad compressed stream")
	}
	r.zr = zr
	return nil
}

// pngRow is the layout of a PNG predictor's rows.
type pngRow struct{ len, bpp int }

func predictorRow(p Dict) (pngRow, error) {
	cols := int64(1)
	if c, ok := Int(p["Columns"]); ok {
		cols = c
	}
	colors := int64(1)
	if c, ok := Int(p["Colors"]); ok {
		colors = c
	}
	bpc := int64(8)
	if c, ok := Int(p["BitsPerComponent"]); ok {
		bpc = c
	}
	if cols < 1 || cols > 1<<20 || colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) {
		return pngRow{}, invalid("bad predictor parameters")
	}
	return pngRow{len: int((cols*colors*bpc + 7) / 8), bpp: int((colors*bpc + 7) / 8)}, nil
}

// unpredict reverses a PNG predictor, in one charged allocation.
func (r *Reader) unpredict(data []byte, p Dict) ([]byte, error) {
	pred, _ := Int(p["Predictor"])
	if pred <= 1 {
		return data, nil
	}
	if pred < 10 {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "TIFF predictor is not supported")
	}
	row, err := predictorRow(p)
	if err != nil {
		return nil, err
	}
	rowLen, bpp := row.len, row.bpp
	rows := len(data) / (rowLen + 1)
	if len(data)%(rowLen+1) != 0 {
		return nil, invalid("truncated predicted stream")
	}
	if err := r.b.Spend(int64(rows * rowLen)); err != nil {
		return nil, err
	}
	out := make([]byte, rows*rowLen)
	zero := make([]byte, rowLen)
	for k := 0; k < rows; k++ {
		typ, in := data[k*(rowLen+1)], data[k*(rowLen+1)+1:(k+1)*(rowLen+1)]
		cur := out[k*rowLen : (k+1)*rowLen]
		prev := zero
		if k > 0 {
			prev = out[(k-1)*rowLen : k*rowLen]
		}
		for i := 0; i < rowLen; i++ {
			var a, c byte
			b := prev[i]
			if i >= bpp {
				a, c = cur[i-bpp], prev[i-bpp]
			}
			x := in[i]
			switch typ {
			case 0:
			case 1:
				x += a
			case 2:
				x += b
			case 3:
				x += byte((int(a) + int(b)) / 2)
			case 4:
				x += paeth(a, b, c)
			default:
				return nil, invalid("bad PNG predictor type %d", typ)
			}
			cur[i] = x
		}
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
