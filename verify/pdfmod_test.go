package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	pdfsig "github.com/roamsign/roamsign/signer/pdf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawRow is a cross-reference stream row: type 1 (offset, generation) or
// type 2 (object stream, index).
type rawRow struct {
	typ  byte
	a, b int64
}

// rawUpdate appends to d a revision of hand-written objects (number →
// text between "n g obj" and "endobj", generation in gens, default 0) and
// an xref stream with a row for each of them, rows overriding or adding
// entries as given.
func rawUpdate(t testing.TB, d []byte, objs map[int]string, gens map[int]int, rows map[int]rawRow) []byte {
	t.Helper()
	r, err := pdfx.Open(bytes.NewReader(d), int64(len(d)), pdfx.Limits{})
	require.NoError(t, err)
	var b bytes.Buffer
	b.Write(d)
	all := map[int]rawRow{}
	nums := make([]int, 0, len(objs))
	for n := range objs {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		all[n] = rawRow{1, int64(b.Len()), int64(gens[n])}
		fmt.Fprintf(&b, "%d %d obj\n%s\nendobj\n", n, gens[n], objs[n])
	}
	for n, row := range rows {
		all[n] = row
	}
	xnum := r.MaxObjectNumber() + 1
	for n := range all {
		xnum = max(xnum, n+1)
	}
	all[xnum] = rawRow{1, int64(b.Len()), 0}
	nums = nums[:0]
	for n := range all {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var data []byte
	var index []string
	for _, n := range nums {
		e := all[n]
		data = append(data, e.typ, byte(e.a>>24), byte(e.a>>16), byte(e.a>>8), byte(e.a), byte(e.b>>8), byte(e.b))
		index = append(index, fmt.Sprintf("%d 1", n))
	}
	root := r.Trailer()["Root"].(pdfx.Ref)
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Index [%s] /Root %d 0 R /Prev %d /Length %d >>\nstream\n",
		xnum, xnum+1, strings.Join(index, " "), root.Num, r.StartXref(), len(data))
	b.Write(data)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", all[xnum].a)
	return b.Bytes()
}

// offsetOf returns the offset of object num in d.
func offsetOf(t testing.TB, d []byte, num int) int64 {
	t.Helper()
	r, err := pdfx.Open(bytes.NewReader(d), int64(len(d)), pdfx.Limits{})
	require.NoError(t, err)
	e, ok := r.Lookup(num)
	require.True(t, ok)
	require.Equal(t, pdfx.EntryInFile, e.Type)
	return e.Offset
}

// requireModified verifies d and requires every signature to be invalid
// because of a change after signing whose description contains want.
func requireModified(t *testing.T, v *Verifier, d []byte, sigs int, want string) *PDFResult {
	t.Helper()
	res := verifyPDF(t, v, d)
	js, _ := json.MarshalIndent(res, "", " ")
	require.Len(t, res.Signatures, sigs, "%s", js)
	for i, s := range res.Signatures {
		ch := s.Check(CheckIntegrity)
		require.NotNil(t, ch, "signature %d has no integrity check\n%s", i, js)
		assert.Equal(t, Invalid, ch.Verdict, "signature %d\n%s", i, js)
		assert.True(t, s.ModifiedAfterSigning, "signature %d\n%s", i, js)
		assert.Contains(t, ch.Reason, "modified after signing: ", "signature %d", i)
		assert.Contains(t, strings.Join(s.Changes, "; "), want, "signature %d\n%s", i, js)
		assert.Equal(t, Invalid, s.Verdict)
	}
	assert.Equal(t, Invalid, res.Verdict)
	return res
}

// Cross-reference tricks in a later revision are modifications that name
// the object, never an analysis that gives up.
func TestPDFCrossReferenceTricks(t *testing.T) {
	p := newPKI(t)
	// Objects: 1 catalog, 2 pages, 3 font, 4 and 6 pages, 5 and 7
	// contents, 8 the text field.
	signed := signPDF(t, p, pdfxtest.Generate(pdfxtest.Options{Pages: 2, AcroForm: true}), pdfsig.Options{})
	cases := []struct {
		name string
		doc  func() []byte
		want string
	}{
		{"two entries pointing at one offset", func() []byte {
			return rawUpdate(t, signed, nil, nil, map[int]rawRow{8: {1, offsetOf(t, signed, 6), 0}})
		}, "object 8: its new cross-reference entry"},
		{"an object redefined through an object stream", func() []byte {
			page := "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 595] /Contents 5 0 R >>"
			hdr := "4 0 "
			objstm := fmt.Sprintf("<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n%s%s\nendstream", len(hdr), len(hdr)+len(page), hdr, page)
			return rawUpdate(t, signed, map[int]string{40: objstm}, nil, map[int]rawRow{4: {2, 40, 0}})
		}, "page 4: /"},
		{"an object stream entry for an object it does not hold", func() []byte {
			hdr := "41 0 "
			body := "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>"
			objstm := fmt.Sprintf("<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n%s%s\nendstream", len(hdr), len(hdr)+len(body), hdr, body)
			return rawUpdate(t, signed, map[int]string{40: objstm}, nil, map[int]rawRow{3: {2, 40, 0}})
		}, "object 3: its new cross-reference entry"},
		{"an object number the signed revision used for a font, now an annotation", func() []byte {
			return rawUpdate(t, signed, map[int]string{3: "<< /Type /Annot /Subtype /Text /Rect [0 0 10 10] /Contents (x) >>"}, nil, nil)
		}, "object 3 (Font) was changed"},
		{"an object number given a new generation", func() []byte {
			return rawUpdate(t, signed, map[int]string{3: "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>"}, map[int]int{3: 1}, nil)
		}, "object 3 was replaced by a new generation"},
		{"an entry whose generation does not match the object", func() []byte {
			return rawUpdate(t, signed, nil, nil, map[int]rawRow{3: {1, offsetOf(t, signed, 3), 7}})
		}, "object 3 was replaced by a new generation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			requireModified(t, p.verifier(), c.doc(), 1, c.want)
		})
	}
}

// A later revision that cannot be read leaves the signatures of the
// revisions that can be read reported.
func TestPDFLaterRevisionUnreadable(t *testing.T) {
	p := newPKI(t)
	base := pdfxtest.Generate(pdfxtest.Options{AcroForm: true})
	one := signPDF(t, p, base, pdfsig.Options{Reason: "Perakuan 1"})
	two := signPDF(t, p, one, pdfsig.Options{Reason: "Perakuan 2"})
	broken := func(d []byte) []byte {
		// A table whose only line is not an entry.
		return fmt.Appendf(bytes.Clone(d), "1 0 obj\n<< /Type /Catalog >>\nendobj\nxref\n0 2\n0000000000 65535 f \nthis is no entry\ntrailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(d)+40)
	}
	for _, c := range []struct {
		name string
		doc  []byte
		sigs int
	}{
		{"one signature, then a broken revision", broken(one), 1},
		{"two signatures, then a broken revision", broken(two), 2},
		{"two signatures, then a revision cut short", append(bytes.Clone(two), "3 0 obj\n<< /Type /Annot"...), 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := requireModified(t, p.verifier(), c.doc, c.sigs, "later revision unreadable")
			for _, s := range res.Signatures {
				assert.True(t, strings.HasPrefix(s.Check(CheckIntegrity).Reason, "modified after signing: later revision unreadable"))
				assert.Equal(t, Valid, s.Check(CheckByteRange).Verdict, "the signed revision itself is intact")
				assert.False(t, s.CoversDocument)
			}
		})
	}
	// With no signature in what can be read, the document is unreadable.
	_, err := p.verifier().VerifyPDF(context.Background(), PDFRequest{Document: bytes.NewReader(broken(base)), Size: int64(len(broken(base)))})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
}

// formDoc returns a one-page document whose form has a visible text field
// "name" (merged with its widget), a visible field "amount" with an
// appearance stream, a hidden field "secret" with an appearance stream, and
// a read-only field "total", with the references of each field and
// appearance stream.
func formDoc(t testing.TB) ([]byte, map[string]pdfx.Ref) {
	t.Helper()
	base := pdfxtest.Generate(pdfxtest.Options{AcroForm: true})
	refs := map[string]pdfx.Ref{}
	d := update(t, base, func(r *pdfx.Reader, u *pdfx.Update) {
		pageRef, page := firstPage(t, r)
		rootRef := r.Trailer()["Root"].(pdfx.Ref)
		cat := get(t, r, rootRef).Clone()
		acro := cat["AcroForm"].(pdfx.Dict).Clone()
		fields := append(pdfx.Array(nil), acro["Fields"].(pdfx.Array)...)
		refs["name"] = fields[0].(pdfx.Ref)
		ap := func(text string) *pdfx.Stream {
			return &pdfx.Stream{Dict: pdfx.Dict{"Type": pdfx.Name("XObject"), "Subtype": pdfx.Name("Form"), "BBox": pdfx.Array{int64(0), int64(0), int64(228), int64(30)}},
				Data: []byte("/Tx BMC BT /F1 12 Tf 2 10 Td (" + text + ") Tj ET EMC")}
		}
		field := func(name string, y int64, extra pdfx.Dict) pdfx.Ref {
			f := pdfx.Dict{"Type": pdfx.Name("Annot"), "Subtype": pdfx.Name("Widget"), "FT": pdfx.Name("Tx"), "T": pdfx.String(name),
				"V": pdfx.String("1"), "Rect": pdfx.Array{int64(72), y, int64(300), y + 30}, "P": pageRef, "F": int64(4)}
			for k, v := range extra {
				f[k] = v
			}
			ref := u.Add(f)
			refs[name] = ref
			fields = append(fields, ref)
			return ref
		}
		refs["amountAP"] = u.Add(ap("100"))
		field("amount", 500, pdfx.Dict{"AP": pdfx.Dict{"N": refs["amountAP"]}})
		refs["secretAP"] = u.Add(ap("x"))
		field("secret", 450, pdfx.Dict{"F": int64(2), "AP": pdfx.Dict{"N": refs["secretAP"]}})
		field("total", 400, pdfx.Dict{"Ff": int64(1)})
		acro["Fields"] = fields
		cat["AcroForm"] = acro
		u.Put(rootRef, cat)
		np := page.Clone()
		np["Annots"] = append(pdfx.Array(nil), fields...)
		u.Put(pageRef, np)
	})
	return d, refs
}

// setKeys returns an update that sets keys of object ref.
func setKeys(t testing.TB, d []byte, ref pdfx.Ref, keys pdfx.Dict) []byte {
	return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
		o := get(t, r, ref).Clone()
		for k, v := range keys {
			o[k] = v
		}
		u.Put(ref, o)
	})
}

// Under an approval signature or DocMDP P=2, form filling is changing the
// value and the appearance of an existing, visible, fillable field.
func TestPDFFormFilling(t *testing.T) {
	p := newPKI(t)
	doc, refs := formDoc(t)
	apStream := func(text string) *pdfx.Stream {
		return &pdfx.Stream{Dict: pdfx.Dict{"Type": pdfx.Name("XObject"), "Subtype": pdfx.Name("Form"), "BBox": pdfx.Array{int64(0), int64(0), int64(228), int64(30)}},
			Data: []byte("/Tx BMC BT /F1 12 Tf 2 10 Td (" + text + ") Tj ET EMC")}
	}
	cases := []struct {
		name   string
		change func(d []byte) []byte
		want   string // "" when the change is form filling
	}{
		{"fill in a visible field", func(d []byte) []byte {
			return setKeys(t, d, refs["name"], pdfx.Dict{"V": pdfx.String("Abu")})
		}, ""},
		{"fill in a field with a new appearance stream", func(d []byte) []byte {
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				f := get(t, r, refs["amount"]).Clone()
				f["V"], f["AP"] = pdfx.String("200"), pdfx.Dict{"N": u.Add(apStream("200"))}
				u.Put(refs["amount"], f)
			})
		}, ""},
		{"fill in a field, redrawing its appearance stream in place", func(d []byte) []byte {
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				f := get(t, r, refs["amount"]).Clone()
				f["V"] = pdfx.String("300")
				u.Put(refs["amount"], f)
				u.Put(refs["amountAP"], apStream("300"))
			})
		}, ""},
		{"fill in a hidden field", func(d []byte) []byte {
			return setKeys(t, d, refs["secret"], pdfx.Dict{"V": pdfx.String("y")})
		}, fmt.Sprintf("form field %d was filled in although it is hidden", refs["secret"].Num)},
		{"fill in a read-only field", func(d []byte) []byte {
			return setKeys(t, d, refs["total"], pdfx.Dict{"V": pdfx.String("9,999,999")})
		}, fmt.Sprintf("form field %d was filled in although it is read-only", refs["total"].Num)},
		{"redraw the appearance of a hidden field", func(d []byte) []byte {
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) { u.Put(refs["secretAP"], apStream("PAID")) })
		}, fmt.Sprintf("object %d (XObject stream) was changed", refs["secretAP"].Num)},
		{"make a hidden field visible", func(d []byte) []byte {
			return setKeys(t, d, refs["secret"], pdfx.Dict{"F": int64(4)})
		}, fmt.Sprintf("form field %d: /F was changed", refs["secret"].Num)},
		{"move a widget", func(d []byte) []byte {
			return setKeys(t, d, refs["name"], pdfx.Dict{"Rect": pdfx.Array{int64(72), int64(700), int64(300), int64(730)}})
		}, fmt.Sprintf("form field %d: /Rect was changed", refs["name"].Num)},
		{"resize a widget", func(d []byte) []byte {
			return setKeys(t, d, refs["name"], pdfx.Dict{"Rect": pdfx.Array{int64(72), int64(600), int64(500), int64(700)}})
		}, fmt.Sprintf("form field %d: /Rect was changed", refs["name"].Num)},
		{"change field flags", func(d []byte) []byte {
			return setKeys(t, d, refs["total"], pdfx.Dict{"Ff": int64(0)})
		}, fmt.Sprintf("form field %d: /Ff was changed", refs["total"].Num)},
		{"add a widget to the page", func(d []byte) []byte {
			return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
				pageRef, page := firstPage(t, r)
				w := u.Add(pdfx.Dict{"Type": pdfx.Name("Annot"), "Subtype": pdfx.Name("Widget"), "FT": pdfx.Name("Tx"), "T": pdfx.String("extra"),
					"V": pdfx.String("PAID"), "Rect": pdfx.Array{int64(72), int64(300), int64(300), int64(330)}, "P": pageRef, "F": int64(4)})
				np := page.Clone()
				np["Annots"] = append(append(pdfx.Array(nil), resolve(r, page["Annots"]).(pdfx.Array)...), w)
				u.Put(pageRef, np)
			})
		}, "annotations: a disallowed entry was added"},
		{"add an annotation to the page", func(d []byte) []byte { return addAnnot(t, d) }, "annotations: a disallowed entry was added"},
	}
	for _, c := range cases {
		for _, certify := range []pdfsig.Permission{pdfsig.Approval, pdfsig.FormFilling} {
			kind := "approval"
			if certify != pdfsig.Approval {
				kind = "certification P=2"
			}
			t.Run(c.name+", "+kind, func(t *testing.T) {
				d := c.change(signPDF(t, p, doc, pdfsig.Options{Certify: certify}))
				if c.want != "" {
					requireModified(t, p.verifier(), d, 1, c.want)
					return
				}
				res := verifyPDF(t, p.verifier(), d)
				js, _ := json.MarshalIndent(res, "", " ")
				require.Len(t, res.Signatures, 1)
				assert.Equal(t, Valid, res.Verdict, "%s", js)
				assert.False(t, res.Signatures[0].ModifiedAfterSigning)
			})
		}
	}
}
