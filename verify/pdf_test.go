package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	signcms "github.com/roamsign/roamsign/signer/cms"
	pdfsig "github.com/roamsign/roamsign/signer/pdf"
	"github.com/stretchr/testify/require"
)

// signPDF adds a signature with signer/pdf.
func signPDF(t testing.TB, p *pki, in []byte, opts pdfsig.Options) []byte {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return p.now }
	}
	var out bytes.Buffer
	require.NoError(t, pdfsig.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, p.key, []*x509.Certificate{p.leaf, p.inter.Cert}, opts))
	return out.Bytes()
}

// update appends an incremental update built by fn.
func update(t testing.TB, in []byte, fn func(r *pdfx.Reader, u *pdfx.Update)) []byte {
	t.Helper()
	r, err := pdfx.Open(bytes.NewReader(in), int64(len(in)), pdfx.Limits{})
	require.NoError(t, err)
	u := r.NewUpdate()
	fn(r, u)
	b, err := u.Bytes()
	require.NoError(t, err)
	return append(append([]byte(nil), in...), b...)
}

func get(t testing.TB, r *pdfx.Reader, o pdfx.Object) pdfx.Dict {
	t.Helper()
	d := dictOf(r, o)
	require.NotNil(t, d, "not a dictionary: %v", o)
	return d
}

// firstPage returns the reference and dictionary of page 1.
func firstPage(t testing.TB, r *pdfx.Reader) (pdfx.Ref, pdfx.Dict) {
	root := get(t, r, r.Trailer()["Root"])
	pages := get(t, r, root["Pages"])
	ref := pages["Kids"].(pdfx.Array)[0].(pdfx.Ref)
	return ref, get(t, r, ref)
}

func verifyPDF(t testing.TB, v *Verifier, doc []byte) *PDFResult {
	t.Helper()
	res, err := v.VerifyPDF(context.Background(), PDFRequest{Document: bytes.NewReader(doc), Size: int64(len(doc))})
	require.NoError(t, err)
	return res
}

func TestPDFSignatures(t *testing.T) {
	type tc struct {
		name  string
		build func(t *testing.T, p *pki) []byte
		// want lists the verdict of each signature, oldest first.
		want     []Verdict
		modified []bool
		check    string // the check that must fail on the first non-valid signature
		why      string // words its reason must contain
	}
	base := pdfxtest.Generate(pdfxtest.Options{Pages: 2, AcroForm: true})
	cases := []tc{
		{name: "one approval signature", build: func(t *testing.T, p *pki) []byte {
			return signPDF(t, p, base, pdfsig.Options{Reason: "Perakuan 1"})
		}, want: []Verdict{Valid}, modified: []bool{false}},
		{name: "honest multi-signature", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{Reason: "Perakuan 1"})
			d = signPDF(t, p, d, pdfsig.Options{Reason: "Perakuan 2"})
			return signPDF(t, p, d, pdfsig.Options{Reason: "Penyemak"})
		}, want: []Verdict{Valid, Valid, Valid}, modified: []bool{false, false, false}},
		{name: "certification P=2 then approval", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{Certify: pdfsig.FormFilling})
			return signPDF(t, p, d, pdfsig.Options{})
		}, want: []Verdict{Valid, Valid}, modified: []bool{false, false}},
		{name: "append a page after signing", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				root := get(t, r, r.Trailer()["Root"])
				pagesRef := root["Pages"].(pdfx.Ref)
				pages := get(t, r, pagesRef).Clone()
				_, page1 := firstPage(t, r)
				np := page1.Clone()
				delete(np, "Annots")
				kids := append(pdfx.Array(nil), pages["Kids"].(pdfx.Array)...)
				kids = append(kids, u.Add(np))
				pages["Kids"], pages["Count"] = kids, int64(len(kids))
				u.Put(pagesRef, pages)
			})
		}, want: []Verdict{Invalid}, modified: []bool{true}, check: CheckIntegrity},
		{name: "overlay content in a later revision", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				ref, page := firstPage(t, r)
				np := page.Clone()
				overlay := u.Add(&pdfx.Stream{Dict: pdfx.Dict{}, Data: []byte("1 1 1 rg 0 0 612 792 re f BT /F1 24 Tf 72 700 Td (PAID) Tj ET")})
				np["Contents"] = pdfx.Array{page["Contents"], overlay}
				u.Put(ref, np)
			})
		}, want: []Verdict{Invalid}, modified: []bool{true}, check: CheckIntegrity},
		{name: "replace an existing content stream", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				_, page := firstPage(t, r)
				u.Put(page["Contents"].(pdfx.Ref), &pdfx.Stream{Dict: pdfx.Dict{}, Data: []byte("BT /F1 24 Tf 72 700 Td (RM 9,999,999) Tj ET")})
			})
		}, want: []Verdict{Invalid}, modified: []bool{true}, check: CheckIntegrity},
		{name: "annotation added under approval (P=2)", build: func(t *testing.T, p *pki) []byte {
			return addAnnot(t, signPDF(t, p, base, pdfsig.Options{}))
		}, want: []Verdict{Invalid}, modified: []bool{true}, check: CheckIntegrity},
		{name: "annotation added under P=3", build: func(t *testing.T, p *pki) []byte {
			return addAnnot(t, signPDF(t, p, base, pdfsig.Options{Certify: pdfsig.AnnotsAllowed}))
		}, want: []Verdict{Valid}, modified: []bool{false}},
		{name: "form filled under P=2", build: func(t *testing.T, p *pki) []byte {
			return fillField(t, signPDF(t, p, base, pdfsig.Options{Certify: pdfsig.FormFilling}))
		}, want: []Verdict{Valid}, modified: []bool{false}},
		{name: "form filled under P=1", build: func(t *testing.T, p *pki) []byte {
			return fillField(t, signPDF(t, p, base, pdfsig.Options{Certify: pdfsig.NoChanges}))
		}, want: []Verdict{Invalid}, modified: []bool{true}, check: CheckIntegrity},
		{name: "DSS added after a P=1 certification", build: func(t *testing.T, p *pki) []byte {
			return addDSS(t, p, signPDF(t, p, base, pdfsig.Options{Certify: pdfsig.NoChanges}))
		}, want: []Verdict{Valid}, modified: []bool{false}},
		{name: "DSS added after two signatures", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return addDSS(t, p, signPDF(t, p, d, pdfsig.Options{}))
		}, want: []Verdict{Valid, Valid}, modified: []bool{false, false}},
		{name: "catalog changed beside the DSS", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				ref := r.Trailer()["Root"].(pdfx.Ref)
				c := get(t, r, ref).Clone()
				c["OpenAction"] = u.Add(pdfx.Dict{"S": pdfx.Name("JavaScript"), "JS": pdfx.String("app.alert(1)")})
				u.Put(ref, c)
			})
		}, want: []Verdict{Invalid}, modified: []bool{true}, check: CheckIntegrity},
		{name: "extensions and version declared in a later revision", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				ref := r.Trailer()["Root"].(pdfx.Ref)
				c := get(t, r, ref).Clone()
				c["Extensions"] = pdfx.Dict{
					"ESIC": pdfx.Dict{"BaseVersion": pdfx.Name("1.7"), "ExtensionLevel": int64(5)},
					"ISO_": pdfx.Array{pdfx.Dict{"BaseVersion": pdfx.Name("2.0"), "ExtensionLevel": int64(32001)}},
				}
				c["Version"] = pdfx.Name("1.7")
				u.Put(ref, c)
			})
		}, want: []Verdict{Valid}, modified: []bool{false}},
		{name: "catalog extensions changed to no declaration", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				ref := r.Trailer()["Root"].(pdfx.Ref)
				c := get(t, r, ref).Clone()
				c["Extensions"] = pdfx.Dict{"ESIC": u.Add(pdfx.Dict{"S": pdfx.Name("JavaScript"), "JS": pdfx.String("app.alert(1)")}), "X": int64(1)}
				u.Put(ref, c)
			})
		}, want: []Verdict{Invalid}, modified: []bool{true}, check: CheckIntegrity},
		{name: "document timestamp after a signature", build: func(t *testing.T, p *pki) []byte {
			return addDocTimestamp(t, p, signPDF(t, p, base, pdfsig.Options{}))
		}, want: []Verdict{Valid, Valid}, modified: []bool{false, false}},
		{name: "document timestamp after a P=1 certification", build: func(t *testing.T, p *pki) []byte {
			return addDocTimestamp(t, p, signPDF(t, p, base, pdfsig.Options{Certify: pdfsig.NoChanges}))
		}, want: []Verdict{Valid, Valid}, modified: []bool{false, false}},
		{name: "document timestamp, then content change", build: func(t *testing.T, p *pki) []byte {
			d := addDocTimestamp(t, p, signPDF(t, p, base, pdfsig.Options{}))
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				_, page := firstPage(t, r)
				u.Put(page["Contents"].(pdfx.Ref), &pdfx.Stream{Dict: pdfx.Dict{}, Data: []byte("BT (changed) Tj ET")})
			})
		}, want: []Verdict{Invalid, Invalid}, modified: []bool{true, true}, check: CheckIntegrity},
		{name: "annotation added under P=1", build: func(t *testing.T, p *pki) []byte {
			return addAnnot(t, signPDF(t, p, base, pdfsig.Options{Certify: pdfsig.NoChanges}))
		}, want: []Verdict{Invalid}, modified: []bool{true}, check: CheckIntegrity},
		{name: "second signature then content change", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			d = signPDF(t, p, d, pdfsig.Options{})
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				_, page := firstPage(t, r)
				u.Put(page["Contents"].(pdfx.Ref), &pdfx.Stream{Dict: pdfx.Dict{}, Data: []byte("BT (changed) Tj ET")})
			})
		}, want: []Verdict{Invalid, Invalid}, modified: []bool{true, true}, check: CheckIntegrity},
		{name: "signature value replaced in a later revision", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				root := get(t, r, r.Trailer()["Root"])
				acro := get(t, r, root["AcroForm"])
				for _, f := range acro["Fields"].(pdfx.Array) {
					fd := get(t, r, f)
					if nameOf(fd["FT"]) == "Sig" {
						sd := get(t, r, fd["V"]).Clone()
						sd["Reason"] = pdfx.String("forged")
						u.Put(fd["V"].(pdfx.Ref), sd)
					}
				}
			})
		}, want: []Verdict{Invalid}, check: CheckByteRange},
		{name: "shrunk ByteRange", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return editByteRange(t, d, func(br *[4]int64) { br[3] -= 10 })
		}, want: []Verdict{Invalid}, check: CheckByteRange},
		{name: "ByteRange beyond the end of the file", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return editByteRange(t, d, func(br *[4]int64) { br[3] += 1000 })
		}, want: []Verdict{Invalid}, check: CheckByteRange},
		{name: "overlapping ByteRange", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return editByteRange(t, d, func(br *[4]int64) { br[3] += br[2] - (br[1] - 10); br[2] = br[1] - 10 })
		}, want: []Verdict{Invalid}, check: CheckByteRange},
		{name: "ByteRange not from zero", build: func(t *testing.T, p *pki) []byte {
			// Signed anew over exactly [1, gap) and the rest: only the
			// rule that the range starts at 0 is broken.
			d := signPDF(t, p, base, pdfsig.Options{})
			br := byteRangeOf(t, d)
			return resign(t, p, d, [4]int64{1, br[1] - 1, br[2], br[3]})
		}, want: []Verdict{Invalid}, check: CheckByteRange, why: "does not start at 0"},
		{name: "signed range ends just before the final end-of-line", build: func(t *testing.T, p *pki) []byte {
			// Signed anew over a range one byte short of the revision's
			// end: only the rule that it ends at a %%EOF refuses it.
			d := signPDF(t, p, base, pdfsig.Options{})
			br := byteRangeOf(t, d)
			return resign(t, p, d, [4]int64{0, br[1], br[2], br[3] - 1})
		}, want: []Verdict{Invalid}, check: CheckByteRange, why: "does not end at a revision's %%EOF"},
		{name: "wrapping: the gap is a hex string inside an object stream", build: func(t *testing.T, p *pki) []byte {
			return objStmWrapped(t, p)
		}, want: []Verdict{Invalid}, check: CheckByteRange, why: "signed revision does not hold the gap"},
		{name: "wrapping: gap widened over signed bytes", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			return editByteRange(t, d, func(b *[4]int64) { b[2] += 10; b[3] -= 10 })
		}, want: []Verdict{Invalid}, check: CheckByteRange},
		{name: "wrapping: second signed part moved behind an inserted object", build: func(t *testing.T, p *pki) []byte {
			d := signPDF(t, p, base, pdfsig.Options{})
			br := byteRangeOf(t, d)
			evil := []byte(" 999 0 obj (evil) endobj ")
			out := append([]byte(nil), d[:br[2]]...)
			out = append(out, evil...)
			out = append(out, d[br[2]:]...)
			return editByteRange(t, out, func(b *[4]int64) { b[2] += int64(len(evil)) })
		}, want: nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPKI(t)
			doc := c.build(t, p)
			if c.want == nil {
				// The attack breaks the file: a typed error, never "valid".
				res, err := p.verifier().VerifyPDF(context.Background(), PDFRequest{Document: bytes.NewReader(doc), Size: int64(len(doc))})
				if err == nil {
					require.NotEqual(t, Valid, res.Verdict, "attack verified as valid")
				}
				return
			}
			res := verifyPDF(t, p.verifier(), doc)
			js, _ := json.MarshalIndent(res, "", " ")
			require.Len(t, res.Signatures, len(c.want), "%s", js)
			for i, s := range res.Signatures {
				if f := s.Failed(); f != nil {
					t.Logf("signature %d: %s: %s", i, f.Name, f.Reason)
				}
				require.Equal(t, c.want[i], s.Verdict, "signature %d\n%s", i, js)
				if c.modified != nil {
					require.Equal(t, c.modified[i], s.ModifiedAfterSigning, "signature %d modified\n%s", i, js)
				}
				if s.Verdict != Valid && c.check != "" && i == slices.Index(c.want, Invalid) {
					ch := s.Check(c.check)
					require.NotNil(t, ch, "signature %d: no check %s\n%s", i, c.check, js)
					require.NotEqual(t, Valid, ch.Verdict, "signature %d: check %s\n%s", i, c.check, js)
					require.Contains(t, ch.Reason, c.why, "signature %d: check %s\n%s", i, c.check, js)
				}
			}
			wantAll := Valid
			for _, w := range c.want {
				wantAll = worst(wantAll, w)
			}
			require.Equal(t, wantAll, res.Verdict, "document verdict")
		})
	}
}

func addAnnot(t testing.TB, d []byte) []byte {
	return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
		ref, page := firstPage(t, r)
		np := page.Clone()
		a := u.Add(pdfx.Dict{"Type": pdfx.Name("Annot"), "Subtype": pdfx.Name("FreeText"), "Rect": pdfx.Array{int64(72), int64(700), int64(300), int64(730)}, "Contents": pdfx.String("note"), "DA": pdfx.String("/Helv 12 Tf 0 g")})
		annots, _ := resolve(r, page["Annots"]).(pdfx.Array)
		np["Annots"] = append(append(pdfx.Array(nil), annots...), a)
		u.Put(ref, np)
	})
}

func addDSS(t testing.TB, p *pki, d []byte) []byte {
	return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
		ref := r.Trailer()["Root"].(pdfx.Ref)
		c := get(t, r, ref).Clone()
		cert := u.Add(&pdfx.Stream{Dict: pdfx.Dict{}, Data: p.inter.Cert.Raw})
		c["DSS"] = u.Add(pdfx.Dict{"Type": pdfx.Name("DSS"), "Certs": pdfx.Array{cert}})
		u.Put(ref, c)
	})
}

// addDocTimestamp appends a document timestamp (ETSI.RFC3161) made by a
// TSA under p's intermediate.
func addDocTimestamp(t testing.TB, p *pki, d []byte) []byte {
	t.Helper()
	tsa, err := p.inter.NewTSA(testpki.LeafOptions{NotBefore: p.now.Add(-47 * time.Hour)})
	require.NoError(t, err)
	return docTimestamp(t, d, tsa, p.now.Add(-time.Minute))
}

// docTimestamp appends a document timestamp by tsa dated at.
func docTimestamp(t testing.TB, d []byte, tsa *testpki.TSA, at time.Time) []byte {
	t.Helper()
	dict := pdfx.Dict{"Type": pdfx.Name("DocTimeStamp"), "Filter": pdfx.Name("Adobe.PPKLite"), "SubFilter": pdfx.Name("ETSI.RFC3161")}
	return appendSignature(t, d, dict, func(signed []byte) []byte {
		tok, err := tsa.Token(signed, at)
		require.NoError(t, err)
		return tok
	})
}

// appendSignature appends an incremental update with an invisible
// signature field whose value is dict with a /ByteRange and an 8 KiB
// /Contents; contents returns the DER (or BER) for the bytes the range
// covers.
func appendSignature(t testing.TB, d []byte, dict pdfx.Dict, contents func(signed []byte) []byte) []byte {
	t.Helper()
	r, err := pdfx.Open(bytes.NewReader(d), int64(len(d)), pdfx.Limits{})
	require.NoError(t, err)
	u := r.NewUpdate()
	br := &pdfx.Placeholder{Width: 60, Fill: ' '}
	ct := &pdfx.Placeholder{Width: 2 * 8192, Fill: '0', Prefix: "<", Suffix: ">"}
	sd := dict.Clone()
	sd["ByteRange"], sd["Contents"] = br, ct
	sigRef := u.Add(sd)
	pageRef, page := firstPage(t, r)
	widget := u.Add(pdfx.Dict{"Type": pdfx.Name("Annot"), "Subtype": pdfx.Name("Widget"), "FT": pdfx.Name("Sig"), "T": pdfx.String(fmt.Sprintf("Sig%d", len(d))),
		"V": sigRef, "Rect": pdfx.Array{int64(0), int64(0), int64(0), int64(0)}, "F": int64(132), "P": pageRef})
	np := page.Clone()
	annots, _ := resolve(r, page["Annots"]).(pdfx.Array)
	np["Annots"] = append(append(pdfx.Array(nil), annots...), widget)
	u.Put(pageRef, np)
	rootRef := r.Trailer()["Root"].(pdfx.Ref)
	cat := get(t, r, rootRef).Clone()
	acro := get(t, r, cat["AcroForm"]).Clone()
	acro["Fields"] = append(append(pdfx.Array(nil), resolve(r, acro["Fields"]).(pdfx.Array)...), widget)
	if ref, ok := cat["AcroForm"].(pdfx.Ref); ok {
		u.Put(ref, acro)
	} else {
		cat["AcroForm"] = acro
		u.Put(rootRef, cat)
	}
	upd, err := u.Bytes()
	require.NoError(t, err)
	out := append(append([]byte(nil), d...), upd...)
	// Placeholder offsets are file offsets.
	b := ct.Offset - 1
	c := ct.Offset + int64(ct.Width) + 1
	rng := fmt.Sprintf("[0 %d %d %d]", b, c, int64(len(out))-c)
	copy(out[br.Offset:], rng)
	signed := append(append([]byte(nil), out[:b]...), out[c:]...)
	der := contents(signed)
	require.LessOrEqual(t, 2*len(der), ct.Width, "the signature fits /Contents")
	hex.Encode(out[ct.Offset:], der)
	return out
}

func fillField(t testing.TB, d []byte) []byte {
	return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
		root := get(t, r, r.Trailer()["Root"])
		acro := get(t, r, root["AcroForm"])
		for _, f := range acro["Fields"].(pdfx.Array) {
			fd := get(t, r, f)
			if nameOf(fd["FT"]) == "Tx" {
				nf := fd.Clone()
				nf["V"] = pdfx.String("Abu")
				u.Put(f.(pdfx.Ref), nf)
				return
			}
		}
		t.Fatal("no text field")
	})
}

var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

func byteRangeOf(t testing.TB, d []byte) [4]int64 {
	m := byteRangeRE.FindAllSubmatch(d, -1)
	require.NotNil(t, m, "no ByteRange")
	last := m[len(m)-1]
	var br [4]int64
	for i := range br {
		br[i], _ = strconv.ParseInt(string(last[i+1]), 10, 64)
	}
	return br
}

// editByteRange rewrites the last /ByteRange in place, keeping its width.
func editByteRange(t testing.TB, d []byte, fn func(*[4]int64)) []byte {
	locs := regexp.MustCompile(byteRangeRE.String()+` *`).FindAllIndex(d, -1)
	loc := locs[len(locs)-1]
	br := byteRangeOf(t, d)
	fn(&br)
	s := fmt.Sprintf("/ByteRange [%d %d %d %d]", br[0], br[1], br[2], br[3])
	width := loc[1] - loc[0]
	require.LessOrEqual(t, len(s), width, "ByteRange %q does not fit", s)
	s += strings.Repeat(" ", width-len(s))
	out := append([]byte(nil), d...)
	copy(out[loc[0]:], s)
	return out
}

func TestPDFMalformed(t *testing.T) {
	p := newPKI(t)
	v := p.verifier()
	d := signPDF(t, p, pdfxtest.Generate(pdfxtest.Options{}), pdfsig.Options{})
	for _, cut := range []int{0, 10, len(d) / 2, len(d) - 7} {
		_, err := v.VerifyPDF(context.Background(), PDFRequest{Document: bytes.NewReader(d[:cut]), Size: int64(cut)})
		require.ErrorIs(t, err, roamsign.ErrInvalidInput, "cut %d", cut)
	}
	res := verifyPDF(t, v, pdfxtest.Generate(pdfxtest.Options{}))
	require.Equal(t, Invalid, res.Verdict, "unsigned document")
	require.Empty(t, res.Signatures, "unsigned document")
	v2 := p.verifier(func(c *Config) { c.MaxPDFSize = 100 })
	_, err := v2.VerifyPDF(context.Background(), PDFRequest{Document: bytes.NewReader(d), Size: int64(len(d))})
	require.ErrorIs(t, err, roamsign.ErrTooLarge, "size limit")
}

func TestPDFReportsSigner(t *testing.T) {
	p := newPKI(t)
	d := signPDF(t, p, pdfxtest.Generate(pdfxtest.Options{}), pdfsig.Options{Reason: "Perakuan 1", Location: "Putrajaya", Certify: pdfsig.FormFilling})
	res := verifyPDF(t, p.verifier(), d)
	s := res.Signatures[0]
	if s.Verdict != Valid || s.Reason != "Perakuan 1" || s.Location != "Putrajaya" || s.Kind != KindCertification || s.DocMDP != 2 ||
		s.Signer == nil || !strings.Contains(s.Signer.Subject, "ALI BIN ABU") || s.ClaimedTime == nil || !s.CoversDocument || s.Revocation[0].Status != RevGood {
		js, _ := json.MarshalIndent(res, "", " ")
		t.Fatalf("%s", js)
	}
	// Revocation flips the PDF verdict too.
	p.publish("/inter.crl", p.inter, testpkiRevoked(p))
	require.Equal(t, Invalid, verifyPDF(t, p.verifier(), d).Verdict, "revoked signer")
}

// FuzzVerifyPDF runs signature extraction and verification on arbitrary
// documents: no panic, a result or a typed error.
func FuzzVerifyPDF(f *testing.F) {
	p := newPKI(f)
	dir := f.TempDir()
	for _, n := range []struct {
		name string
		ca   *testpki.CA
	}{{"root.crl", p.root}, {"inter.crl", p.inter}} {
		der, _ := n.ca.BuildCRL(testpki.CRLSpec{ThisUpdate: p.now.Add(-time.Hour)})
		writeFile(f, filepath.Join(dir, n.name), der)
	}
	v := p.verifier(func(c *Config) { c.Fetcher = FileFetcher{Dir: dir} })
	base := pdfxtest.Generate(pdfxtest.Options{AcroForm: true})
	one := signPDF(f, p, base, pdfsig.Options{Certify: pdfsig.FormFilling})
	f.Add(one)
	f.Add(signPDF(f, p, one, pdfsig.Options{}))
	f.Add(fillField(f, one))
	f.Add(base)
	f.Fuzz(func(t *testing.T, doc []byte) {
		res, err := v.VerifyPDF(context.Background(), PDFRequest{Document: bytes.NewReader(doc), Size: int64(len(doc))})
		if err != nil {
			require.NotEqual(t, roamsign.KindUnknown, roamsign.KindOf(err), "untyped error: %v", err)
			return
		}
		require.NotEmpty(t, res.Verdict, "no verdict")
	})
}

func TestPDFDocumentTimestampReported(t *testing.T) {
	p := newPKI(t)
	d := addDocTimestamp(t, p, signPDF(t, p, pdfxtest.Generate(pdfxtest.Options{AcroForm: true}), pdfsig.Options{}))
	res := verifyPDF(t, p.verifier(), d)
	ts := res.Signatures[1]
	if res.Verdict != Valid || ts.Kind != KindDocumentTimestamp || ts.TimeSource != TimeSourceTimestamp || !ts.TimestampPresent || !ts.CoversDocument || res.Signatures[0].CoversDocument {
		js, _ := json.MarshalIndent(res, "", " ")
		t.Fatalf("%s", js)
	}
	// A token over other bytes is refused.
	br := byteRangeOf(t, d)
	bad := append([]byte(nil), d...)
	bad[br[1]-20] ^= 1 // a byte covered by the timestamp
	if res := verifyPDF(t, p.verifier(), bad); res.Verdict == Valid || len(res.Signatures) != 2 {
		t.Fatal("tampered document timestamp accepted")
	}
}

// resign gives d's last signature the byte range br and a new CMS
// signature by p over exactly the bytes br covers, written into the gap
// between the two ranges (zero padded).
func resign(t testing.TB, p *pki, d []byte, br [4]int64) []byte {
	t.Helper()
	out := editByteRange(t, d, func(x *[4]int64) { *x = br })
	h := sha256.New()
	h.Write(out[br[0] : br[0]+br[1]])
	h.Write(out[br[2] : br[2]+br[3]])
	prep, err := signcms.Prepare(h.Sum(nil), []*x509.Certificate{p.leaf, p.inter.Cert}, signcms.Options{OmitSigningTime: true})
	require.NoError(t, err)
	sig, err := p.key.Sign(rand.Reader, prep.Digest(), prep.SignerOpts())
	require.NoError(t, err)
	der, err := prep.Complete(sig)
	require.NoError(t, err)
	gap := out[br[0]+br[1]+1 : br[2]-1]
	require.LessOrEqual(t, 2*len(der), len(gap), "the CMS fits the gap")
	hex.Encode(gap, der)
	for i := 2 * len(der); i < len(gap); i++ {
		gap[i] = '0'
	}
	return out
}

// objStmWrapped returns a signed document whose signature dictionary
// (object 10) lies in an unfiltered object stream (object 11) whose data
// holds the gap. The gap is a valid hex string equal to the dictionary's
// /Contents, and the signature covers every other byte, but it is not the
// /Contents of a signature dictionary stored in the file: only the
// wrapping rule refuses it.
func objStmWrapped(t testing.TB, p *pki) []byte {
	t.Helper()
	base := pdfxtest.Generate(pdfxtest.Options{AcroForm: true})
	r, err := pdfx.Open(bytes.NewReader(base), int64(len(base)), pdfx.Limits{})
	require.NoError(t, err)
	pageRef, page := firstPage(t, r)
	rootRef := r.Trailer()["Root"].(pdfx.Ref)
	cat := get(t, r, rootRef).Clone()
	acro := cat["AcroForm"].(pdfx.Dict).Clone()

	var b bytes.Buffer
	b.Write(base)
	offs := map[int]int{}
	obj := func(n int, o pdfx.Object) {
		offs[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, pdfx.AppendObject(nil, o, 0))
	}
	obj(12, pdfx.Dict{"Type": pdfx.Name("Annot"), "Subtype": pdfx.Name("Widget"), "FT": pdfx.Name("Sig"), "T": pdfx.String("Wrapped"),
		"V": pdfx.Ref{Num: 10}, "F": int64(132), "Rect": pdfx.Array{int64(0), int64(0), int64(0), int64(0)}, "P": pageRef})
	np := page.Clone()
	annots, _ := resolve(r, page["Annots"]).(pdfx.Array)
	np["Annots"] = append(append(pdfx.Array(nil), annots...), pdfx.Ref{Num: 12})
	obj(pageRef.Num, np)
	fields, _ := resolve(r, acro["Fields"]).(pdfx.Array)
	acro["Fields"] = append(append(pdfx.Array(nil), fields...), pdfx.Ref{Num: 12})
	acro["SigFlags"] = int64(3)
	cat["AcroForm"] = acro
	obj(rootRef.Num, cat)
	hdr := "10 0 "
	data := hdr + "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 0 0 0]" +
		strings.Repeat(" ", 40) + " /Contents <" + strings.Repeat("0", 8192) + "> >>"
	offs[11] = b.Len()
	fmt.Fprintf(&b, "11 0 obj\n<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(hdr), len(data), data)
	offs[13] = b.Len()
	var rows []byte
	for _, n := range []int{1, 4, 10, 11, 12, 13} {
		if n == 10 {
			rows = append(rows, 2, 0, 0, 0, 11, 0, 0)
			continue
		}
		o := offs[n]
		rows = append(rows, 1, byte(o>>24), byte(o>>16), byte(o>>8), byte(o), 0, 0)
	}
	require.Equal(t, 4, pageRef.Num)
	require.Equal(t, 1, rootRef.Num)
	fmt.Fprintf(&b, "13 0 obj\n<< /Type /XRef /Size 14 /W [1 4 2] /Index [1 1 4 1 10 4] /Prev %d /Root 1 0 R /Length %d >>\nstream\n", r.StartXref(), len(rows))
	b.Write(rows)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", offs[13])
	doc := b.Bytes()
	gap := int64(bytes.Index(doc, []byte("/Contents <0000")) + len("/Contents "))
	end := gap + 8192 + 2
	return resign(t, p, doc, [4]int64{0, gap, end, int64(len(doc)) - end})
}
