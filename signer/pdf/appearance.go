package pdf

import (
	"fmt"
	"math"
	"strings"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// maxFontSize bounds Appearance.FontSize.
const maxFontSize = 500

// widget adds the widget annotation merged with the signature field, and
// its appearance: the visible box, or an empty form for an invisible
// signature. A visible widget's /Rect is the caller's rectangle, given on
// the page as shown, mapped to default user space; its appearance carries
// the /Matrix that shows it upright on a rotated page.
func (b *builder) widget(name string) error {
	rect := pdfx.Array{int64(0), int64(0), int64(0), int64(0)}
	ap := &pdfx.Stream{Dict: pdfx.Dict{"Type": pdfx.Name("XObject"), "Subtype": pdfx.Name("Form"),
		"BBox": pdfx.Array{int64(0), int64(0), int64(0), int64(0)}}, Data: []byte{}}
	w := pdfx.Dict{
		"Type":    pdfx.Name("Annot"),
		"Subtype": pdfx.Name("Widget"),
		"FT":      pdfx.Name("Sig"),
		"T":       pdfx.TextString(name),
		"V":       b.sigRef,
		"F":       int64(132), // Print | Locked
		"P":       b.pageRef,
		"AP":      pdfx.Dict{"N": b.apRef},
	}
	if a := b.sp.app; a != nil {
		pl, err := pagePlacement(b.r, b.page)
		if err != nil {
			return err
		}
		if !pl.contains(a.Rect) {
			pw, ph := pl.size()
			return roamsign.E(roamsign.ErrInvalidInput, buildOp, "the appearance rectangle is not on the visible page (%g x %g points as shown, origin at its lower-left corner)", round3(pw), round3(ph))
		}
		rect = pl.userRect(a.Rect)
		if ap, err = appearanceStream(b.u, a, b.sp, pl); err != nil {
			return err
		}
		if pl.rotate != 0 {
			// For readers that rebuild appearances: the widget is turned
			// with the page (the /Matrix above does it for this one).
			w["MK"] = pdfx.Dict{"R": int64(pl.rotate)}
		}
	}
	w["Rect"] = rect
	b.u.Put(b.apRef, ap)
	b.u.Put(b.widgetRef, w)
	return nil
}

// appearanceLines returns the caller's lines, or the default ones: signer,
// date, reason and location.
func appearanceLines(a *Appearance, sp sigParams) []string {
	if len(a.Lines) > 0 {
		return a.Lines
	}
	lines := []string{"Digitally signed by " + sp.name, "Date: " + sp.when.Format("2006-01-02 15:04:05 -07:00")}
	if sp.reason != "" {
		lines = append(lines, "Reason: "+sp.reason)
	}
	if sp.location != "" {
		lines = append(lines, "Location: "+sp.location)
	}
	return lines
}

// appearanceStream draws a bordered box with the signature text, in the
// embedded subset of the appearance font, and the optional image, upright
// on the page as shown.
func appearanceStream(u *pdfx.Update, a *Appearance, sp sigParams, pl placement) (*pdfx.Stream, error) {
	w, h := a.Rect[2]-a.Rect[0], a.Rect[3]-a.Rect[1]
	if a.FontSize < 0 || a.FontSize > maxFontSize || math.IsNaN(a.FontSize) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, buildOp, "appearance font size must be between 0 (fitted) and %d points", maxFontSize)
	}
	tf, err := appearanceFont(a)
	if err != nil {
		return nil, err
	}
	st, err := tf.shape(appearanceLines(a, sp))
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	res := pdfx.Dict{}
	// Grey in DeviceGray, which PDF/A allows whatever the output intent.
	fmt.Fprintf(&b, "q 0.4 G 0.5 w 0.25 0.25 %.2f %.2f re S Q\n", w-0.5, h-0.5)
	textX := 2.0
	if len(a.Image) > 0 {
		img, iw, ih, err := imageXObject(u, a.Image)
		if err != nil {
			return nil, err
		}
		dh := h - 4
		dw := dh * float64(iw) / float64(ih)
		if dw > w/2 {
			dw = w / 2
			dh = dw * float64(ih) / float64(iw)
		}
		res["XObject"] = pdfx.Dict{"Im1": img}
		fmt.Fprintf(&b, "q %.2f 0 0 %.2f 2 %.2f cm /Im1 Do Q\n", dw, dh, (h-dh)/2)
		textX = dw + 6
	}
	if len(st.chars) > 0 {
		font, err := tf.embed(u, st)
		if err != nil {
			return nil, err
		}
		res["Font"] = pdfx.Dict{"F1": font.ref}
		fs := fontSize(a.FontSize, st, w-textX-2, h)
		fmt.Fprintf(&b, "BT 0 g /F1 %.2f Tf %.2f TL %.2f %.2f Td\n", fs, fs*1.2, textX, h-2-fs)
		for i, l := range st.lines {
			if i > 0 {
				b.WriteString("T* ")
			}
			b.WriteString(font.encode(l))
			b.WriteString(" Tj\n")
		}
		b.WriteString("ET\n")
	}
	return &pdfx.Stream{
		Dict: pdfx.Dict{
			"Type":      pdfx.Name("XObject"),
			"Subtype":   pdfx.Name("Form"),
			"BBox":      pdfx.Array{int64(0), int64(0), round3(w), round3(h)},
			"Matrix":    pl.matrix(w, h),
			"Resources": res,
		},
		Data: []byte(b.String()),
	}, nil
}

// fontSize returns the caller's font size, or one that fits the lines in
// a box of width w and height h: at most 10 points, at least 1.
func fontSize(asked float64, st *shapedText, w, h float64) float64 {
	if asked > 0 {
		return asked
	}
	fs := min(10, (h-4)/(float64(len(st.lines))*1.2))
	for _, lw := range st.widths {
		if lw > 0 {
			fs = min(fs, w*1000/lw)
		}
	}
	return max(fs, 1)
}
