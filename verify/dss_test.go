package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	pdfsig "github.com/roamsign/roamsign/signer/pdf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withDSS appends a /DSS holding the given CRLs and certificates, the
// CRLs referenced from /CRLs or (vri) from a /VRI entry only.
func withDSS(t testing.TB, d []byte, crls, certs [][]byte, vri bool) []byte {
	return update(t, d, func(r *pdfx.Reader, u *pdfx.Update) {
		ref := r.Trailer()["Root"].(pdfx.Ref)
		c := get(t, r, ref).Clone()
		var crlRefs, certRefs pdfx.Array
		for _, b := range crls {
			crlRefs = append(crlRefs, u.Add(&pdfx.Stream{Dict: pdfx.Dict{}, Data: b}))
		}
		for _, b := range certs {
			certRefs = append(certRefs, u.Add(&pdfx.Stream{Dict: pdfx.Dict{}, Data: b}))
		}
		dss := pdfx.Dict{"Type": pdfx.Name("DSS"), "Certs": certRefs}
		if vri {
			dss["VRI"] = pdfx.Dict{"0123456789ABCDEF0123456789ABCDEF01234567": pdfx.Dict{"CRL": crlRefs}}
		} else {
			dss["CRLs"] = crlRefs
		}
		c["DSS"] = u.Add(dss)
		u.Put(ref, c)
	})
}

// TestPDFDSSEvidence: the CRLs and certificates of a PDF's document
// security store decide offline, from /CRLs or from /VRI; without them the
// same document is indeterminate; a revoked status in the DSS is invalid.
func TestPDFDSSEvidence(t *testing.T) {
	o := newOfflinePKI(t)
	doc := pdfxtest.Generate(pdfxtest.Options{AcroForm: true})
	var out bytes.Buffer
	// The signature carries only the leaf: the intermediate comes from the DSS.
	require.NoError(t, pdfsig.Sign(context.Background(), bytes.NewReader(doc), int64(len(doc)), &out, o.key,
		[]*x509.Certificate{o.leaf}, pdfsig.Options{Now: func() time.Time { return o.now }}))
	signed := out.Bytes()
	rootCRL := o.crl(t, o.root, testpki.CRLSpec{})
	good := o.crl(t, o.ca, testpki.CRLSpec{})
	revoked := o.crl(t, o.ca, testpki.CRLSpec{Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: o.leaf.SerialNumber, Time: o.now.Add(-2 * time.Hour), Reason: 1}}}})
	inter := [][]byte{o.ca.Cert.Raw}
	v := o.verifierWith(t, nil)
	cases := []struct {
		name string
		doc  []byte
		want Verdict
	}{
		{"no DSS", signed, Invalid},
		{"DSS with the intermediate only", withDSS(t, signed, nil, inter, false), Indeterminate},
		{"DSS CRLs", withDSS(t, signed, [][]byte{rootCRL, good}, inter, false), Valid},
		{"DSS VRI CRLs", withDSS(t, signed, [][]byte{rootCRL, good}, inter, true), Valid},
		{"DSS revoked", withDSS(t, signed, [][]byte{rootCRL, revoked}, inter, false), Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := v.VerifyPDF(context.Background(), PDFRequest{Document: bytes.NewReader(tc.doc), Size: int64(len(tc.doc))})
			require.NoError(t, err)
			require.Len(t, res.Signatures, 1)
			s := res.Signatures[0]
			assert.Equal(t, tc.want, s.Verdict, "%+v", s.Checks)
			if tc.want == Valid {
				assert.Equal(t, OriginDSS, s.Revocation[0].Origin)
				assert.Equal(t, IndicationPassed, s.Indication)
			}
		})
	}
}

// FuzzDSS reads arbitrary bytes as a PDF's DSS streams.
func FuzzDSS(f *testing.F) {
	f.Add([]byte("junk"), true)
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(f, err)
	v, err := New(Config{Anchors: []*x509.Certificate{root.Cert}})
	require.NoError(f, err)
	doc := pdfxtest.Generate(pdfxtest.Options{})
	f.Fuzz(func(t *testing.T, data []byte, vri bool) {
		d := withDSS(t, doc, [][]byte{data}, [][]byte{data}, vri)
		r, err := pdfx.Open(bytes.NewReader(d), int64(len(d)), pdfx.Limits{})
		if err != nil {
			return
		}
		_ = v.dssEvidence(dssData(r, costCMSParse))
	})
}
