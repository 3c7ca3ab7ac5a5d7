package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	icms "github.com/roamsign/roamsign/internal/cms"
)

// TestParseCacheKeepsNoLargeCertificate: the verifier's parse cache keeps
// ordinary certificates (the same DER gives the same certificate) but not
// one over icms.MaxMemoCertSize, so the cache's memory stays bounded
// whatever certificates a document brings.
func TestParseCacheKeepsNoLargeCertificate(t *testing.T) {
	v, err := New(Config{Anchors: []*x509.Certificate{selfSigned(t, 0)}})
	require.NoError(t, err)
	small, large := selfSigned(t, 0), selfSigned(t, icms.MaxMemoCertSize)
	require.Greater(t, len(large.Raw), icms.MaxMemoCertSize)

	a, err := v.parseCert(small.Raw)
	require.NoError(t, err)
	b, err := v.parseCert(small.Raw)
	require.NoError(t, err)
	require.Same(t, a, b, "an ordinary certificate is kept")

	a, err = v.parseCert(large.Raw)
	require.NoError(t, err)
	b, err = v.parseCert(large.Raw)
	require.NoError(t, err)
	require.NotSame(t, a, b, "a large certificate is not kept")
	_, kept := v.certs.m.Get(string(large.Raw))
	require.False(t, kept)
}

// selfSigned returns a self-signed certificate with an extension of pad
// bytes.
func selfSigned(t *testing.T, pad int) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cache"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	if pad > 0 {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: make([]byte, pad)}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c
}
