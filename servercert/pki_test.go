package servercert_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/testpki"
)

// testPKI is a root, an intermediate and server certificates issued at
// test time.
type testPKI struct {
	root, inter *testpki.CA
	roots       *x509.CertPool
	inters      *x509.CertPool
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{Name: "Test Root CA", NotBefore: time.Now().AddDate(-3, 0, 0)})
	require.NoError(t, err)
	inter, err := root.NewIntermediate(testpki.Options{Name: "Test TLS Issuing CA", NotBefore: time.Now().AddDate(-3, 0, 0)})
	require.NoError(t, err)
	p := &testPKI{root: root, inter: inter, roots: root.Pool(), inters: x509.NewCertPool()}
	p.inters.AddCert(inter.Cert)
	return p
}

type serverCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

type leafOpts struct {
	notBefore, notAfter time.Time
	key                 crypto.Signer
	issuer              *testpki.CA
}

func (p *testPKI) leaf(t testing.TB, names []string, o leafOpts) serverCert {
	t.Helper()
	key := o.key
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		key = k
	}
	if o.notBefore.IsZero() {
		o.notBefore = time.Now().Add(-time.Hour).Truncate(time.Second)
	}
	if o.notAfter.IsZero() {
		o.notAfter = o.notBefore.AddDate(1, 0, 0)
	}
	ca := o.issuer
	if ca == nil {
		ca = p.inter
	}
	c, err := ca.Issue(&x509.Certificate{
		Subject:               pkix.Name{Country: []string{"MY"}, Organization: []string{"Test Agency"}, CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             o.notBefore,
		NotAfter:              o.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IssuingCertificateURL: []string{"http://ca.test/issuing.crt"},
	}, key.Public())
	require.NoError(t, err)
	return serverCert{cert: c, key: key}
}

// tlsCert returns a tls.Certificate serving leaf followed by chain.
func tlsCert(sc serverCert, chain ...*x509.Certificate) tls.Certificate {
	tc := tls.Certificate{PrivateKey: sc.key, Leaf: sc.cert, Certificate: [][]byte{sc.cert.Raw}}
	for _, c := range chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc
}

func keyPEM(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func writeTemp(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

type x509Cert = x509.Certificate

// hsmKey hides the concrete key type, as an HSM-held signer does.
type hsmKey struct{ s crypto.Signer }

func (k hsmKey) Public() crypto.PublicKey { return k.s.Public() }
func (k hsmKey) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return k.s.Sign(r, d, o)
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

func base64Wrap(der []byte) string {
	s := base64.StdEncoding.EncodeToString(der)
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\r\n")
		s = s[64:]
	}
	b.WriteString(s)
	return b.String()
}

// exampleServerTemplate is the server certificate the examples issue.
var exampleServerTemplate = x509.Certificate{
	Subject:               pkix.Name{Country: []string{"MY"}, Organization: []string{"Agency"}, CommonName: "agency.gov.my"},
	DNSNames:              []string{"agency.gov.my", "*.agency.gov.my"},
	NotBefore:             time.Now().Add(-time.Hour),
	NotAfter:              time.Now().AddDate(1, 0, 0),
	KeyUsage:              x509.KeyUsageDigitalSignature,
	ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	BasicConstraintsValid: true,
}
