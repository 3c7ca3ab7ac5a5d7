package ttf

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// glyphsOf maps the runes of s to glyph numbers of f.
func glyphsOf(t testing.TB, f *sfnt.Font, s string) []uint16 {
	t.Helper()
	var buf sfnt.Buffer
	var out []uint16
	for _, r := range s {
		g, err := f.GlyphIndex(&buf, r)
		require.NoError(t, err)
		require.NotZero(t, g, "no glyph for %q", r)
		out = append(out, uint16(g))
	}
	return out
}

// TestSubsetGoRegular subsets Go Regular and checks with an independent
// reader (x/image's sfnt) that every kept glyph has the original outline
// and advance under its new number, that composite glyphs brought their
// components, and that the checksums are right.
func TestSubsetGoRegular(t *testing.T) {
	orig, err := sfnt.Parse(goregular.TTF)
	require.NoError(t, err)
	f, err := Parse(goregular.TTF)
	require.NoError(t, err)
	require.Equal(t, orig.NumGlyphs(), f.NumGlyphs())

	text := "Digitally signed by AHMAD BIN ALI, Perakuan 1: Kuala Lumpur — Ä é ñ Ω Ж"
	glyphs := glyphsOf(t, orig, text)
	data, newID, err := f.Subset(glyphs)
	require.NoError(t, err)
	require.Less(t, len(data), len(goregular.TTF)/4, "the subset is much smaller than the font")

	sub, err := sfnt.Parse(data)
	require.NoError(t, err, "the subset is a font sfnt reads")
	require.Equal(t, len(newID), sub.NumGlyphs())
	require.Equal(t, uint16(0), newID[0], ".notdef stays glyph 0")
	require.Equal(t, orig.UnitsPerEm(), sub.UnitsPerEm())

	var b1, b2 sfnt.Buffer
	ppem := fixed.I(int(orig.UnitsPerEm()))
	for _, g := range append([]uint16{0}, glyphs...) {
		ng, ok := newID[g]
		require.True(t, ok, "glyph %d kept", g)
		want, err := orig.LoadGlyph(&b1, sfnt.GlyphIndex(g), ppem, nil)
		require.NoError(t, err)
		want = append(sfnt.Segments{}, want...)
		got, err := sub.LoadGlyph(&b2, sfnt.GlyphIndex(ng), ppem, nil)
		require.NoError(t, err)
		assert.Equal(t, want, append(sfnt.Segments{}, got...), "outline of glyph %d (now %d)", g, ng)
		wa, err := orig.GlyphAdvance(&b1, sfnt.GlyphIndex(g), ppem, font.HintingNone)
		require.NoError(t, err)
		ga, err := sub.GlyphAdvance(&b2, sfnt.GlyphIndex(ng), ppem, font.HintingNone)
		require.NoError(t, err)
		assert.Equal(t, wa, ga, "advance of glyph %d", g)
	}
	requireChecksums(t, data)
}

// TestSubsetComposite makes one glyph of Go Regular (which has none) a
// composite of two others, one scaled, and checks that a subset of that
// glyph alone keeps its components, renumbered, and draws the same outline.
func TestSubsetComposite(t *testing.T) {
	const comp, a, b = 300, 36, 137
	data := withComposite(t, comp, a, b)
	f, err := Parse(data)
	require.NoError(t, err)
	out, newID, err := f.Subset([]uint16{comp})
	require.NoError(t, err)
	require.Equal(t, map[uint16]uint16{0: 0, a: 1, b: 2, comp: 3}, newID)
	orig, err := sfnt.Parse(data)
	require.NoError(t, err)
	sub, err := sfnt.Parse(out)
	require.NoError(t, err)
	var b1, b2 sfnt.Buffer
	ppem := fixed.I(int(orig.UnitsPerEm()))
	want, err := orig.LoadGlyph(&b1, comp, ppem, nil)
	require.NoError(t, err)
	want = append(sfnt.Segments{}, want...)
	got, err := sub.LoadGlyph(&b2, 3, ppem, nil)
	require.NoError(t, err)
	require.NotEmpty(t, want)
	require.Equal(t, want, got, "the composite draws its renumbered components")
	requireChecksums(t, out)

	// A component outside the font is refused, not followed.
	bad, err := Parse(withComposite(t, comp, a, 0xfff0))
	require.NoError(t, err)
	_, _, err = bad.Subset([]uint16{comp})
	require.ErrorIs(t, err, ErrMalformed)
}

// withComposite returns Go Regular with glyph comp replaced by a composite
// of glyph a (moved) and glyph b (scaled by one half).
func withComposite(t testing.TB, comp, a, b int) []byte {
	t.Helper()
	f := mustParse(t)
	var glyf, loca []byte
	for g := range f.NumGlyphs() {
		loca = binary.BigEndian.AppendUint32(loca, uint32(len(glyf)))
		d, err := f.glyph(g)
		require.NoError(t, err)
		if g == comp {
			d = []byte{0xff, 0xff, 0, 0, 0, 0, 4, 0, 4, 0} // -1 contours, bbox
			d = binary.BigEndian.AppendUint16(d, argsAreWords|0x2|moreComponents)
			d = binary.BigEndian.AppendUint16(d, uint16(a))
			d = append(d, 0, 100, 0, 50)
			d = binary.BigEndian.AppendUint16(d, 0x2|haveScale)
			d = binary.BigEndian.AppendUint16(d, uint16(b))
			d = append(d, 10, 20, 0x20, 0) // byte offsets, scale 0.5 (F2Dot14)
		}
		glyf = append(glyf, d...)
		for len(glyf)%4 != 0 {
			glyf = append(glyf, 0)
		}
	}
	loca = binary.BigEndian.AppendUint32(loca, uint32(len(glyf)))
	tables := map[string][]byte{"glyf": glyf, "loca": loca}
	for tag, tb := range f.tables {
		if tables[tag] == nil {
			tables[tag] = tb
		}
	}
	head := append([]byte(nil), tables["head"]...)
	binary.BigEndian.PutUint16(head[50:], 1)
	tables["head"] = head
	return write(tables)
}

// requireChecksums checks each table's checksum and the whole-file sum
// that head's checkSumAdjustment sets to 0xB1B0AFBA.
func requireChecksums(t testing.TB, data []byte) {
	t.Helper()
	n := int(binary.BigEndian.Uint16(data[4:]))
	for i := range n {
		e := data[12+16*i:]
		off, length := binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])
		table := data[off : off+length]
		want := binary.BigEndian.Uint32(e[4:])
		if string(e[:4]) == "head" {
			table = append([]byte(nil), table...)
			binary.BigEndian.PutUint32(table[8:], 0)
		}
		require.Equal(t, want, checksum(table), "checksum of %q", e[:4])
		require.Zero(t, off%4, "table %q aligned", e[:4])
	}
	require.Equal(t, uint32(0xB1B0AFBA), checksum(data), "whole-font checksum")
}

// TestSubsetRefuses checks that damaged fonts and glyph numbers outside
// the font are refused with ErrMalformed.
func TestSubsetRefuses(t *testing.T) {
	f, err := Parse(goregular.TTF)
	require.NoError(t, err)
	_, _, err = f.Subset([]uint16{uint16(f.NumGlyphs())})
	require.ErrorIs(t, err, ErrMalformed, "glyph outside the font")

	_, err = Parse([]byte("OTTO\x00\x01\x00\x00\x00\x00\x00\x00"))
	require.ErrorIs(t, err, ErrUnsupported, "CFF outlines")
	bad := map[string][]byte{
		"short":     goregular.TTF[:11],
		"truncated": goregular.TTF[:len(goregular.TTF)/2],
		"tables":    withU16(goregular.TTF, 4, 0xffff),
		"loca":      withTable(t, "head", 50, 7),
		"hmetrics":  withTable(t, "hhea", 34, 0),
		"glyphs":    withTable(t, "maxp", 4, 0xffff),
	}
	for name, data := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(data)
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
	big := make([]byte, MaxFontSize+1)
	copy(big, goregular.TTF)
	_, err = Parse(big)
	require.ErrorIs(t, err, ErrMalformed, "beyond MaxFontSize")
}

func withU16(b []byte, at int, v uint16) []byte {
	b = append([]byte(nil), b...)
	binary.BigEndian.PutUint16(b[at:], v)
	return b
}

// withTable returns Go Regular with a 16-bit value of one table changed.
func withTable(t testing.TB, tag string, at int, v uint16) []byte {
	t.Helper()
	n := int(binary.BigEndian.Uint16(goregular.TTF[4:]))
	for i := range n {
		e := goregular.TTF[12+16*i:]
		if string(e[:4]) == tag {
			return withU16(goregular.TTF, int(binary.BigEndian.Uint32(e[8:]))+at, v)
		}
	}
	t.Fatalf("no %q table", tag)
	return nil
}

// FuzzSubset feeds arbitrary fonts and glyph lists to Parse and Subset: no
// panic, and every subset made is a font Parse reads again with as many
// glyphs as the map says. The seeds are fonts of a few glyphs without
// hinting tables (a few hundred bytes, so that the engine's minimising of
// each new input stays short), one with a composite glyph.
func FuzzSubset(f *testing.F) {
	f.Add(tinyFont(f, goregular.TTF, 36, 37, 100), []byte{0, 1, 0, 2})
	f.Add(tinyFont(f, withComposite(f, 300, 36, 137), 300), []byte{0, 3})
	f.Fuzz(func(t *testing.T, data, glyphBytes []byte) {
		font, err := Parse(data)
		if err != nil {
			return
		}
		var glyphs []uint16
		for i := 0; i+1 < len(glyphBytes) && i < 512; i += 2 {
			glyphs = append(glyphs, binary.BigEndian.Uint16(glyphBytes[i:]))
		}
		out, ids, err := font.Subset(glyphs)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		again, err := Parse(out)
		require.NoError(t, err, "a subset reads back")
		require.Equal(t, len(ids), again.NumGlyphs())
	})
}

// tinyFont returns the subset of font with the given glyphs, without its
// hinting, OS/2 and post tables.
func tinyFont(t testing.TB, font []byte, glyphs ...uint16) []byte {
	t.Helper()
	f, err := Parse(font)
	require.NoError(t, err)
	sub, _, err := f.Subset(glyphs)
	require.NoError(t, err)
	sf, err := Parse(sub)
	require.NoError(t, err)
	tables := map[string][]byte{}
	for _, tag := range []string{"cmap", "glyf", "head", "hhea", "hmtx", "loca", "maxp"} {
		tables[tag] = sf.tables[tag]
	}
	return write(tables)
}

func mustParse(t testing.TB) *Font {
	f, err := Parse(goregular.TTF)
	require.NoError(t, err)
	return f
}
