package pdf

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/ttf"
	"github.com/roamsign/roamsign/verify"
	"github.com/stretchr/testify/require"
	"golang.org/x/image/font/gofont/gomono"
)

// pageDoc is a one-page document whose page tree node and page carry the
// given entries (for example "/Rotate 90" or "/MediaBox [...]"); the page
// draws nothing, so every mark on it is the signature's.
func pageDoc(pagesExtra, pageExtra string) []byte {
	w := pdfxtest.NewRaw()
	w.Obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.Obj(2, "<< /Type /Pages /Count 1 /Kids [3 0 R] "+pagesExtra+" >>")
	w.Obj(3, "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << >> "+pageExtra+" >>")
	w.Stream(4, "", nil)
	w.Table(5, "/Root 1 0 R")
	return w.Bytes()
}

// word is one word of pdftotext -bbox: its box on the page as shown, in
// points from the top-left corner.
type word struct {
	text                   string
	xMin, yMin, xMax, yMax float64
}

var (
	reBBoxPage = regexp.MustCompile(`<page width="([0-9.]+)" height="([0-9.]+)">`)
	reBBoxWord = regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">([^<]*)</word>`)
)

// textBoxes runs poppler's pdftotext -bbox -cropbox on page 1 and returns
// the size of its crop box (before rotation) and its words (on the page as
// shown).
func textBoxes(t testing.TB, doc []byte) (w, h float64, words map[string]word) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.pdf")
	require.NoError(t, os.WriteFile(in, doc, 0o600))
	out, err := exec.Command(pdfxtest.Tool(t, "pdftotext"), "-bbox", "-cropbox", "-f", "1", "-l", "1", in, "-").CombinedOutput()
	require.NoError(t, err, "pdftotext -bbox: %s", out)
	m := reBBoxPage.FindSubmatch(out)
	require.NotNil(t, m, "pdftotext -bbox page: %s", out)
	num := func(b []byte) float64 {
		v, err := strconv.ParseFloat(string(b), 64)
		require.NoError(t, err)
		return v
	}
	words = map[string]word{}
	for _, m := range reBBoxWord.FindAllSubmatch(out, -1) {
		words[string(m[5])] = word{string(m[5]), num(m[1]), num(m[2]), num(m[3]), num(m[4])}
	}
	return num(m[1]), num(m[2]), words
}

// pageText runs pdftotext on page 1 and returns its text.
func pageText(t testing.TB, doc []byte) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.pdf")
	require.NoError(t, os.WriteFile(in, doc, 0o600))
	out, err := exec.Command(pdfxtest.Tool(t, "pdftotext"), "-enc", "UTF-8", "-f", "1", "-l", "1", in, "-").CombinedOutput()
	require.NoError(t, err, "pdftotext: %s", out)
	return string(out)
}

// requireVerified checks every signature of doc with package verify.
func requireVerified(t testing.TB, v *verify.Verifier, doc []byte, n int) {
	t.Helper()
	res, err := v.VerifyPDF(context.Background(), verify.PDFRequest{Document: bytes.NewReader(doc), Size: int64(len(doc))})
	require.NoError(t, err)
	require.Len(t, res.Signatures, n)
	for _, s := range res.Signatures {
		require.Equal(t, verify.Valid, s.Verdict, "%+v", s.Checks)
	}
}

// TestPlacementOnRotatedPages signs pages turned by /Rotate (on the page,
// inherited from the page tree, negative), with boxes that do not start at
// (0, 0) and with a crop box, at one rectangle of the page as shown, and
// asks poppler where the appearance landed: its words lie inside the
// rectangle, read left to right and top to bottom (upright), and the
// rendered page has ink inside the rectangle and none at its mirror
// images.
func TestPlacementOnRotatedPages(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	v := offlineVerifier(t, p)
	a4 := "/MediaBox [0 0 595 842]"
	cases := map[string]struct {
		pages, page string
		w, h        float64 // the page as shown
	}{
		"rotate 0":            {"", a4, 595, 842},
		"rotate 90":           {"", a4 + " /Rotate 90", 842, 595},
		"rotate 180":          {"", a4 + " /Rotate 180", 595, 842},
		"rotate 270":          {"", a4 + " /Rotate 270", 842, 595},
		"rotate -90":          {"", a4 + " /Rotate -90", 842, 595},
		"inherited 90":        {"/Rotate 90 " + a4, "", 842, 595},
		"offset media box":    {"", "/MediaBox [100 200 712 992]", 612, 792},
		"reversed media box":  {"", "/MediaBox [712 992 100 200] /Rotate 180", 612, 792},
		"crop box":            {"", a4 + " /CropBox [50 100 545 742]", 495, 642},
		"crop box rotate 270": {"/Rotate 270", "/MediaBox [100 200 712 992] /CropBox [150 250 662 942]", 692, 512},
	}
	rect := [4]float64{30, 40, 220, 110}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			in := pageDoc(c.pages, c.page)
			out := signDoc(t, in, p.key, p.chain, Options{Appearance: &Appearance{Rect: rect,
				Lines: []string{"ROAMSIGN alpha beta", "SECOND gamma"}}})
			requireValid(t, out, 1, nss)
			requireVerified(t, v, out, 1)

			bw, bh, words := textBoxes(t, out)
			// pdftotext gives the crop box's size before rotation, and word
			// boxes on the page as shown.
			require.ElementsMatch(t, []float64{c.w, c.h}, []float64{bw, bh}, "crop box size")
			pw, ph := c.w, c.h
			for _, s := range []string{"ROAMSIGN", "alpha", "beta", "SECOND", "gamma"} {
				wd, ok := words[s]
				require.True(t, ok, "word %q found: %v", s, words)
				// pdftotext counts y from the top of the page as shown.
				require.GreaterOrEqual(t, wd.xMin, rect[0]-1, "%q left of the rectangle", s)
				require.LessOrEqual(t, wd.xMax, rect[2]+1, "%q right of the rectangle", s)
				require.GreaterOrEqual(t, wd.yMin, ph-rect[3]-1, "%q above the rectangle", s)
				require.LessOrEqual(t, wd.yMax, ph-rect[1]+1, "%q below the rectangle", s)
			}
			first, second := words["ROAMSIGN"], words["SECOND"]
			require.Less(t, first.xMax, words["alpha"].xMin, "words read left to right")
			require.Less(t, first.yMax, second.yMin+1, "lines read top to bottom")
			require.Greater(t, first.xMax-first.xMin, 2*(first.yMax-first.yMin), "text runs horizontally")

			ink := func(r [4]float64) int {
				return renderDarkPixels(t, out, int(r[0]), int(r[1]), int(r[2]), int(r[3]))
			}
			require.Greater(t, ink(rect), 200, "ink inside the rectangle")
			for what, m := range map[string][4]float64{
				"left-right": {pw - rect[2], rect[1], pw - rect[0], rect[3]},
				"top-bottom": {rect[0], ph - rect[3], rect[2], ph - rect[1]},
				"both":       {pw - rect[2], ph - rect[3], pw - rect[0], ph - rect[1]},
			} {
				require.Zero(t, ink(m), "ink at the %s mirror image of the rectangle", what)
			}
		})
	}
}

// TestPlacementRefusals: a rotation that is not a multiple of 90 and a
// rectangle off the visible page are refused, and nothing is written.
func TestPlacementRefusals(t *testing.T) {
	p := newPKI(t)
	cases := map[string]struct {
		doc  []byte
		rect [4]float64
	}{
		"rotate 45":        {pageDoc("", "/MediaBox [0 0 595 842] /Rotate 45"), [4]float64{10, 10, 100, 50}},
		"rotate real":      {pageDoc("", "/MediaBox [0 0 595 842] /Rotate 90.5"), [4]float64{10, 10, 100, 50}},
		"off the page":     {pageDoc("", "/MediaBox [0 0 595 842]"), [4]float64{500, 10, 700, 50}},
		"off rotated page": {pageDoc("", "/MediaBox [0 0 595 842] /Rotate 90"), [4]float64{10, 600, 100, 650}},
		"off the crop box": {pageDoc("", "/MediaBox [0 0 595 842] /CropBox [0 0 300 300]"), [4]float64{10, 250, 100, 350}},
		"bad media box":    {pageDoc("", "/MediaBox [0 0 595]"), [4]float64{10, 10, 100, 50}},
		"empty crop box":   {pageDoc("", "/MediaBox [0 0 595 842] /CropBox [600 0 700 100]"), [4]float64{10, 10, 100, 50}},
		"NaN":              {pageDoc("", "/MediaBox [0 0 595 842]"), [4]float64{10, 10, math.NaN(), 50}},
		"infinite":         {pageDoc("", "/MediaBox [0 0 595 842]"), [4]float64{math.Inf(-1), 10, 100, 50}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := Sign(context.Background(), bytes.NewReader(c.doc), int64(len(c.doc)), &out, p.key, p.chain, Options{Appearance: &Appearance{Rect: c.rect}})
			require.ErrorIs(t, err, roamsign.ErrInvalidInput)
			require.Zero(t, out.Len(), "bytes written")
		})
	}
	// An invisible signature does not care where the page is shown.
	doc := pageDoc("", "/MediaBox [0 0 595 842] /Rotate 45")
	requireValid(t, signDoc(t, doc, p.key, p.chain, Options{}), 1, p.nss(t))
}

var rePdffontsRow = regexp.MustCompile(`(?m)^(\S+)\s+(.+?)\s+(\S+)\s+(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$`)

// fontRow is one font of pdffonts' table.
type fontRow struct {
	name, emb, sub, uni string
}

// pdffonts lists the fonts of doc with poppler's pdffonts.
func pdffonts(t testing.TB, doc []byte) []fontRow {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.pdf")
	require.NoError(t, os.WriteFile(in, doc, 0o600))
	out, err := exec.Command(pdfxtest.Tool(t, "pdffonts"), in).CombinedOutput()
	require.NoError(t, err, "pdffonts: %s", out)
	var rows []fontRow
	for _, m := range rePdffontsRow.FindAllStringSubmatch(string(out), -1) {
		rows = append(rows, fontRow{m[1], m[4], m[5], m[6]})
	}
	require.NotEmpty(t, rows, "pdffonts found no font:\n%s", out)
	return rows
}

// TestAppearanceFontEmbedded checks with poppler that the appearance font
// is an embedded subset with a ToUnicode map (pdffonts) and that the text,
// Latin with diacritics, Greek and Cyrillic included, is extracted as
// written (pdftotext).
func TestAppearanceFontEmbedded(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	in := pageDoc("", "/MediaBox [0 0 595 842]")
	lines := []string{"Disahkan oleh: Nur Ain binti Abdullah", "Ñoño Ávila — Øre Ωμέγα Жук", "Perakuan 1 (Penyemak) 100%"}
	out := signDoc(t, in, p.key, p.chain, Options{Appearance: &Appearance{Rect: [4]float64{40, 40, 400, 120}, Lines: lines}})
	requireValid(t, out, 1, nss)
	rows := pdffonts(t, out)
	require.Len(t, rows, 1)
	require.Regexp(t, `^[A-Z]{6}\+GoRegular$`, rows[0].name, "subset tag and font name")
	require.Equal(t, fontRow{rows[0].name, "yes", "yes", "yes"}, rows[0], "embedded, subset, ToUnicode")
	require.Equal(t, strings.Join(lines, "\n"), strings.TrimSpace(pageText(t, out)))
	require.Less(t, len(out)-len(in), 40_000, "the update carries a subset, not the whole font")

	// The default lines (name, date, reason, location) are drawn too.
	def := signDoc(t, in, p.key, p.chain, Options{Reason: "Perakuan 2", Location: "Putrajaya",
		Appearance: &Appearance{Rect: [4]float64{40, 40, 400, 120}}})
	text := pageText(t, def)
	for _, s := range []string{"Digitally signed by AHMAD BIN ALI", "Reason: Perakuan 2", "Location: Putrajaya"} {
		require.Contains(t, text, s)
	}
}

// TestAppearanceTextRefused: characters the font has no glyph for, control
// characters and text beyond the limits are refused before anything is
// written, with a GlyphError naming the character.
func TestAppearanceTextRefused(t *testing.T) {
	p := newPKI(t)
	in := pageDoc("", "/MediaBox [0 0 595 842]")
	sign := func(lines []string) (error, int) {
		var out bytes.Buffer
		err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, p.key, p.chain,
			Options{Appearance: &Appearance{Rect: [4]float64{40, 40, 400, 120}, Lines: lines}})
		return err, out.Len()
	}
	for name, c := range map[string]struct {
		lines []string
		r     rune
		line  int
	}{
		"han":     {[]string{"ok", "签名"}, '签', 2},
		"tab":     {[]string{"a\tb"}, '\t', 1},
		"newline": {[]string{"a\nb"}, '\n', 1},
		"emoji":   {[]string{"✍️"}, '✍', 1},
	} {
		t.Run(name, func(t *testing.T) {
			err, n := sign(c.lines)
			require.ErrorIs(t, err, roamsign.ErrInvalidInput)
			var ge *GlyphError
			require.ErrorAs(t, err, &ge)
			require.Equal(t, GlyphError{Rune: c.r, Line: c.line}, *ge)
			require.Zero(t, n, "bytes written")
		})
	}
	long := strings.Repeat("x", MaxAppearanceLine+1)
	many := make([]string, MaxAppearanceLines+1)
	for name, lines := range map[string][]string{"long line": {long}, "many lines": many, "not UTF-8": {"a\xffb"}} {
		t.Run(name, func(t *testing.T) {
			err, n := sign(lines)
			require.ErrorIs(t, err, roamsign.ErrInvalidInput)
			require.Zero(t, n, "bytes written")
		})
	}
	_, n := sign([]string{strings.Repeat("é", MaxAppearanceLine)})
	require.NotZero(t, n, "a line at the limit is signed")
}

// FuzzAppearanceText builds appearances from arbitrary text, font size and
// rectangle: either a stream whose every text operand is a whole number of
// two-byte codes, or a typed error; never a panic.
func FuzzAppearanceText(f *testing.F) {
	f.Add("Digitally signed by AHMAD", "Ωμέγα Жук", 0.0, 200.0, 60.0)
	f.Add("签名", "", 12.0, 10.0, 10.0)
	f.Add("a\x00b", "\xff", -1.0, 1e300, 1e-300)
	chain := newPKI(f).chain
	doc := pageDoc("", "/MediaBox [0 0 595 842] /Rotate 90")
	f.Fuzz(func(t *testing.T, l1, l2 string, fs, w, h float64) {
		sp, err := params(chain, Options{Appearance: &Appearance{Rect: [4]float64{0, 0, w, h}, Lines: []string{l1, l2}, FontSize: fs}})
		var u *update
		if err == nil {
			u, err = buildUpdate(bytes.NewReader(doc), int64(len(doc)), sp)
		}
		if err != nil {
			require.NotEqual(t, roamsign.KindUnknown, roamsign.KindOf(err), "untyped error %v", err)
			return
		}
		require.NotEmpty(t, u.bytes)
		for _, m := range regexp.MustCompile(`<([0-9A-F]*)> Tj`).FindAllSubmatch(u.bytes, -1) {
			require.Zero(t, len(m[1])%4, "whole two-byte codes")
		}
	})
}

// TestConcurrentAppearances signs visible signatures from several
// goroutines at once (the font and the compressors are shared): each
// output is a valid document whose appearance text extracts as written.
func TestConcurrentAppearances(t *testing.T) {
	p := newPKI(t)
	in := pageDoc("/Rotate 90", "/MediaBox [0 0 595 842]")
	outs := make(chan []byte, 6)
	errs := make(chan error, 6)
	for i := range 6 {
		go func() {
			var out bytes.Buffer
			err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, p.key, p.chain,
				Options{Appearance: &Appearance{Rect: [4]float64{40, 40, 300, 110}, Lines: []string{fmt.Sprintf("Penandatangan %d", i)}}})
			errs <- err
			outs <- out.Bytes()
		}()
	}
	seen := map[string]bool{}
	for range 6 {
		require.NoError(t, <-errs)
		out := <-outs
		pdfxtest.Check(t, out)
		seen[strings.TrimSpace(pageText(t, out))] = true
	}
	require.Len(t, seen, 6, "each output shows its own text: %v", seen)
}

// TestAppearanceCustomFont draws the text in a caller's TrueType font (Go
// Mono): pdffonts lists a subset of it, embedded with a ToUnicode map, and
// the text extracts as written; what is not a TrueType font is refused.
func TestAppearanceCustomFont(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	in := pageDoc("", "/MediaBox [0 0 595 842]")
	lines := []string{"Disahkan oleh: Nur Ain", "Ωμέγα Жук 0123"}
	out := signDoc(t, in, p.key, p.chain, Options{Appearance: &Appearance{Rect: [4]float64{40, 40, 400, 120}, Lines: lines, Font: gomono.TTF}})
	requireValid(t, out, 1, nss)
	rows := pdffonts(t, out)
	require.Len(t, rows, 1)
	require.Regexp(t, `^[A-Z]{6}\+GoMono$`, rows[0].name, "the caller's font, by its PostScript name")
	require.Equal(t, fontRow{rows[0].name, "yes", "yes", "yes"}, rows[0], "embedded, subset, ToUnicode")
	require.Equal(t, strings.Join(lines, "\n"), strings.TrimSpace(pageText(t, out)))

	for name, c := range map[string]struct {
		font []byte
		kind roamsign.Kind
	}{
		"not a font":  {[]byte("not a font at all"), roamsign.ErrInvalidInput},
		"CFF":         {append([]byte("OTTO"), make([]byte, 64)...), roamsign.ErrInvalidInput},
		"truncated":   {gomono.TTF[:len(gomono.TTF)/2], roamsign.ErrInvalidInput},
		"beyond size": {make([]byte, ttf.MaxFontSize+1), roamsign.ErrTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			var w bytes.Buffer
			err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &w, p.key, p.chain,
				Options{Appearance: &Appearance{Rect: [4]float64{40, 40, 400, 120}, Lines: lines, Font: c.font}})
			require.ErrorIs(t, err, c.kind)
			require.Zero(t, w.Len(), "bytes written")
		})
	}
}

// FuzzAppearanceFont builds appearances with arbitrary font files: a
// document or a typed error, never a panic.
func FuzzAppearanceFont(f *testing.F) {
	chain := newPKI(f).chain
	doc := pageDoc("", "/MediaBox [0 0 595 842]")
	mono, err := ttf.Parse(gomono.TTF)
	require.NoError(f, err)
	small, _, err := mono.Subset([]uint16{36, 37, 20, 21})
	require.NoError(f, err)
	f.Add(small)
	f.Add([]byte("\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00glyf\x00\x00\x00\x00\x00\x00\x00\x1c\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, font []byte) {
		sp, err := params(chain, Options{Appearance: &Appearance{Rect: [4]float64{10, 10, 200, 60}, Lines: []string{"AB 12"}, Font: font}})
		require.NoError(t, err)
		if _, err := buildUpdate(bytes.NewReader(doc), int64(len(doc)), sp); err != nil {
			require.NotEqual(t, roamsign.KindUnknown, roamsign.KindOf(err), "untyped error %v", err)
		}
	})
}
