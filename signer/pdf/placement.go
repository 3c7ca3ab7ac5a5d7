package pdf

import (
	"math"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// maxPageTreeDepth bounds the /Parent chain followed for inherited page
// attributes (findPage walks at most as deep).
const maxPageTreeDepth = 64

// placement says where a page is shown: its visible box in default user
// space (the crop box, within the media box) and how far the page is
// turned clockwise when shown (ISO 32000-2, 7.7.3.3 and 14.11.2).
type placement struct {
	box    [4]float64 // llx, lly, urx, ury
	rotate int        // 0, 90, 180 or 270
}

// pagePlacement reads the page's /MediaBox, /CropBox and /Rotate, each
// inherited from the page tree when the page has none. /Rotate is taken
// modulo 360 (so -90 is 270); a value that is not a multiple of 90, which
// the standard does not allow and viewers show differently, is refused.
func pagePlacement(r *pdfx.Reader, page pdfx.Dict) (placement, error) {
	var pl placement
	media, err := pageBox(r, page, "MediaBox")
	if err != nil {
		return pl, err
	}
	if media == nil {
		// The standard requires a /MediaBox; readers fall back on US Letter.
		media = &[4]float64{0, 0, 612, 792}
	}
	pl.box = *media
	crop, err := pageBox(r, page, "CropBox")
	if err != nil {
		return pl, err
	}
	if crop != nil {
		// The visible region is the crop box clipped to the media box.
		pl.box = [4]float64{max(crop[0], media[0]), max(crop[1], media[1]), min(crop[2], media[2]), min(crop[3], media[3])}
	}
	if pl.box[2] <= pl.box[0] || pl.box[3] <= pl.box[1] {
		return pl, roamsign.E(roamsign.ErrInvalidInput, buildOp, "the page has an empty visible area (/MediaBox, /CropBox)")
	}
	rot, err := inherited(r, page, "Rotate")
	if err != nil {
		return pl, err
	}
	if rot != nil {
		n, ok := pdfx.Int(rot)
		if !ok || n%90 != 0 {
			return pl, roamsign.E(roamsign.ErrInvalidInput, buildOp, "the page's /Rotate is not a multiple of 90; put the visible signature on another page or correct the page")
		}
		pl.rotate = int((n%360 + 360) % 360)
	}
	return pl, nil
}

// pageBox returns the normalised rectangle of an inherited page box, or
// nil when neither the page nor its ancestors have one.
func pageBox(r *pdfx.Reader, page pdfx.Dict, key pdfx.Name) (*[4]float64, error) {
	o, err := inherited(r, page, key)
	if err != nil || o == nil {
		return nil, err
	}
	arr, _ := o.(pdfx.Array)
	var box [4]float64
	for i := range box {
		if len(arr) != 4 {
			break
		}
		v, err := r.Resolve(arr[i])
		if err != nil {
			return nil, err
		}
		n, ok := pdfx.Num(v)
		if !ok || math.IsNaN(n) || math.IsInf(n, 0) {
			break
		}
		box[i] = n
		if i == 3 {
			return &[4]float64{min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])}, nil
		}
	}
	return nil, roamsign.E(roamsign.ErrInvalidInput, buildOp, "the page's /%s is not a rectangle", key)
}

// inherited returns the resolved value of an inheritable page attribute:
// the page's own, else the nearest ancestor's, else nil.
func inherited(r *pdfx.Reader, page pdfx.Dict, key pdfx.Name) (pdfx.Object, error) {
	d := page
	for range maxPageTreeDepth {
		if v, ok := d[key]; ok {
			return r.Resolve(v)
		}
		if d["Parent"] == nil {
			return nil, nil
		}
		parent, err := r.ResolveDict(d["Parent"], "page tree node (/Parent)")
		if err != nil {
			return nil, err
		}
		d = parent
	}
	return nil, roamsign.E(roamsign.ErrInvalidInput, buildOp, "page tree too deep or cyclic")
}

// size returns the width and height of the page as shown.
func (pl placement) size() (w, h float64) {
	w, h = pl.box[2]-pl.box[0], pl.box[3]-pl.box[1]
	if pl.rotate == 90 || pl.rotate == 270 {
		return h, w
	}
	return w, h
}

// contains reports whether a rectangle in shown-page coordinates lies on
// the visible page (a rounding tolerance of a hundredth of a point).
func (pl placement) contains(rect [4]float64) bool {
	const eps = 0.01
	w, h := pl.size()
	return rect[0] >= -eps && rect[1] >= -eps && rect[2] <= w+eps && rect[3] <= h+eps
}

// toUser maps a point of the page as shown (origin at the lower-left
// corner of the visible box after rotation) to default user space.
func (pl placement) toUser(x, y float64) (float64, float64) {
	b := pl.box
	switch pl.rotate {
	case 90:
		return b[2] - y, b[1] + x
	case 180:
		return b[2] - x, b[3] - y
	case 270:
		return b[0] + y, b[3] - x
	}
	return b[0] + x, b[1] + y
}

// userRect maps a rectangle of the page as shown to the annotation /Rect
// in default user space.
func (pl placement) userRect(rect [4]float64) pdfx.Array {
	x0, y0 := pl.toUser(rect[0], rect[1])
	x1, y1 := pl.toUser(rect[2], rect[3])
	return pdfx.Array{round3(min(x0, x1)), round3(min(y0, y1)), round3(max(x0, x1)), round3(max(y0, y1))}
}

// matrix is the appearance stream's /Matrix for a form of width w and
// height h (as shown): it turns the form counter-clockwise by the page's
// rotation, so that the viewer, turning the page clockwise, shows it
// upright, and moves it back to the origin, so that its transformed
// bounding box is the /Rect's size at (0, 0) (ISO 32000-2, 12.5.5).
func (pl placement) matrix(w, h float64) pdfx.Array {
	w, h = round3(w), round3(h)
	switch pl.rotate {
	case 90:
		return pdfx.Array{int64(0), int64(1), int64(-1), int64(0), h, int64(0)}
	case 180:
		return pdfx.Array{int64(-1), int64(0), int64(0), int64(-1), w, h}
	case 270:
		return pdfx.Array{int64(0), int64(-1), int64(1), int64(0), int64(0), w}
	}
	return pdfx.Array{int64(1), int64(0), int64(0), int64(1), int64(0), int64(0)}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
