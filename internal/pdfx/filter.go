package pdfx

import (
	"bytes"
	"compress/zlib"
	"io"

	"github.com/roamsign/roamsign"
)

// decode applies the stream's filters. Only FlateDecode (optionally with a
// PNG predictor) is supported; that is what cross-reference and object
// streams use in practice.
func decode(raw []byte, d Dict, max int64) ([]byte, error) {
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
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, invalid("bad compressed stream")
		}
		out, err := io.ReadAll(io.LimitReader(zr, max+1))
		if err != nil && len(out) == 0 {
			return nil, invalid("bad compressed stream")
		}
		if int64(len(out)) > max {
			return nil, roamsign.E(roamsign.ErrTooLarge, op, "decoded stream exceeds %d bytes", max)
		}
		data = out
		var p Dict
		if i < len(parms) {
			p, _ = parms[i].(Dict)
		}
		if data, err = unpredict(data, p); err != nil {
			return nil, err
		}
	}
	return data, nil
}

func unpredict(data []byte, p Dict) ([]byte, error) {
	pred, _ := Int(p["Predictor"])
	if pred <= 1 {
		return data, nil
	}
	if pred < 10 {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "TIFF predictor is not supported")
	}
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
		return nil, invalid("bad predictor parameters")
	}
	bpp := int((colors*bpc + 7) / 8)
	rowLen := int((cols*colors*bpc + 7) / 8)
	out := make([]byte, 0, len(data))
	prev := make([]byte, rowLen)
	for len(data) > 0 {
		if len(data) < rowLen+1 {
			return nil, invalid("truncated predicted stream")
		}
		typ, row := data[0], data[1:rowLen+1]
		data = data[rowLen+1:]
		cur := make([]byte, rowLen)
		for i := 0; i < rowLen; i++ {
			var a, c byte
			b := prev[i]
			if i >= bpp {
				a, c = cur[i-bpp], prev[i-bpp]
			}
			x := row[i]
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
		out = append(out, cur...)
		prev = cur
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
