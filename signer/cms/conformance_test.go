package cms_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ocsp"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/adestest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/cms"
)

// TestCAdESBaselineConformance checks the package's outputs against ETSI
// EN 319 122-1 clause 6.3 (CAdES-B-B, -B-T, -B-LT) with package
// adestest's own reading of the ASN.1: every key type and hash at B-B,
// PSS included; B-T with the signature time-stamp over the signature
// value; B-LT with the material in SignedData.certificates and crls, an
// OCSP response as id-ri-ocsp-response.
func TestCAdESBaselineConformance(t *testing.T) {
	ctx := context.Background()
	content := []byte("Perakuan 1: baucar bayaran 2026/0042, RM 1,250.00")
	p := testPKI(t)
	for name, key := range p.keys {
		for _, h := range []roamsign.HashAlgorithm{roamsign.SHA256, roamsign.SHA384, roamsign.SHA512} {
			opts := cms.Options{Hash: h}
			sig, err := cms.Sign(ctx, key, bytes.NewReader(content), p.chains[name], opts)
			require.NoError(t, err)
			adestest.CheckBB(t, sig, content, p.chains[name][0], adestest.CAdES)
			if name == "rsa" {
				opts.PSS = true
				sig, err = cms.Sign(ctx, key, bytes.NewReader(content), p.chains[name], opts)
				require.NoError(t, err)
				adestest.CheckBB(t, sig, content, p.chains[name][0], adestest.CAdES)
			}
		}
	}

	lp := newLTPKI(t)
	chain := []*x509.Certificate{lp.leaf, lp.inter.Cert}
	sig, err := cms.Sign(ctx, lp.key, bytes.NewReader(content), chain, cms.Options{})
	require.NoError(t, err)
	bt, err := cms.AddSignatureTimestamp(ctx, sig, lp.client)
	require.NoError(t, err)
	adestest.CheckBT(t, adestest.CheckBB(t, bt, content, lp.leaf, adestest.CAdES))

	crl, err := lp.inter.BuildCRL(testpki.CRLSpec{})
	require.NoError(t, err)
	rootCRL, err := lp.root.BuildCRL(testpki.CRLSpec{})
	require.NoError(t, err)
	resp, err := ocsp.CreateResponse(lp.inter.Cert, lp.inter.Cert, ocsp.Response{
		Status: ocsp.Good, SerialNumber: lp.leaf.SerialNumber, ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour),
	}, lp.inter.Key)
	require.NoError(t, err)
	all := []*x509.Certificate{lp.leaf, lp.inter.Cert, lp.root.Cert, lp.tsa.Cert}
	var ders [][]byte
	for _, c := range all {
		ders = append(ders, c.Raw)
	}
	lt, err := cms.AddCertificates(bt, ders)
	require.NoError(t, err)
	lt, err = cms.AddRevocationInfo(lt, [][]byte{crl, rootCRL}, [][]byte{resp})
	require.NoError(t, err)
	sd := adestest.CheckBB(t, lt, content, lp.leaf, adestest.CAdES)
	adestest.CheckBT(t, sd)
	crls, ocsps := adestest.CheckLT(t, sd, all)
	require.Equal(t, 2, crls)
	require.Equal(t, 1, ocsps)

	// Without OCSP responses the SignedData keeps version 1.
	lt, err = cms.AddRevocationInfo(bt, [][]byte{crl}, nil)
	require.NoError(t, err)
	sd = adestest.CheckBB(t, lt, content, lp.leaf, adestest.CAdES)
	_, ocsps = adestest.CheckLT(t, sd, chain)
	require.Zero(t, ocsps)
}
