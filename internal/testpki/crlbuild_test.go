package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBuildCRLParsesWithStdlib(t *testing.T) {
	root, err := NewRoot(Options{})
	require.NoError(t, err)
	now := time.Now().Truncate(time.Second)
	der, err := root.BuildCRL(CRLSpec{
		Number:      big.NewInt(7),
		FreshestCRL: "http://example.test/delta.crl",
		Entries:     []CRLEntry{{Revocation: Revocation{Serial: big.NewInt(42), Time: now, Reason: ReasonCertificateHold}, InvalidityDate: now.Add(-time.Hour)}},
	})
	require.NoError(t, err)
	crl, err := x509.ParseRevocationList(der)
	require.NoError(t, err)
	require.NoError(t, crl.CheckSignatureFrom(root.Cert))
	require.EqualValues(t, 7, crl.Number.Int64())
	require.Len(t, crl.RevokedCertificateEntries, 1)
	e := crl.RevokedCertificateEntries[0]
	require.Equal(t, ReasonCertificateHold, e.ReasonCode)
	require.EqualValues(t, 42, e.SerialNumber.Int64())
	require.Equal(t, root.Cert.RawSubject, crl.RawIssuer, "issuer")
	require.Equal(t, root.Cert.SubjectKeyId, crl.AuthorityKeyId)
	var freshest bool
	for _, x := range crl.Extensions {
		freshest = freshest || x.Id.Equal(OIDFreshestCRL)
	}
	require.True(t, freshest, "freshest CRL extension")
}

func TestTSAToken(t *testing.T) {
	root, err := NewRoot(Options{})
	require.NoError(t, err)
	tsa, err := root.NewTSA(LeafOptions{})
	require.NoError(t, err)
	tok, err := tsa.Token([]byte("x"), time.Now())
	require.NoError(t, err)
	require.Greater(t, len(tok), 100, "token size")
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf, err := root.IssueLeaf("A", "900101145678", k.Public(), LeafOptions{})
	require.NoError(t, err)
	_, err = BuildCMS(CMSSpec{Content: []byte("x"), Key: k, Cert: leaf})
	require.NoError(t, err)
}
