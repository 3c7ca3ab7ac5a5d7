package pdf

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/verify"
	"github.com/stretchr/testify/require"
)

// TestJunkBeforeHeader signs documents that start with bytes before their
// %PDF- header (a mail or HTTP header left in front, which ISO 32000
// allows: offsets count from the header), twice, incrementally: the
// signatures cover the whole file, junk included, and qpdf, pdfsig and
// verify accept them.
func TestJunkBeforeHeader(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	v := offlineVerifier(t, p)
	junk := []byte("Content-Type: application/pdf\r\nX-Scanner: MFP-3000\r\n\r\n")
	for name, doc := range docs(t) {
		t.Run(name, func(t *testing.T) {
			in := append(bytes.Clone(junk), doc...)
			once := signDoc(t, in, p.key, p.chain, Options{})
			twice := signDoc(t, once, p.key2, p.chain2, Options{Appearance: &Appearance{Rect: [4]float64{50, 50, 250, 120}}})
			requireValid(t, twice, 2, nss)
			res, err := v.VerifyPDF(context.Background(), verify.PDFRequest{Document: bytes.NewReader(twice), Size: int64(len(twice))})
			require.NoError(t, err)
			require.Len(t, res.Signatures, 2)
			for _, s := range res.Signatures {
				require.Equal(t, verify.Valid, s.Verdict, "%+v", s.Checks)
				require.Zero(t, s.ByteRange[0], "the junk is signed too")
			}
			require.True(t, res.Signatures[1].CoversDocument)
		})
	}
}

// offlineVerifier trusts the test root, offline, with the CAs' CRLs.
func offlineVerifier(t testing.TB, p *testPKI) *verify.Verifier {
	var crls [][]byte
	for _, ca := range []*testpki.CA{p.root, p.inter} {
		c, err := ca.CRL(testpki.CRLOptions{})
		require.NoError(t, err)
		crls = append(crls, c)
	}
	v, err := verify.New(verify.Config{Anchors: []*x509.Certificate{p.root.Cert}, Offline: true,
		Supplied: verify.ValidationData{CRLs: crls}, MaxPDFSize: 2 << 30})
	require.NoError(t, err)
	return v
}
