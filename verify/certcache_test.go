package verify

import (
	"bytes"
	"crypto/x509"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	icms "github.com/roamsign/roamsign/internal/cms"
	"github.com/roamsign/roamsign/internal/testpki"
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
	c, err := testpki.SelfSigned(pad)
	require.NoError(t, err)
	return c
}

// TestCarriedCRLsRememberedByContent: a CRL carried by documents is parsed
// once and then answered from the memo only for the same bytes: another
// CRL gets its own parse and bytes that are not a CRL are refused (keys
// that collide are internal/memo's to test); a CRL over 4 MiB is parsed
// without being kept.
func TestCarriedCRLsRememberedByContent(t *testing.T) {
	ca, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	v, err := New(Config{Anchors: []*x509.Certificate{ca.Cert}})
	require.NoError(t, err)
	der, err := ca.CRL(testpki.CRLOptions{})
	require.NoError(t, err)
	a, err := v.parseCarriedCRL(der)
	require.NoError(t, err)
	b, err := v.parseCarriedCRL(bytes.Clone(der))
	require.NoError(t, err)
	require.Same(t, a, b, "the same bytes: remembered")

	other, err := ca.CRL(testpki.CRLOptions{Number: big.NewInt(99)})
	require.NoError(t, err)
	c, err := v.parseCarriedCRL(other)
	require.NoError(t, err)
	require.NotSame(t, a, c)
	require.Equal(t, other, c.Raw, "another CRL is parsed, not taken for the first")
	notCRL := bytes.Clone(other)
	notCRL[0] = 0x31
	_, err = v.parseCarriedCRL(notCRL)
	require.Error(t, err, "same length, not a CRL")

	large, err := ca.CRL(testpki.CRLOptions{Entries: testpki.Revoked(1, 4<<20/20)})
	require.NoError(t, err)
	require.Greater(t, len(large), 4<<20, "over the documented 4 MiB")
	n := v.crls.Len()
	l1, err := v.parseCarriedCRL(large)
	require.NoError(t, err)
	l2, err := v.parseCarriedCRL(large)
	require.NoError(t, err)
	require.NotSame(t, l1, l2, "a large CRL is not kept")
	require.Equal(t, n, v.crls.Len())
}
