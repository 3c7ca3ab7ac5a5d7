package pdf

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/verify"
	"github.com/stretchr/testify/require"
)

// damaged is a document that Prepare refuses as damaged, and the good
// document it was made from.
type damaged struct{ good, data []byte }

// damagedDocs returns the damaged documents every repair test covers.
func damagedDocs(t testing.TB) map[string]damaged {
	classic := pdfxtest.Generate(pdfxtest.Options{Pages: 3, Info: true})
	objstm := pdfxtest.QPDF(t, classic, "--object-streams=generate")
	noEOF := func(d []byte) []byte { return bytes.TrimSuffix(d, []byte("%%EOF\n")) }
	wrongStart := func(d []byte) []byte {
		i := bytes.LastIndex(d, []byte("startxref\n")) + len("startxref\n")
		return append(bytes.Clone(d[:i]), "20\n%%EOF\n"...)
	}
	return map[string]damaged{
		"no end-of-file marker":        {classic, noEOF(classic)},
		"no end-of-file marker objstm": {objstm, noEOF(objstm)},
		"wrong startxref":              {classic, wrongStart(classic)},
		"wrong startxref objstm":       {objstm, wrongStart(objstm)},
		"offset outside the file":      {classic, outsideOffset(classic)},
		"truncated after the xref":     {classic, classic[:bytes.LastIndex(classic, []byte("trailer"))]},
		"junk and no marker":           {classic, append([]byte("From scanner\r\n"), noEOF(classic)...)},
	}
}

// outsideOffset points the first in-use entry of doc's table past the end.
func outsideOffset(doc []byte) []byte {
	out := bytes.Clone(doc)
	i := bytes.Index(out, []byte("65535 f \n")) + 9
	copy(out[i:], "9999999999")
	return out
}

// TestRepair: each damaged document is refused by Prepare with the advice
// to repair it; Repair writes a copy that renders the same pages as the
// document before the damage (pdftoppm images identical), passes
// qpdf --check, and signs into a document that pdfsig and verify accept.
func TestRepair(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	v := offlineVerifier(t, p)
	ctx := context.Background()
	for name, d := range damagedDocs(t) {
		in := d.data
		t.Run(name, func(t *testing.T) {
			_, err := Prepare(ctx, bytes.NewReader(in), int64(len(in)), p.chain, Options{})
			require.ErrorIs(t, err, ErrRepairable)

			var fixed bytes.Buffer
			rep, err := Repair(ctx, bytes.NewReader(in), int64(len(in)), &fixed, RepairOptions{})
			require.NoError(t, err)
			require.NotEmpty(t, rep.Damage)
			require.NotEmpty(t, rep.Fixes)
			pdfxtest.Check(t, fixed.Bytes())
			requireSamePages(t, d.good, fixed.Bytes())

			signed := signDoc(t, fixed.Bytes(), p.key, p.chain, Options{})
			requireValid(t, signed, 1, nss)
			res, err := v.VerifyPDF(ctx, verify.PDFRequest{Document: bytes.NewReader(signed), Size: int64(len(signed))})
			require.NoError(t, err)
			require.Equal(t, verify.Valid, res.Verdict)
		})
	}
}

// TestRepairIntactDocument: an intact document is copied cleanly, junk
// before the header dropped, and the report says there was no damage.
func TestRepairIntactDocument(t *testing.T) {
	for name, doc := range docs(t) {
		t.Run(name, func(t *testing.T) {
			in := append([]byte("junk\n"), doc...)
			var out bytes.Buffer
			rep, err := Repair(context.Background(), bytes.NewReader(in), int64(len(in)), &out, RepairOptions{})
			require.NoError(t, err)
			require.Empty(t, rep.Damage)
			require.Contains(t, rep.Fixes, "removed the bytes before the PDF header")
			pdfxtest.Check(t, out.Bytes())
			// Poppler does not read objects that only a hybrid file's
			// /XRefStm lists; qpdf's rewrite of the input is the reference.
			requireSamePages(t, pdfxtest.QPDF(t, doc), out.Bytes())
		})
	}
}

// TestRepairRefusals: what is no PDF, or has no catalog left, is refused
// with a typed error and no output.
func TestRepairRefusals(t *testing.T) {
	classic := pdfxtest.Generate(pdfxtest.Options{})
	for name, in := range map[string][]byte{
		"not a pdf":  bytes.Repeat([]byte("hello "), 50),
		"no catalog": bytes.Replace(bytes.Replace(bytes.TrimSuffix(classic, []byte("%%EOF\n")), []byte("/Type /Catalog"), []byte("/Type /Katalog"), 1), []byte("/Root"), []byte("/Roox"), 1),
		"no objects": []byte("%PDF-1.7\nnothing here at all\n"),
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Repair(context.Background(), bytes.NewReader(in), int64(len(in)), &out, RepairOptions{})
			require.ErrorIs(t, err, roamsign.ErrInvalidInput)
		})
	}
}

// requireSamePages renders both documents with pdftoppm and requires the
// same number of pages with identical images.
func requireSamePages(t testing.TB, a, b []byte) {
	t.Helper()
	ra, rb := renderPages(t, a), renderPages(t, b)
	require.NotEmpty(t, ra, "pages rendered")
	require.Equal(t, len(ra), len(rb), "page count")
	for i := range ra {
		require.True(t, bytes.Equal(ra[i], rb[i]), "page %d renders differently", i+1)
	}
}

func renderPages(t testing.TB, doc []byte) [][]byte {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	require.NoError(t, os.WriteFile(in, doc, 0o600))
	out, err := exec.Command(pdfxtest.Tool(t, "pdftoppm"), "-r", "30", "-gray", in, filepath.Join(dir, "page")).CombinedOutput()
	require.NoError(t, err, "pdftoppm: %s", out)
	names, err := filepath.Glob(filepath.Join(dir, "page*.pgm"))
	require.NoError(t, err)
	var pages [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		require.NoError(t, err)
		pages = append(pages, b)
	}
	return pages
}

// FuzzRepair: Repair (removing an owner-password-only encryption) answers
// any input with a copy that opens, or a typed error, within its memory
// budget.
func FuzzRepair(f *testing.F) {
	for _, d := range damagedDocs(f) {
		f.Add(d.data)
	}
	f.Add(pdfxtest.Hybrid())
	src := encryptedSource()
	for _, name := range []string{"rc4-40", "aes-128-cleartext-metadata", "aes-256"} {
		enc := pdfxtest.QPDF(f, src, append([]string{"--object-streams=generate"}, pdfxtest.OwnerOnlyEncryptions[name]...)...)
		f.Add(enc)
		f.Add(bytes.TrimSuffix(enc, []byte("%%EOF\n")))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1<<20 {
			return
		}
		var out bytes.Buffer
		var err error
		alloc := pdfxtest.Allocated(func() {
			_, err = Repair(context.Background(), bytes.NewReader(in), int64(len(in)), &out, RepairOptions{RemoveEncryption: true})
		})
		require.LessOrEqual(t, alloc, pdfxtest.HeapLimit(len(in)), "heap allocated")
		if err != nil {
			require.NotEqual(t, roamsign.KindUnknown, roamsign.KindOf(err), "untyped error: %v", err)
			return
		}
		_, err = pdfx.Open(bytes.NewReader(out.Bytes()), int64(out.Len()), pdfx.Limits{})
		require.NoError(t, err, "the repaired copy opens")
	})
}
