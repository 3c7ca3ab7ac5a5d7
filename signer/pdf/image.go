package pdf

import (
	"bytes"
	"compress/zlib"
	"image"
	"image/jpeg"
	"image/png"
	"sync"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// MaxImageSize bounds Appearance.Image, encoded.
const MaxImageSize = 4 << 20

// maxImagePixels bounds the decoded size of a PNG appearance image.
const maxImagePixels = 16 << 20

// imageXObject turns a JPEG (embedded as it is) or PNG (decoded, RGB with
// an alpha soft mask when it has transparency) into an image XObject. It
// also returns the pixel size.
func imageXObject(u *pdfx.Update, data []byte) (pdfx.Ref, int, int, error) {
	const op = "pdf.Prepare"
	if len(data) > MaxImageSize {
		return pdfx.Ref{}, 0, 0, roamsign.E(roamsign.ErrTooLarge, op, "appearance image exceeds %d bytes", MaxImageSize)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return pdfx.Ref{}, 0, 0, roamsign.E(roamsign.ErrInvalidInput, op, "appearance image must be a JPEG or PNG file")
	}
	if cfg.Width*cfg.Height > maxImagePixels {
		return pdfx.Ref{}, 0, 0, roamsign.E(roamsign.ErrTooLarge, op, "appearance image has more than %d pixels", maxImagePixels)
	}
	d := pdfx.Dict{
		"Type": pdfx.Name("XObject"), "Subtype": pdfx.Name("Image"),
		"Width": int64(cfg.Width), "Height": int64(cfg.Height), "BitsPerComponent": int64(8),
	}
	switch format {
	case "jpeg":
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return pdfx.Ref{}, 0, 0, roamsign.E(roamsign.ErrInvalidInput, op, "appearance image is a damaged JPEG file")
		}
		cs := pdfx.Name("DeviceRGB")
		switch img.(type) {
		case *image.Gray:
			cs = "DeviceGray"
		case *image.CMYK:
			cs = "DeviceCMYK"
		}
		d["ColorSpace"] = cs
		d["Filter"] = pdfx.Name("DCTDecode")
		return u.Add(&pdfx.Stream{Dict: d, Data: data}), cfg.Width, cfg.Height, nil
	case "png":
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return pdfx.Ref{}, 0, 0, roamsign.E(roamsign.ErrInvalidInput, op, "appearance image is a damaged PNG file")
		}
		b := img.Bounds()
		rgb := make([]byte, 0, b.Dx()*b.Dy()*3)
		alpha := make([]byte, 0, b.Dx()*b.Dy())
		opaque := true
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, a := img.At(x, y).RGBA()
				if a != 0xffff {
					opaque = false
				}
				// Un-premultiply for the colour samples.
				if a != 0 && a != 0xffff {
					r, g, bl = r*0xffff/a, g*0xffff/a, bl*0xffff/a
				}
				rgb = append(rgb, byte(r>>8), byte(g>>8), byte(bl>>8))
				alpha = append(alpha, byte(a>>8))
			}
		}
		d["ColorSpace"] = pdfx.Name("DeviceRGB")
		d["Filter"] = pdfx.Name("FlateDecode")
		if !opaque {
			d["SMask"] = u.Add(&pdfx.Stream{Dict: pdfx.Dict{
				"Type": pdfx.Name("XObject"), "Subtype": pdfx.Name("Image"),
				"Width": int64(cfg.Width), "Height": int64(cfg.Height), "BitsPerComponent": int64(8),
				"ColorSpace": pdfx.Name("DeviceGray"), "Filter": pdfx.Name("FlateDecode"),
			}, Data: deflate(alpha)})
		}
		return u.Add(&pdfx.Stream{Dict: d, Data: deflate(rgb)}), cfg.Width, cfg.Height, nil
	}
	return pdfx.Ref{}, 0, 0, roamsign.E(roamsign.ErrInvalidInput, op, "appearance image must be a JPEG or PNG file")
}

// zlibWriters keeps compressors between appearances: each holds some
// hundreds of kilobytes of tables, which dominated the cost of an
// appearance (font program, CIDSet, ToUnicode, images) when made anew.
var zlibWriters = sync.Pool{New: func() any { return zlib.NewWriter(nil) }}

// deflate compresses b with zlib (/FlateDecode).
func deflate(b []byte) []byte {
	var out bytes.Buffer
	zw := zlibWriters.Get().(*zlib.Writer)
	zw.Reset(&out)
	_, _ = zw.Write(b)
	_ = zw.Close()
	zw.Reset(nil)
	zlibWriters.Put(zw)
	return out.Bytes()
}
