package cms

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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCertMemo: the same DER gives the same certificate, parsed once;
// DER that does not parse is refused every time and not remembered; the
// memo never holds more than MaxMemoCerts certificates, nor one larger
// than MaxMemoCertSize.
func TestCertMemo(t *testing.T) {
	_, cert := tstToken(t)
	var m CertMemo
	a, err := m.Parse(cert.Raw)
	require.NoError(t, err)
	b, err := m.Parse(append([]byte(nil), cert.Raw...))
	require.NoError(t, err)
	assert.Same(t, a, b, "parsed once")
	assert.True(t, a.Equal(cert))

	bad := append([]byte(nil), cert.Raw...)
	bad[len(bad)-1] ^= 0xff // the signature's last byte: still DER, but another certificate
	c, err := m.Parse(bad)
	require.NoError(t, err)
	assert.NotSame(t, a, c)
	for range 2 {
		_, err = m.Parse(cert.Raw[:len(cert.Raw)-1])
		require.Error(t, err)
	}
	assert.Equal(t, 2, m.m.Len(), "failures are not remembered")

	for range MaxMemoCerts + 5 {
		_, tc := tstToken(t)
		_, err := m.Parse(tc.Raw)
		require.NoError(t, err)
		assert.LessOrEqual(t, m.m.Len(), MaxMemoCerts)
	}

	// A certificate over MaxMemoCertSize is parsed but not kept.
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "large"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: make([]byte, MaxMemoCertSize)}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	require.NoError(t, err)
	require.Greater(t, len(der), MaxMemoCertSize)
	l1, err := m.Parse(der)
	require.NoError(t, err)
	l2, err := m.Parse(der)
	require.NoError(t, err)
	assert.NotSame(t, l1, l2, "not kept")
	_, kept := m.m.Get(string(der))
	assert.False(t, kept)
}
