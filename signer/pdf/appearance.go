package pdf

import (
	"fmt"
	"strings"

	"github.com/roamsign/roamsign/internal/pdfx"
)

// widget adds the widget annotation merged with the signature field, and
// its appearance: the visible box, or an empty form for an invisible
// signature.
func (b *builder) widget(name string) error {
	rect := pdfx.Array{int64(0), int64(0), int64(0), int64(0)}
	ap := &pdfx.Stream{Dict: pdfx.Dict{"Type": pdfx.Name("XObject"), "Subtype": pdfx.Name("Form"),
		"BBox": pdfx.Array{int64(0), int64(0), int64(0), int64(0)}}, Data: []byte{}}
	if a := b.sp.app; a != nil {
		rect = pdfx.Array{a.Rect[0], a.Rect[1], a.Rect[2], a.Rect[3]}
		var err error
		if ap, err = appearanceStream(b.u, a, b.sp); err != nil {
			return err
		}
	}
	b.u.Put(b.apRef, ap)
	b.u.Put(b.widgetRef, pdfx.Dict{
		"Type":    pdfx.Name("Annot"),
		"Subtype": pdfx.Name("Widget"),
		"FT":      pdfx.Name("Sig"),
		"T":       pdfx.TextString(name),
		"V":       b.sigRef,
		"F":       int64(132), // Print | Locked
		"Rect":    rect,
		"P":       b.pageRef,
		"AP":      pdfx.Dict{"N": b.apRef},
	})
	return nil
}

// appearanceStream draws a bordered box with the signature text.
func appearanceStream(u *pdfx.Update, a *Appearance, sp sigParams) (*pdfx.Stream, error) {
	w, h := a.Rect[2]-a.Rect[0], a.Rect[3]-a.Rect[1]
	if w < 0 {
		w = -w
	}
	if h < 0 {
		h = -h
	}
	lines := a.Lines
	if len(lines) == 0 {
		lines = append(lines, "Digitally signed by "+sp.name)
		lines = append(lines, "Date: "+sp.when.Format("2006-01-02 15:04:05 -07:00"))
		if sp.reason != "" {
			lines = append(lines, "Reason: "+sp.reason)
		}
		if sp.location != "" {
			lines = append(lines, "Location: "+sp.location)
		}
	}
	fs := a.FontSize
	if fs <= 0 {
		fs = (h - 4) / (float64(len(lines)) * 1.2)
		if fs > 10 {
			fs = 10
		}
		if fs < 1 {
			fs = 1
		}
	}
	var b strings.Builder
	res := pdfx.Dict{"Font": pdfx.Dict{"F1": pdfx.Dict{
		"Type": pdfx.Name("Font"), "Subtype": pdfx.Name("Type1"),
		"BaseFont": pdfx.Name("Helvetica"), "Encoding": pdfx.Name("WinAnsiEncoding"),
	}}}
	fmt.Fprintf(&b, "q 0.4 0.4 0.4 RG 0.5 w 0.25 0.25 %.2f %.2f re S Q\n", w-0.5, h-0.5)
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
	fmt.Fprintf(&b, "BT 0 g /F1 %.2f Tf %.2f TL %.2f %.2f Td\n", fs, fs*1.2, textX, h-2-fs)
	for i, l := range lines {
		if i > 0 {
			b.WriteString("T* ")
		}
		b.Write(pdfx.AppendObject(nil, pdfx.String(winAnsi(l)), 0))
		b.WriteString(" Tj\n")
	}
	b.WriteString("ET\n")
	return &pdfx.Stream{
		Dict: pdfx.Dict{
			"Type":      pdfx.Name("XObject"),
			"Subtype":   pdfx.Name("Form"),
			"BBox":      pdfx.Array{int64(0), int64(0), w, h},
			"Resources": res,
		},
		Data: []byte(b.String()),
	}, nil
}

// winAnsi maps s to WinAnsiEncoding bytes, replacing what it cannot encode.
func winAnsi(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 0x20 && r < 0x7f, r >= 0xa0 && r <= 0xff:
			out = append(out, byte(r))
		default:
			out = append(out, '?')
		}
	}
	return out
}
