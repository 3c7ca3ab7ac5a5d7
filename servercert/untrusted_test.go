package servercert_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/servercert"
)

// TestBundleUntrustedRootIsCalledSo: a certificate issued directly by a
// private root that is not trusted, and that names no address for its
// issuer (as a development CA's), is reported as an untrusted root, not
// as a missing intermediate to go and find.
func TestBundleUntrustedRootIsCalledSo(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{Name: "Agency Development CA"})
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf, err := root.Issue(&x509.Certificate{
		Subject:   pkix.Name{CommonName: "portal.agency.test"},
		DNSNames:  []string{"portal.agency.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(0, 3, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, key.Public())
	require.NoError(t, err)
	rep, err := servercert.CheckBundle(servercert.BundleRequest{
		Certificate: servercert.Input{Name: "server.pem", Data: testpki.PEM(leaf)},
		Key:         key,
		Roots:       x509.NewCertPool(),
	})
	require.NoError(t, err)
	assert.False(t, rep.OK)
	assert.True(t, rep.Has(servercert.CodeUntrustedRoot), "%+v", rep.Findings)
	assert.False(t, rep.Has(servercert.CodeMissingIntermediate), "an untrusted root is called a missing intermediate")
	assert.Nil(t, rep.MissingIssuer(), "nothing to download")
	for _, f := range rep.Findings {
		if f.Code == servercert.CodeUntrustedRoot {
			assert.Contains(t, f.Message, "untrusted root")
			assert.Contains(t, f.Message, "Agency Development CA")
		}
	}
}
