package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ocsp"
)

func TestOCSPPolicies(t *testing.T) {
	type tc struct {
		name   string
		policy RevocationPolicy
		setup  func(p *pki, o *testpki.OCSPResponder)
		want   Verdict
		source string
	}
	cases := []tc{
		{name: "ocsp good", policy: RevocationOCSP, want: Valid, source: "ocsp"},
		{name: "ocsp revoked", policy: RevocationOCSP, setup: func(p *pki, o *testpki.OCSPResponder) {
			p.inter.Revoke(p.leaf.SerialNumber, p.now.Add(-time.Minute), testpki.ReasonKeyCompromise)
		}, want: Invalid, source: "ocsp"},
		{name: "ocsp hold is revoked", policy: RevocationOCSP, setup: func(p *pki, o *testpki.OCSPResponder) {
			p.inter.Revoke(p.leaf.SerialNumber, p.now.Add(-time.Minute), testpki.ReasonCertificateHold)
		}, want: Invalid, source: "ocsp"},
		{name: "ocsp responder down", policy: RevocationOCSP, setup: func(p *pki, o *testpki.OCSPResponder) {
			o.SetBroken(true)
		}, want: Indeterminate},
		{name: "ocsp stale answer", policy: RevocationOCSP, setup: func(p *pki, o *testpki.OCSPResponder) {
			o.SetTimes(p.now.Add(-3*time.Hour), p.now.Add(-time.Hour))
		}, want: Indeterminate},
		{name: "ocsp answer without nextUpdate window in the future", policy: RevocationOCSP, setup: func(p *pki, o *testpki.OCSPResponder) {
			o.SetTimes(p.now.Add(time.Hour), p.now.Add(2*time.Hour))
		}, want: Indeterminate},
		{name: "crl down, ocsp fallback good", policy: RevocationCRLOrOCSP, setup: func(p *pki, o *testpki.OCSPResponder) {
			p.srv.Handle("/inter.crl", http.NotFoundHandler())
		}, want: Valid, source: "ocsp"},
		{name: "crl down, ocsp fallback revoked", policy: RevocationCRLOrOCSP, setup: func(p *pki, o *testpki.OCSPResponder) {
			p.srv.Handle("/inter.crl", http.NotFoundHandler())
			p.inter.Revoke(p.leaf.SerialNumber, p.now.Add(-time.Minute), testpki.ReasonKeyCompromise)
		}, want: Invalid, source: "ocsp"},
		{name: "crl and ocsp down", policy: RevocationCRLOrOCSP, setup: func(p *pki, o *testpki.OCSPResponder) {
			p.srv.Handle("/inter.crl", http.NotFoundHandler())
			o.SetBroken(true)
		}, want: Indeterminate},
		{name: "crl decides first", policy: RevocationCRLOrOCSP, setup: func(p *pki, o *testpki.OCSPResponder) {
			o.SetBroken(true)
		}, want: Valid, source: "crl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPKI(t)
			o := testpki.NewOCSPResponder(p.inter)
			defer o.Close()
			if c.setup != nil {
				c.setup(p, o)
			}
			// The client is pointed at the intermediate's responder.
			v := p.verifier(func(cfg *Config) {
				cfg.Revocation = c.policy
				cfg.OCSP = &OCSPClient{Responder: o.URL}
			})
			r := v.VerifyChain(t.Context(), ChainRequest{Leaf: p.leaf, Intermediates: []*x509.Certificate{p.inter.Cert}})
			// Only the leaf status is asserted: under OCSP-only the
			// intermediate is asked about at the wrong responder, whose
			// answer is rightly refused (signed by another issuer).
			leafInfo := r.Revocation[0]
			got := Valid
			switch leafInfo.Status {
			case RevRevoked:
				got = Invalid
			case RevUnknown:
				got = Indeterminate
			}
			require.Equal(t, c.want, got, "leaf status %+v", leafInfo)
			if c.source != "" {
				assert.Equal(t, c.source, leafInfo.Source)
			}
		})
	}
}

// TestOCSPCache: fifty concurrent verifications ask the responder once
// (single flight, then the cache), and after the answer's nextUpdate it is
// asked again. Every time is on the injected clock (the responder's
// answers included), so nothing depends on how fast the machine is.
func TestOCSPCache(t *testing.T) {
	p := newPKI(t)
	var hits atomic.Int64
	o := testpki.NewOCSPResponder(p.inter)
	defer o.Close()
	o.SetTimes(p.now.Add(-time.Minute), p.now.Add(time.Hour))
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		o.Config.Handler.ServeHTTP(w, r)
	}))
	defer counting.Close()
	clock := p.now
	v := p.verifier(func(c *Config) {
		c.Revocation = RevocationCRLOrOCSP
		c.OCSP = &OCSPClient{Responder: counting.URL, Cache: NewOCSPCache()}
		c.Now = func() time.Time { return clock }
	})
	p.srv.Handle("/inter.crl", http.NotFoundHandler()) // the leaf falls back to OCSP
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := p.check(v, p.leaf)
			assert.Equal(t, Valid, r.Verdict, "%+v", r.Check(CheckRevocation))
		}()
	}
	wg.Wait()
	require.EqualValues(t, 1, hits.Load(), "OCSP queries")
	// After nextUpdate (one hour) the responder is asked again.
	clock = clock.Add(2 * time.Hour)
	p.publish("/root.crl", p.root, testpki.CRLSpec{ThisUpdate: clock.Add(-time.Minute)})
	o.SetTimes(clock.Add(-time.Minute), clock.Add(time.Hour))
	p.check(v, p.leaf)
	assert.EqualValues(t, 2, hits.Load(), "OCSP queries after nextUpdate")
}

// TestOCSPDelegatedResponder: a response signed by a delegated responder
// (a certificate the CA issued with the OCSPSigning purpose) decides only
// when the responder's own status is good by the CA's CRL, or when its
// certificate carries id-pkix-ocsp-nocheck (RFC 6960 section 4.2.2.2.1).
func TestOCSPDelegatedResponder(t *testing.T) {
	o := newOfflinePKI(t)
	responder := func(nocheck bool) (*x509.Certificate, crypto.Signer) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: "roamsign Test OCSP responder"},
			NotBefore:   o.now.Add(-24 * time.Hour),
			NotAfter:    o.now.Add(30 * 24 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		}
		if nocheck {
			tmpl.ExtraExtensions = []pkix.Extension{{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}}}
		}
		c, err := o.ca.Issue(tmpl, k.Public())
		require.NoError(t, err)
		return c, k
	}
	answer := func(c *x509.Certificate, k crypto.Signer) []byte {
		der, err := ocsp.CreateResponse(o.ca.Cert, c, ocsp.Response{Status: ocsp.Good, SerialNumber: o.leaf.SerialNumber,
			ThisUpdate: o.now.Add(-time.Hour), NextUpdate: o.now.Add(time.Hour), Certificate: c}, k)
		require.NoError(t, err)
		return der
	}
	// The intermediate's status: a response the root signs itself.
	caStatus, err := ocsp.CreateResponse(o.root.Cert, o.root.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: o.ca.Cert.SerialNumber,
		ThisUpdate: o.now.Add(-time.Hour), NextUpdate: o.now.Add(time.Hour)}, o.root.Key)
	require.NoError(t, err)
	plain, plainKey := responder(false)
	nocheck, nocheckKey := responder(true)
	revokedCRL := func(c *x509.Certificate) []byte {
		return o.crl(t, o.ca, testpki.CRLSpec{Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: c.SerialNumber, Time: o.now.Add(-30 * time.Minute), Reason: testpki.ReasonKeyCompromise}}}})
	}
	for _, c := range []struct {
		name string
		resp []byte
		crls [][]byte
		want Verdict
	}{
		{"nocheck, no CRL", answer(nocheck, nocheckKey), nil, Valid},
		{"nocheck, responder revoked", answer(nocheck, nocheckKey), [][]byte{revokedCRL(nocheck)}, Valid},
		{"responder good by CRL", answer(plain, plainKey), [][]byte{o.crl(t, o.ca, testpki.CRLSpec{})}, Valid},
		{"responder status unknown", answer(plain, plainKey), nil, Indeterminate},
		{"responder revoked", answer(plain, plainKey), [][]byte{revokedCRL(plain)}, Indeterminate},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := o.verifierWith(t, func(cfg *Config) {
				cfg.Revocation = RevocationOCSP
				cfg.OCSP = &OCSPClient{}
				cfg.Supplied = ValidationData{CRLs: c.crls, OCSPResponses: [][]byte{caStatus, c.resp}}
			})
			r := v.VerifyChain(context.Background(), ChainRequest{Leaf: o.leaf, Intermediates: []*x509.Certificate{o.ca.Cert}})
			require.Equal(t, c.want, r.Verdict, "%+v", r.Checks)
			if c.want != Valid {
				assert.Contains(t, r.Revocation[0].Detail, "delegated OCSP responder")
			}
		})
	}
}
