package verify

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

func TestOCSPCache(t *testing.T) {
	p := newPKI(t)
	var hits atomic.Int64
	o := testpki.NewOCSPResponder(p.inter)
	defer o.Close()
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
