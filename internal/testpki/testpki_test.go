package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
)

func TestHierarchy(t *testing.T) {
	root, err := NewRoot(Options{})
	require.NoError(t, err)
	srv := NewCRLServer()
	defer srv.Close()
	inter, err := root.NewIntermediate(Options{CRLURL: srv.URLFor("/inter.crl")})
	require.NoError(t, err)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf, err := inter.IssueLeaf("ALI BIN ABU", "900101145678", k.Public(), LeafOptions{})
	require.NoError(t, err)
	inters := x509.NewCertPool()
	inters.AddCert(inter.Cert)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: root.Pool(), Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	require.NoError(t, err, "leaf does not chain")
	require.Equal(t, "C=MY, CN=ALI BIN ABU, SURNAME=900101145678, SERIALNUMBER=900101145678", roamsign.FormatDN(leaf.RawSubject), "the roaming subject")
	require.Len(t, leaf.CRLDistributionPoints, 1)

	inter.Revoke(leaf.SerialNumber, time.Time{}, 1)
	der, err := inter.CRL(CRLOptions{})
	require.NoError(t, err)
	srv.Set("/inter.crl", der)
	resp, err := http.Get(leaf.CRLDistributionPoints[0])
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	crl, err := x509.ParseRevocationList(body)
	require.NoError(t, err)
	require.NoError(t, crl.CheckSignatureFrom(inter.Cert))
	require.Len(t, crl.RevokedCertificateEntries, 1)
	require.Zero(t, crl.RevokedCertificateEntries[0].SerialNumber.Cmp(leaf.SerialNumber), "revoked serial")
	require.EqualValues(t, 1, srv.Hits())
}

// failRecorder is a testing.TB whose Fatal and Fatalf record the failure
// and return, so that a check can be seen to fail.
type failRecorder struct {
	testing.TB
	failed bool
}

func (f *failRecorder) Fatal(...any)          { f.failed = true }
func (f *failRecorder) Fatalf(string, ...any) { f.failed = true }

// TestOpenSSLVerifyTokenCanFail: the openssl check accepts a token over
// its digest under its root, and refuses another digest and another root.
func TestOpenSSLVerifyTokenCanFail(t *testing.T) {
	root, err := NewRoot(Options{})
	require.NoError(t, err)
	other, err := NewRoot(Options{Name: "Other Root"})
	require.NoError(t, err)
	tsa, err := root.NewTSA(LeafOptions{})
	require.NoError(t, err)
	tok, err := tsa.Token([]byte("data"), time.Now())
	require.NoError(t, err)
	sum := sha256.Sum256([]byte("data"))
	OpenSSLVerifyToken(t, tok, sum[:], []*x509.Certificate{root.Cert}, nil)
	for name, tc := range map[string]struct {
		digest []byte
		root   *x509.Certificate
	}{"another digest": {make([]byte, 32), root.Cert}, "another root": {sum[:], other.Cert}} {
		f := &failRecorder{TB: t}
		OpenSSLVerifyToken(f, tok, tc.digest, []*x509.Certificate{tc.root}, nil)
		assert.True(t, f.failed, name)
	}
}
