package pdf

import (
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/ttf"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Limits of the appearance text: what Appearance.Lines (or the default
// lines made from the signer's name, reason and location) may hold.
const (
	MaxAppearanceLines = 16  // lines
	MaxAppearanceLine  = 200 // characters in one line
)

// GlyphError is the cause of a refusal of appearance text with a character
// the appearance font (Appearance.Font, else Go Regular: Latin, Greek and
// Cyrillic scripts and common symbols) has no glyph for, or a control
// character. Match it with
// errors.As; the error is also roamsign.ErrInvalidInput.
type GlyphError struct {
	Rune rune // the character
	Line int  // its line, from 1
}

func (e *GlyphError) Error() string {
	return fmt.Sprintf("the appearance font cannot draw %U %q (line %d); set Appearance.Lines to text without it", e.Rune, e.Rune, e.Line)
}

// textFont is a font of appearance text: Go Regular, read once, or the
// caller's Appearance.Font. Its fonts are safe for concurrent use with a
// Buffer per caller.
type textFont struct {
	sf   *sfnt.Font
	tt   *ttf.Font
	upem fixed.Int26_6
	name string // PostScript name, the part of /BaseFont after the tag
}

var loadTextFont = sync.OnceValues(func() (*textFont, error) { return parseTextFont(goregular.TTF) })

// appearanceFont returns the font for a's text: the caller's, read and
// checked (it is untrusted input), else Go Regular.
func appearanceFont(a *Appearance) (*textFont, error) {
	if a.Font == nil {
		tf, err := loadTextFont()
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInternal, buildOp, err, "appearance font")
		}
		return tf, nil
	}
	if len(a.Font) > ttf.MaxFontSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, buildOp, "Appearance.Font exceeds %d bytes", ttf.MaxFontSize)
	}
	tf, err := parseTextFont(a.Font)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, buildOp, err, "Appearance.Font is not a TrueType font (glyf outlines) that can be embedded")
	}
	return tf, nil
}

// parseTextFont reads a TrueType font with both readers: ttf (tables for
// the subset) first, then sfnt (characters, advances, metrics).
func parseTextFont(data []byte) (*textFont, error) {
	tt, err := ttf.Parse(data)
	if err != nil {
		return nil, err
	}
	sf, err := sfnt.Parse(data)
	if err != nil {
		return nil, err
	}
	upem := int(sf.UnitsPerEm())
	if upem < 16 || upem > 16384 {
		return nil, fmt.Errorf("units per em %d outside 16 to 16384", upem)
	}
	var buf sfnt.Buffer
	ps, _ := sf.Name(&buf, sfnt.NameIDPostScript)
	name := strings.Map(func(r rune) rune {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			return r
		}
		return -1
	}, ps)
	if len(name) > 48 {
		name = name[:48]
	}
	if name == "" {
		name = "Font"
	}
	return &textFont{sf: sf, tt: tt, upem: fixed.I(upem), name: name}, nil
}

// shapedText is appearance text mapped to the font's glyphs: one glyph
// list per line, each line's width in thousandths of the font size, and
// the character each glyph was first used for (for /ToUnicode).
type shapedText struct {
	lines  [][]uint16
	widths []float64
	chars  map[uint16]rune
}

// shape maps lines to glyphs, refusing text beyond the limits and
// characters the font lacks.
func (f *textFont) shape(lines []string) (*shapedText, error) {
	if len(lines) > MaxAppearanceLines {
		return nil, roamsign.E(roamsign.ErrInvalidInput, buildOp, "the appearance has more than %d lines", MaxAppearanceLines)
	}
	var buf sfnt.Buffer
	st := &shapedText{chars: map[uint16]rune{}}
	for i, l := range lines {
		if utf8.RuneCountInString(l) > MaxAppearanceLine {
			return nil, roamsign.E(roamsign.ErrInvalidInput, buildOp, "appearance line %d has more than %d characters", i+1, MaxAppearanceLine)
		}
		if !utf8.ValidString(l) {
			return nil, roamsign.E(roamsign.ErrInvalidInput, buildOp, "appearance line %d is not UTF-8 text", i+1)
		}
		var gs []uint16
		width := 0.0
		for _, r := range l {
			g, err := f.sf.GlyphIndex(&buf, r)
			if err != nil || g == 0 || unicode.IsControl(r) {
				return nil, &roamsign.Error{Kind: roamsign.ErrInvalidInput, Op: buildOp, Msg: "appearance text", Err: &GlyphError{Rune: r, Line: i + 1}}
			}
			gs = append(gs, uint16(g))
			if _, ok := st.chars[uint16(g)]; !ok {
				st.chars[uint16(g)] = r
			}
			w, err := f.width(&buf, uint16(g))
			if err != nil {
				return nil, err
			}
			width += w
		}
		st.lines = append(st.lines, gs)
		st.widths = append(st.widths, width)
	}
	return st, nil
}

// width returns a glyph's advance in thousandths of the font size.
func (f *textFont) width(buf *sfnt.Buffer, g uint16) (float64, error) {
	adv, err := f.sf.GlyphAdvance(buf, sfnt.GlyphIndex(g), f.upem, font.HintingNone)
	if err != nil {
		return 0, roamsign.Wrap(roamsign.ErrInvalidInput, buildOp, err, "appearance font")
	}
	return f.scale(adv), nil
}

// scale turns font units (26.6 at a size of one em) into thousandths of
// the font size, rounded as /Widths are.
func (f *textFont) scale(v fixed.Int26_6) float64 {
	return math.Round(float64(v) * 1000 / float64(f.upem))
}

// embedded is a font subset added to the update: the Type0 font's
// reference and the CID of each glyph used.
type embedded struct {
	ref  pdfx.Ref
	cids map[uint16]uint16
}

// encode returns a line as a hex string of two-byte CIDs (Identity-H).
func (e *embedded) encode(glyphs []uint16) string {
	var b strings.Builder
	b.WriteByte('<')
	for _, g := range glyphs {
		fmt.Fprintf(&b, "%04X", e.cids[g])
	}
	b.WriteByte('>')
	return b.String()
}

// embed adds the subset of the font that draws st to the update: a Type0
// font with Identity-H encoding over a CIDFontType2 whose CIDs are the
// subset's glyph numbers, its descriptor with the font program
// (/FontFile2), a /CIDSet, /W widths and a /ToUnicode CMap. The subset's
// tag is derived from the glyphs, so the same text gives the same bytes.
func (f *textFont) embed(u *pdfx.Update, st *shapedText) (*embedded, error) {
	var used []uint16
	for g := range st.chars {
		used = append(used, g)
	}
	slices.Sort(used)
	program, cids, err := f.tt.Subset(used)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, buildOp, err, "appearance font")
	}
	name := pdfx.Name(subsetTag(used) + "+" + f.name)
	desc, err := f.descriptor(u, name, program, len(cids))
	if err != nil {
		return nil, err
	}
	widths := make(pdfx.Array, len(cids))
	var buf sfnt.Buffer
	for g, cid := range cids {
		w, err := f.width(&buf, g)
		if err != nil {
			return nil, err
		}
		widths[cid] = w
	}
	cidFont := u.Add(pdfx.Dict{
		"Type": pdfx.Name("Font"), "Subtype": pdfx.Name("CIDFontType2"), "BaseFont": name,
		"CIDSystemInfo":  pdfx.Dict{"Registry": pdfx.String("Adobe"), "Ordering": pdfx.String("Identity"), "Supplement": int64(0)},
		"FontDescriptor": desc, "CIDToGIDMap": pdfx.Name("Identity"),
		"DW": int64(1000), "W": pdfx.Array{int64(0), widths},
	})
	ref := u.Add(pdfx.Dict{
		"Type": pdfx.Name("Font"), "Subtype": pdfx.Name("Type0"), "BaseFont": name,
		"Encoding": pdfx.Name("Identity-H"), "DescendantFonts": pdfx.Array{cidFont},
		"ToUnicode": u.Add(&pdfx.Stream{Dict: pdfx.Dict{"Filter": pdfx.Name("FlateDecode")}, Data: deflate(toUnicode(st.chars, cids))}),
	})
	return &embedded{ref: ref, cids: cids}, nil
}

// descriptor adds the font descriptor with the font program and a CIDSet
// naming every CID of the subset (PDF/A-1 requires it for CID subsets).
func (f *textFont) descriptor(u *pdfx.Update, name pdfx.Name, program []byte, n int) (pdfx.Ref, error) {
	var buf sfnt.Buffer
	m, err := f.sf.Metrics(&buf, f.upem, font.HintingNone)
	if err != nil {
		return pdfx.Ref{}, roamsign.Wrap(roamsign.ErrInvalidInput, buildOp, err, "appearance font")
	}
	bb, err := f.sf.Bounds(&buf, f.upem, font.HintingNone)
	if err != nil {
		return pdfx.Ref{}, roamsign.Wrap(roamsign.ErrInvalidInput, buildOp, err, "appearance font")
	}
	cidSet := make([]byte, (n+7)/8)
	for i := range n {
		cidSet[i/8] |= 0x80 >> (i % 8)
	}
	return u.Add(pdfx.Dict{
		"Type": pdfx.Name("FontDescriptor"), "FontName": name,
		"Flags":       int64(32), // nonsymbolic
		"FontBBox":    pdfx.Array{f.scale(bb.Min.X), -f.scale(bb.Max.Y), f.scale(bb.Max.X), -f.scale(bb.Min.Y)},
		"ItalicAngle": int64(0), "Ascent": f.scale(m.Ascent), "Descent": -f.scale(m.Descent),
		"CapHeight": f.scale(m.CapHeight), "StemV": int64(80),
		"FontFile2": u.Add(&pdfx.Stream{Dict: pdfx.Dict{"Length1": int64(len(program)), "Filter": pdfx.Name("FlateDecode")}, Data: deflate(program)}),
		"CIDSet":    u.Add(&pdfx.Stream{Dict: pdfx.Dict{"Filter": pdfx.Name("FlateDecode")}, Data: deflate(cidSet)}),
	}), nil
}

// subsetTag returns six uppercase letters derived from the glyph list.
func subsetTag(glyphs []uint16) string {
	h := sha256.New()
	for _, g := range glyphs {
		h.Write([]byte{byte(g >> 8), byte(g)})
	}
	sum := h.Sum(nil)
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + sum[i]%26
	}
	return string(tag)
}

// toUnicode writes the CMap that maps each CID back to its character, so
// that text extraction and search find the appearance text.
func toUnicode(chars map[uint16]rune, cids map[uint16]uint16) []byte {
	type pair struct {
		cid uint16
		r   rune
	}
	var pairs []pair
	for g, r := range chars {
		pairs = append(pairs, pair{cids[g], r})
	}
	slices.SortFunc(pairs, func(a, b pair) int { return int(a.cid) - int(b.cid) })
	var b strings.Builder
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	for len(pairs) > 0 {
		n := min(len(pairs), 100) // at most 100 entries per block
		fmt.Fprintf(&b, "%d beginbfchar\n", n)
		for _, p := range pairs[:n] {
			fmt.Fprintf(&b, "<%04X> <", p.cid)
			for _, u := range utf16.Encode([]rune{p.r}) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
		pairs = pairs[n:]
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return []byte(b.String())
}
