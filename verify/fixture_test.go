package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/require"
)

// pki is a root → intermediate → leaf hierarchy whose CRLs are published by
// a local CRL server.
type pki struct {
	t     testing.TB
	srv   *testpki.CRLServer
	root  *testpki.CA
	inter *testpki.CA
	leaf  *x509.Certificate
	key   crypto.Signer
	now   time.Time
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	srv := testpki.NewCRLServer()
	t.Cleanup(srv.Close)
	now := time.Now().Truncate(time.Second)
	root, err := testpki.NewRoot(testpki.Options{CRLURL: srv.URLFor("/root.crl"), NotBefore: now.Add(-48 * time.Hour)})
	require.NoError(t, err)
	inter, err := root.NewIntermediate(testpki.Options{CRLURL: srv.URLFor("/inter.crl"), NotBefore: now.Add(-48 * time.Hour)})
	require.NoError(t, err)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, err := inter.IssueLeaf("ALI BIN ABU", "900101145678", key.Public(), testpki.LeafOptions{NotBefore: now.Add(-24 * time.Hour)})
	require.NoError(t, err)
	p := &pki{t: t, srv: srv, root: root, inter: inter, leaf: leaf, key: key, now: now}
	p.publish("/root.crl", root, testpki.CRLSpec{})
	p.publish("/inter.crl", inter, testpki.CRLSpec{})
	return p
}

func (p *pki) publish(path string, ca *testpki.CA, spec testpki.CRLSpec) {
	p.t.Helper()
	if spec.ThisUpdate.IsZero() {
		spec.ThisUpdate = p.now.Add(-time.Hour)
	}
	der, err := ca.BuildCRL(spec)
	require.NoError(p.t, err)
	p.srv.Set(path, der)
}

func (p *pki) verifier(mod ...func(*Config)) *Verifier {
	p.t.Helper()
	cfg := Config{Anchors: []*x509.Certificate{p.root.Cert}, Now: func() time.Time { return p.now }}
	for _, m := range mod {
		m(&cfg)
	}
	v, err := New(cfg)
	require.NoError(p.t, err)
	return v
}

func (p *pki) check(v *Verifier, leaf *x509.Certificate) *Result {
	return v.VerifyChain(context.Background(), ChainRequest{Leaf: leaf, Intermediates: []*x509.Certificate{p.inter.Cert}})
}

func testpkiRevoked(p *pki) testpki.CRLSpec {
	return testpki.CRLSpec{Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: p.leaf.SerialNumber, Time: p.now.Add(-time.Minute), Reason: testpki.ReasonKeyCompromise}}}}
}
