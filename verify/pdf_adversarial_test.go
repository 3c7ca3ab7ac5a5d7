package verify

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	pdfsig "github.com/roamsign/roamsign/signer/pdf"
	"github.com/stretchr/testify/require"
)

// signedAdversarial returns hostile documents that carry genuine
// signatures, so that verification reaches the analysis of later
// revisions.
func signedAdversarial(t *testing.T, p *pki) []pdfxtest.Case {
	// A page with 40,000 annotations in the signed revision; a later
	// revision gives it another 40,000: comparing the two arrays element by
	// element against each other would take 1.6 billion comparisons.
	w := pdfxtest.NewRaw()
	w.Obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.Obj(2, "<< /Type /Pages /Count 1 /Kids [3 0 R] >>")
	w.Obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots ["+strings.Repeat("5 0 R ", 40_000)+"] >>")
	w.Obj(5, "<< /Type /Annot /Subtype /Text /Rect [0 0 10 10] /Contents (a) >>")
	w.Obj(6, "<< /Type /Annot /Subtype /Text /Rect [0 0 10 10] /Contents (b) >>")
	w.Table(7, "/Root 1 0 R")
	signed := signPDF(t, p, w.Bytes(), pdfsig.Options{})
	annots := update(t, signed, func(r *pdfx.Reader, u *pdfx.Update) {
		ref, page := firstPage(t, r)
		np := page.Clone()
		arr := make(pdfx.Array, 0, 40_001)
		for i := 0; i < 40_000; i++ {
			arr = append(arr, pdfx.Ref{Num: 6})
		}
		np["Annots"] = append(arr, pdfx.Ref{Num: 5})
		u.Put(ref, np)
	})

	// Thirty signatures, then a revision declaring entries for as many
	// objects as the file has bytes left: each signature's analysis walks
	// them.
	many := pdfxtest.Generate(pdfxtest.Options{AcroForm: true, Padding: 700_000})
	for i := 0; i < 30; i++ {
		many = signPDF(t, p, many, pdfsig.Options{Reason: fmt.Sprint("Perakuan ", i)})
	}
	entries := len(many) * 3 / 10
	r, err := pdfx.Open(bytes.NewReader(many), int64(len(many)), pdfx.Limits{})
	require.NoError(t, err)
	prev := r.StartXref()
	lw := &pdfxtest.Raw{Offs: map[int]int{}}
	lw.B.Write(many)
	off := lw.Stream(100_000, fmt.Sprintf("/Type /XRef /Size %d /Index [200000 %d] /W [1 0 0] /Filter /FlateDecode /Root %d 0 R /Prev %d",
		200_000+entries, entries, r.Trailer()["Root"].(pdfx.Ref).Num, prev), pdfxtest.Deflate(make([]byte, entries)))
	lw.EOF(off)
	// A document security store holding a CRL of 350,000 entries,
	// deflated: parsing it is charged to the document's budget.
	crlEntries := make([]testpki.CRLEntry, 350_000)
	for i := range crlEntries {
		crlEntries[i] = testpki.CRLEntry{Revocation: testpki.Revocation{Serial: big.NewInt(int64(i + 1000)), Time: p.now}}
	}
	crl, err := p.inter.BuildCRL(testpki.CRLSpec{Entries: crlEntries})
	require.NoError(t, err)
	dss := update(t, signPDF(t, p, pdfxtest.Generate(pdfxtest.Options{AcroForm: true}), pdfsig.Options{}), func(r *pdfx.Reader, u *pdfx.Update) {
		ref := r.Trailer()["Root"].(pdfx.Ref)
		c := get(t, r, ref).Clone()
		s := u.Add(&pdfx.Stream{Dict: pdfx.Dict{"Filter": pdfx.Name("FlateDecode")}, Data: pdfxtest.Deflate(crl)})
		c["DSS"] = u.Add(pdfx.Dict{"Type": pdfx.Name("DSS"), "CRLs": pdfx.Array{s}})
		u.Put(ref, c)
	})
	return []pdfxtest.Case{
		{Name: "a CRL of 350,000 entries in the DSS", Data: dss},
		{Name: "annotation arrays compared after signing", Data: annots},
		{Name: "thirty signatures, then entries to the end of the file", Data: lw.Bytes()},
	}
}

// TestVerifyPDFAdversarialBounded verifies each hostile document: a result
// or a typed error, within max(64 MiB, 8 × file size) of heap and two
// seconds of CPU.
func TestVerifyPDFAdversarialBounded(t *testing.T) {
	p := newPKI(t)
	v := p.verifier()
	// Warm the CRL cache so that only the document is measured.
	verifyPDF(t, v, signPDF(t, p, pdfxtest.Generate(pdfxtest.Options{}), pdfsig.Options{}))
	for _, c := range append(pdfxtest.Adversarial(), signedAdversarial(t, p)...) {
		t.Run(c.Name, func(t *testing.T) {
			pdfxtest.RequireBounded(t, c, func() error {
				res, err := v.VerifyPDF(context.Background(), PDFRequest{Document: bytes.NewReader(c.Data), Size: int64(len(c.Data))})
				if err == nil && res.Verdict == Valid && strings.Contains(c.Name, "after signing") {
					t.Errorf("a changed document verified as valid")
				}
				return err
			})
		})
	}
}
