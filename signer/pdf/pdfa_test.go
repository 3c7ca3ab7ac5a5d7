package pdf

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// iccProfile builds a small ICC v2 RGB display profile: D50 white point,
// sRGB primaries (adapted to D50) and a 2.2 gamma curve.
func iccProfile() []byte {
	s15 := func(b []byte, vs ...float64) []byte {
		for _, v := range vs {
			b = binary.BigEndian.AppendUint32(b, uint32(int32(math.Round(v*65536))))
		}
		return b
	}
	xyz := func(x, y, z float64) []byte { return s15([]byte("XYZ \x00\x00\x00\x00"), x, y, z) }
	desc := binary.BigEndian.AppendUint32([]byte("desc\x00\x00\x00\x00"), 17)
	desc = append(desc, "roamsign sRGB-ish\x00"[:17]...)
	desc = append(desc, make([]byte, 4+4+2+1+67)...)
	tags := []struct {
		sig  string
		data []byte
	}{
		{"desc", desc},
		{"cprt", []byte("text\x00\x00\x00\x00No copyright, test profile\x00")},
		{"wtpt", xyz(0.9642, 1.0, 0.8249)},
		{"rXYZ", xyz(0.4361, 0.2225, 0.0139)},
		{"gXYZ", xyz(0.3851, 0.7169, 0.0971)},
		{"bXYZ", xyz(0.1431, 0.0606, 0.7141)},
		{"rTRC", []byte("curv\x00\x00\x00\x00\x00\x00\x00\x01\x02\x33\x00\x00")},
	}
	tags = append(tags, struct {
		sig  string
		data []byte
	}{"gTRC", tags[6].data}, struct {
		sig  string
		data []byte
	}{"bTRC", tags[6].data})
	table := binary.BigEndian.AppendUint32(nil, uint32(len(tags)))
	var data []byte
	base := 128 + 4 + 12*len(tags)
	for _, tg := range tags {
		table = append(table, tg.sig...)
		table = binary.BigEndian.AppendUint32(table, uint32(base+len(data)))
		table = binary.BigEndian.AppendUint32(table, uint32(len(tg.data)))
		data = append(data, tg.data...)
		for len(data)%4 != 0 {
			data = append(data, 0)
		}
	}
	h := make([]byte, 0, 128)
	h = binary.BigEndian.AppendUint32(h, uint32(base+len(data)))
	h = append(h, 0, 0, 0, 0, 0x02, 0x10, 0, 0)
	h = append(h, "mntrRGB XYZ "...)
	for _, v := range []uint16{2026, 1, 1, 0, 0, 0} {
		h = binary.BigEndian.AppendUint16(h, v)
	}
	h = append(h, "acsp"...)
	h = append(h, make([]byte, 64-len(h)+4)...) // platform … rendering intent
	h = s15(h, 0.9642, 1.0, 0.8249)
	h = append(h, make([]byte, 128-len(h))...)
	return append(append(h, table...), data...)
}

const xmpPDFA1B = `<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>1</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Surat rasmi</rdf:li></rdf:Alt></dc:title>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`

// pdfaDoc is a PDF/A-1b-declared document: an sRGB output intent with an
// ICC profile, XMP metadata with pdfaid part and conformance, and page
// text in an embedded TrueType font (Go Regular, whole).
func pdfaDoc(t testing.TB) []byte {
	sf, err := sfnt.Parse(goregular.TTF)
	require.NoError(t, err)
	var buf sfnt.Buffer
	upem := fixed.I(int(sf.UnitsPerEm()))
	var widths []string
	for c := rune(32); c <= 126; c++ {
		g, err := sf.GlyphIndex(&buf, c)
		require.NoError(t, err)
		adv, err := sf.GlyphAdvance(&buf, g, upem, font.HintingNone)
		require.NoError(t, err)
		widths = append(widths, fmt.Sprint(math.Round(float64(adv)*1000/float64(upem))))
	}
	w := pdfxtest.NewRaw()
	w.Obj(1, "<< /Type /Catalog /Pages 2 0 R /Metadata 5 0 R /OutputIntents [6 0 R] >>")
	w.Obj(2, "<< /Type /Pages /Count 1 /Kids [3 0 R] >>")
	w.Obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 8 0 R >> >> >>")
	w.Stream(4, "", []byte("BT /F1 18 Tf 72 760 Td (Surat rasmi PDF/A) Tj ET"))
	w.Stream(5, "/Type /Metadata /Subtype /XML", []byte(xmpPDFA1B))
	w.Obj(6, "<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB) /DestOutputProfile 7 0 R >>")
	w.Stream(7, "/N 3", iccProfile())
	w.Obj(8, "<< /Type /Font /Subtype /TrueType /BaseFont /GoRegular /FirstChar 32 /LastChar 126 /Widths ["+strings.Join(widths, " ")+"] /Encoding /WinAnsiEncoding /FontDescriptor 9 0 R >>")
	w.Obj(9, "<< /Type /FontDescriptor /FontName /GoRegular /Flags 32 /FontBBox [-300 -300 1200 1000] /ItalicAngle 0 /Ascent 930 /Descent -212 /CapHeight 700 /StemV 80 /FontFile2 10 0 R >>")
	w.Stream(10, fmt.Sprintf("/Length1 %d", len(goregular.TTF)), goregular.TTF)
	w.Table(11, "/Root 1 0 R")
	return w.Bytes()
}

// TestPDFAPreserved signs a PDF/A-declared document twice with visible
// signatures: the catalog keeps its /OutputIntents and /Metadata, those
// objects and the page's font are not rewritten (their bytes are the
// original ones), and pdffonts finds only embedded fonts, the page's and
// the two appearance subsets.
func TestPDFAPreserved(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	v := offlineVerifier(t, p)
	in := pdfaDoc(t)
	rows := pdffonts(t, in)
	require.Len(t, rows, 1)
	require.Equal(t, fontRow{"GoRegular", "yes", "no", "no"}, rows[0], "the input's font is embedded")

	once := signDoc(t, in, p.key, p.chain, Options{Reason: "Perakuan 1", Appearance: &Appearance{Rect: [4]float64{40, 40, 300, 110}}})
	twice := signDoc(t, once, p.key2, p.chain2, Options{Reason: "Perakuan 2", Appearance: &Appearance{Rect: [4]float64{300, 40, 560, 110}}})
	requireValid(t, twice, 2, nss)
	requireVerified(t, v, twice, 2)

	orig, origCat := openCatalog(t, in)
	for _, doc := range [][]byte{once, twice} {
		r, cat := openCatalog(t, doc)
		require.Equal(t, origCat["OutputIntents"], cat["OutputIntents"], "/OutputIntents")
		require.Equal(t, origCat["Metadata"], cat["Metadata"], "/Metadata")
		for _, num := range []int{5, 6, 7, 8, 9, 10} {
			// Section 0 is the newest; the last is the original file's.
			for i := range len(r.Sections()) - 1 {
				for n := range r.SectionEntries(i) {
					require.NotEqual(t, num, n, "object %d rewritten by a signature", num)
				}
			}
			want, err := orig.Get(pdfx.Ref{Num: num})
			require.NoError(t, err)
			got, err := r.Get(pdfx.Ref{Num: num})
			require.NoError(t, err)
			if ws, ok := want.(*pdfx.Stream); ok {
				wb, err := orig.ReadRaw(ws)
				require.NoError(t, err)
				gb, err := r.ReadRaw(got.(*pdfx.Stream))
				require.NoError(t, err)
				require.Equal(t, wb, gb, "stream %d bytes", num)
			} else {
				require.Equal(t, want, got, "object %d", num)
			}
		}
	}
	rows = pdffonts(t, twice)
	require.Len(t, rows, 3, "the page's font and two appearance subsets")
	for _, row := range rows {
		require.Equal(t, "yes", row.emb, "font %s embedded", row.name)
	}
	text := pageText(t, twice)
	for _, s := range []string{"Surat rasmi PDF/A", "Reason: Perakuan 1", "Reason: Perakuan 2"} {
		require.Contains(t, text, s)
	}
}
