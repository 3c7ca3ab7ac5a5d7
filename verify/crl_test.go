package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var oidUnknown = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}

func TestChainAndCRLRules(t *testing.T) {
	type tc struct {
		name   string
		setup  func(p *pki) (*Verifier, *x509.Certificate) // nil: default verifier and leaf
		want   Verdict
		check  string // the check that must carry the verdict
		reason string // substring of that check's reason
	}
	leafEntry := func(p *pki, reason int) testpki.CRLEntry {
		return testpki.CRLEntry{Revocation: testpki.Revocation{Serial: p.leaf.SerialNumber, Time: p.now.Add(-30 * time.Minute), Reason: reason}}
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cases := []tc{
		{name: "good", want: Valid},
		{name: "revoked", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Entries: []testpki.CRLEntry{leafEntry(p, testpki.ReasonKeyCompromise)}})
			return nil, nil
		}, want: Invalid, check: CheckRevocation, reason: "keyCompromise"},
		{name: "intermediate revoked by root", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/root.crl", p.root, testpki.CRLSpec{Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: p.inter.Cert.SerialNumber, Time: p.now.Add(-time.Minute), Reason: testpki.ReasonSuperseded}}}})
			return nil, nil
		}, want: Invalid, check: CheckRevocation, reason: "superseded"},
		{name: "bad CRL signature", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Signer: otherKey})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "signature"},
		{name: "expired CRL", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{ThisUpdate: p.now.Add(-48 * time.Hour), NextUpdate: p.now.Add(-time.Second)})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "expired"},
		{name: "CRL from the future", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{ThisUpdate: p.now.Add(time.Hour)})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "future"},
		{name: "CRL without nextUpdate", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{OmitNextUpdate: true})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "nextUpdate"},
		{name: "critical unknown CRL extension", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Extensions: []pkix.Extension{{Id: oidUnknown, Critical: true, Value: []byte{5, 0}}}})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "unknown critical"},
		{name: "non-critical unknown CRL extension is fine", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Extensions: []pkix.Extension{{Id: oidUnknown, Value: []byte{5, 0}}}})
			return nil, nil
		}, want: Valid},
		{name: "critical unknown entry extension", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			e := testpki.CRLEntry{Revocation: testpki.Revocation{Serial: big.NewInt(999999), Time: p.now.Add(-time.Hour)}, Extensions: []pkix.Extension{{Id: oidUnknown, Critical: true, Value: []byte{5, 0}}}}
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Entries: []testpki.CRLEntry{e}})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "entry extension"},
		{name: "CRL of another issuer is ignored", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			// The root's CRL lists the leaf serial; it must not decide.
			p.publish("/inter.crl", p.root, testpki.CRLSpec{Entries: []testpki.CRLEntry{leafEntry(p, 1)}})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "issuer name"},
		{name: "issuer name forged on a CRL signed by another key", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.root, testpki.CRLSpec{IssuerName: p.inter.Cert.RawSubject})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation},
		{name: "CRL issuer without cRLSign", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			ca, err := p.root.NewIntermediate(testpki.Options{Name: "no crlsign", Key: k, CRLURL: p.srv.URLFor("/nocrlsign.crl")})
			require.NoError(t, err)
			// Re-issue the intermediate without cRLSign, same key and name.
			tmpl := *ca.Cert
			tmpl.KeyUsage = x509.KeyUsageCertSign
			tmpl.SerialNumber = nil
			cert, err := p.root.Issue(&tmpl, k.Public())
			require.NoError(t, err)
			ca.Cert = cert
			lk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, err := ca.IssueLeaf("X", "900101145678", lk.Public(), testpki.LeafOptions{})
			require.NoError(t, err)
			p.publish("/nocrlsign.crl", ca, testpki.CRLSpec{})
			p.inter = ca
			return nil, leaf
		}, want: Indeterminate, check: CheckRevocation, reason: "cRLSign"},
		{name: "CRL server down", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.srv.Handle("/inter.crl", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "503"},
		{name: "CRL missing", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.srv.Set("/inter.crl", nil)
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation},
		{name: "garbage CRL", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.srv.Set("/inter.crl", []byte("not a CRL"))
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "malformed"},
		{name: "oversize CRL", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.srv.Handle("/inter.crl", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				buf := make([]byte, 64<<10)
				for i := 0; i < 64; i++ {
					if _, err := w.Write(buf); err != nil {
						return
					}
				}
			}))
			return p.verifier(func(c *Config) { c.MaxCRLSize = 1 << 20 }), nil
		}, want: Indeterminate, check: CheckRevocation, reason: "exceeds"},
		{name: "certificate hold", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Entries: []testpki.CRLEntry{leafEntry(p, testpki.ReasonCertificateHold)}})
			return nil, nil
		}, want: Invalid, check: CheckRevocation, reason: "certificateHold"},
		{name: "hold released in a later complete CRL", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.inter.Revoke(p.leaf.SerialNumber, p.now.Add(-time.Hour), testpki.ReasonCertificateHold)
			p.inter.Unrevoke(p.leaf.SerialNumber)
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{})
			return nil, nil
		}, want: Valid},
		{name: "hold removed by delta CRL", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(10), FreshestCRL: p.srv.URLFor("/inter-delta.crl"), Entries: []testpki.CRLEntry{leafEntry(p, testpki.ReasonCertificateHold)}})
			p.publish("/inter-delta.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(11), DeltaBase: big.NewInt(10), Entries: []testpki.CRLEntry{leafEntry(p, testpki.ReasonRemoveFromCRL)}})
			return nil, nil
		}, want: Valid},
		{name: "delta CRL revokes", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(10), FreshestCRL: p.srv.URLFor("/inter-delta.crl")})
			p.publish("/inter-delta.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(11), DeltaBase: big.NewInt(10), Entries: []testpki.CRLEntry{leafEntry(p, testpki.ReasonKeyCompromise)}})
			return nil, nil
		}, want: Invalid, check: CheckRevocation, reason: "keyCompromise"},
		{name: "delta CRL removes a non-hold revocation", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(10), FreshestCRL: p.srv.URLFor("/inter-delta.crl"), Entries: []testpki.CRLEntry{leafEntry(p, testpki.ReasonKeyCompromise)}})
			p.publish("/inter-delta.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(11), DeltaBase: big.NewInt(10), Entries: []testpki.CRLEntry{leafEntry(p, testpki.ReasonRemoveFromCRL)}})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation},
		{name: "delta CRL older than base", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(10), FreshestCRL: p.srv.URLFor("/inter-delta.crl"), Entries: []testpki.CRLEntry{leafEntry(p, testpki.ReasonCertificateHold)}})
			p.publish("/inter-delta.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(9), DeltaBase: big.NewInt(8), Entries: []testpki.CRLEntry{leafEntry(p, testpki.ReasonRemoveFromCRL)}})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "not newer"},
		{name: "delta CRL needs a newer base", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(10), FreshestCRL: p.srv.URLFor("/inter-delta.crl")})
			p.publish("/inter-delta.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(12), DeltaBase: big.NewInt(11)})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "newer complete"},
		{name: "delta CRL advertised but missing", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(10), FreshestCRL: p.srv.URLFor("/nope.crl")})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "delta"},
		{name: "delta CRL served as complete CRL", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(11), DeltaBase: big.NewInt(10)})
			return nil, nil
		}, want: Indeterminate, check: CheckRevocation, reason: "delta"},
		{name: "revoked after a trusted signing time", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Entries: []testpki.CRLEntry{leafEntry(p, testpki.ReasonKeyCompromise)}})
			return nil, nil // see the dedicated test below
		}, want: Invalid, check: CheckRevocation},
		{name: "no anchor: embedded root is not trusted", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			other, _ := testpki.NewRoot(testpki.Options{Name: "evil root"})
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, _ := other.IssueLeaf("ALI BIN ABU", "900101145678", k.Public(), testpki.LeafOptions{})
			p.inter = other // offered as an intermediate
			return nil, leaf
		}, want: Invalid, check: CheckChain},
		{name: "expired leaf", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, _ := p.inter.IssueLeaf("A", "900101145678", k.Public(), testpki.LeafOptions{NotBefore: p.now.Add(-47 * time.Hour), NotAfter: p.now.Add(-time.Hour)})
			return nil, leaf
		}, want: Invalid, check: CheckChain},
		{name: "key usage without signing bits", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, _ := p.inter.IssueLeaf("A", "900101145678", k.Public(), testpki.LeafOptions{KeyUsage: x509.KeyUsageKeyAgreement})
			return nil, leaf
		}, want: Invalid, check: CheckKeyUsage},
		{name: "nonRepudiation only is accepted", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, _ := p.inter.IssueLeaf("A", "900101145678", k.Public(), testpki.LeafOptions{KeyUsage: x509.KeyUsageContentCommitment})
			return nil, leaf
		}, want: Valid},
		{name: "configured key usage refuses digitalSignature only", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, _ := p.inter.IssueLeaf("A", "900101145678", k.Public(), testpki.LeafOptions{KeyUsage: x509.KeyUsageDigitalSignature})
			return p.verifier(func(c *Config) { c.KeyUsage = x509.KeyUsageContentCommitment }), leaf
		}, want: Invalid, check: CheckKeyUsage},
		{name: "server-auth EKU refused", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, _ := p.inter.IssueLeaf("A", "900101145678", k.Public(), testpki.LeafOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			return nil, leaf
		}, want: Invalid, check: CheckKeyUsage},
		{name: "any EKU refused by default", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, _ := p.inter.IssueLeaf("A", "900101145678", k.Public(), testpki.LeafOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			return nil, leaf
		}, want: Invalid, check: CheckKeyUsage},
		{name: "any EKU when allowed", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, _ := p.inter.IssueLeaf("A", "900101145678", k.Public(), testpki.LeafOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			return p.verifier(func(c *Config) { c.AllowAnyEKU = true }), leaf
		}, want: Valid},
		{name: "emailProtection EKU accepted", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, _ := p.inter.IssueLeaf("A", "900101145678", k.Public(), testpki.LeafOptions{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}})
			return nil, leaf
		}, want: Valid},
		{name: "leaf without CRL distribution point", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			p.inter.CRLURL = ""
			leaf, _ := p.inter.IssueLeaf("A", "900101145678", k.Public(), testpki.LeafOptions{})
			return nil, leaf
		}, want: Indeterminate, check: CheckRevocation, reason: "no CRL distribution point"},
		{name: "CRL expired-certificate omission", setup: func(p *pki) (*Verifier, *x509.Certificate) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			leaf, _ := p.inter.IssueLeaf("A", "900101145678", k.Public(), testpki.LeafOptions{NotBefore: p.now.Add(-40 * time.Hour), NotAfter: p.now.Add(-2 * time.Hour)})
			return nil, leaf
		}, want: Invalid, check: CheckChain},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPKI(t)
			var v *Verifier
			leaf := p.leaf
			if c.setup != nil {
				if v2, l2 := c.setup(p); v2 != nil || l2 != nil {
					if v2 != nil {
						v = v2
					}
					if l2 != nil {
						leaf = l2
					}
				}
			}
			if v == nil {
				v = p.verifier()
			}
			r := p.check(v, leaf)
			js, _ := json.Marshal(r)
			require.Equal(t, c.want, r.Verdict, "%s", js)
			assert.Equal(t, c.want == Valid, r.Indication == IndicationPassed, "indication %s for verdict %s", r.Indication, r.Verdict)
			if c.check != "" {
				ch := r.Check(c.check)
				require.NotNil(t, ch, "%s", js)
				assert.Equal(t, c.want, ch.Verdict, "%s", js)
				assert.Contains(t, ch.Reason, c.reason)
			}
		})
	}
}

func TestRevokedAfterTrustedSigningTime(t *testing.T) {
	p := newPKI(t)
	revokedAt := p.now.Add(-30 * time.Minute)
	p.publish("/inter.crl", p.inter, testpki.CRLSpec{Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: p.leaf.SerialNumber, Time: revokedAt, Reason: testpki.ReasonKeyCompromise}}}})
	ctx := context.Background()
	inters := []*x509.Certificate{p.inter.Cert}
	v := p.verifier()
	// Timestamped before the revocation: valid, reported as such.
	r := v.VerifyChain(ctx, ChainRequest{Leaf: p.leaf, Intermediates: inters, At: revokedAt.Add(-time.Minute), Timestamped: true})
	if r.Verdict != Valid || len(r.Revocation) == 0 || !r.Revocation[0].AfterSigningTime || r.Revocation[0].Status != RevRevoked {
		t.Fatalf("timestamped before revocation: %+v", r)
	}
	// The same time, not timestamped: the verification time counts.
	r = v.VerifyChain(ctx, ChainRequest{Leaf: p.leaf, Intermediates: inters, At: revokedAt.Add(-time.Minute)})
	if r.Verdict != Invalid {
		t.Fatalf("untrusted time rescued a revoked certificate: %+v", r)
	}
	// Timestamped after the revocation: invalid.
	r = v.VerifyChain(ctx, ChainRequest{Leaf: p.leaf, Intermediates: inters, At: revokedAt.Add(time.Minute), Timestamped: true})
	if r.Verdict != Invalid {
		t.Fatalf("timestamped after revocation: %+v", r)
	}
	// Policy can refuse revocation after signing too.
	v2 := p.verifier(func(c *Config) { c.RejectRevokedAfterSigning = true })
	r = v2.VerifyChain(ctx, ChainRequest{Leaf: p.leaf, Intermediates: inters, At: revokedAt.Add(-time.Minute), Timestamped: true})
	if r.Verdict != Invalid {
		t.Fatalf("RejectRevokedAfterSigning: %+v", r)
	}
	// An invalidity date before the signing time wins over the later revocation date.
	p.publish("/inter.crl", p.inter, testpki.CRLSpec{Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: p.leaf.SerialNumber, Time: revokedAt, Reason: testpki.ReasonKeyCompromise}, InvalidityDate: revokedAt.Add(-2 * time.Hour)}}})
	r = p.verifier().VerifyChain(ctx, ChainRequest{Leaf: p.leaf, Intermediates: inters, At: revokedAt.Add(-time.Minute), Timestamped: true})
	if r.Verdict != Invalid {
		t.Fatalf("invalidity date ignored: %+v", r)
	}
}

func TestCRLCacheUntilNextUpdate(t *testing.T) {
	p := newPKI(t)
	clock := p.now
	v := p.verifier(func(c *Config) { c.Now = func() time.Time { return clock } })
	for i := 0; i < 5; i++ {
		if r := p.check(v, p.leaf); r.Verdict != Valid {
			t.Fatalf("%+v", r)
		}
	}
	if h := p.srv.Hits(); h != 2 { // root.crl + inter.crl
		t.Fatalf("hits %d, want 2", h)
	}
	// Revoke, publish; the cached CRL is still current, so no refetch.
	p.publish("/inter.crl", p.inter, testpki.CRLSpec{ThisUpdate: p.now.Add(time.Hour), Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: p.leaf.SerialNumber, Time: p.now, Reason: 1}}}})
	p.publish("/root.crl", p.root, testpki.CRLSpec{ThisUpdate: p.now.Add(time.Hour)})
	if r := p.check(v, p.leaf); r.Verdict != Valid || p.srv.Hits() != 2 {
		t.Fatalf("refetched before nextUpdate: %s hits %d", r.Verdict, p.srv.Hits())
	}
	// Past nextUpdate (23h after the first CRL): both refetched.
	clock = p.now.Add(23*time.Hour + time.Second)
	if r := p.check(v, p.leaf); r.Verdict != Invalid {
		t.Fatalf("after nextUpdate: %+v", r)
	}
	if h := p.srv.Hits(); h != 4 {
		t.Fatalf("hits %d, want 4", h)
	}
	// Max age forces a refetch earlier.
	v2 := p.verifier(func(c *Config) { c.CRLMaxAge = time.Minute; c.Now = func() time.Time { return clock } })
	p.check(v2, p.leaf)
	h := p.srv.Hits()
	clock = clock.Add(2 * time.Minute)
	p.check(v2, p.leaf)
	if p.srv.Hits() != h+2 {
		t.Fatalf("max age not honoured: %d → %d", h, p.srv.Hits())
	}
}

func TestCRLNumberNeverGoesBack(t *testing.T) {
	p := newPKI(t)
	clock := p.now
	v := p.verifier(func(c *Config) { c.Now = func() time.Time { return clock }; c.CRLMaxAge = time.Minute })
	p.publish("/inter.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(20)})
	if r := p.check(v, p.leaf); r.Verdict != Valid {
		t.Fatalf("%+v", r)
	}
	// A replayed older CRL (still inside its validity window) is refused.
	p.publish("/inter.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(19)})
	clock = clock.Add(2 * time.Minute)
	if r := p.check(v, p.leaf); r.Verdict != Indeterminate || !strings.Contains(r.Check(CheckRevocation).Reason, "backwards") {
		t.Fatalf("older CRL accepted: %+v", r.Check(CheckRevocation))
	}
	p.publish("/inter.crl", p.inter, testpki.CRLSpec{Number: big.NewInt(21)})
	if r := p.check(v, p.leaf); r.Verdict != Valid {
		t.Fatalf("newer CRL: %+v", r.Check(CheckRevocation))
	}
}

func TestColdCacheSingleDownload(t *testing.T) {
	p := newPKI(t)
	slow := make(chan struct{})
	der, _ := p.inter.BuildCRL(testpki.CRLSpec{ThisUpdate: p.now.Add(-time.Hour)})
	p.srv.Handle("/inter.crl", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-slow
		w.Write(der)
	}))
	// A barrier: the slow download is released only once every caller
	// missed the cache and joined a download, so none can pass through a
	// filled cache and a second download would show.
	const n = 1000
	var joined atomic.Int64
	all := make(chan struct{})
	cache := NewCRLCache()
	cache.joinHook = func(url string) {
		if strings.HasSuffix(url, "/inter.crl") && joined.Add(1) == n {
			close(all)
		}
	}
	v := p.verifier(func(c *Config) { c.Cache = cache })
	sig, err := testpki.BuildCMS(testpki.CMSSpec{Content: []byte("doc"), Key: p.key, Cert: p.leaf, Certs: []*x509.Certificate{p.leaf, p.inter.Cert}})
	require.NoError(t, err)
	results := make(chan Verdict, n)
	for i := 0; i < n; i++ {
		go func() {
			rs, err := v.VerifyCMS(context.Background(), CMSRequest{Signature: sig})
			if err != nil {
				results <- ""
				return
			}
			results <- rs[0].Verdict
		}()
	}
	<-all
	close(slow)
	for i := 0; i < n; i++ {
		if got := <-results; got != Valid {
			t.Fatalf("verdict %s", got)
		}
	}
	// The intermediate's CRL (served slowly) and the root's CRL (for the
	// intermediate certificate): each downloaded exactly once.
	if h := p.srv.Hits(); h != 2 {
		t.Fatalf("downloads %d, want 2 (one per CRL)", h)
	}
}

func TestHTTPFetcherLimits(t *testing.T) {
	srv := testpki.NewCRLServer()
	defer srv.Close()
	var written atomic.Int64
	srv.Handle("/endless", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 32<<10)
		for i := 0; i < 8192; i++ { // 256 MiB if nobody stops reading
			n, err := w.Write(buf)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	srv.Handle("/announced", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000000")
		w.WriteHeader(200)
	}))
	srv.Handle("/redirect", http.RedirectHandler("https://example.invalid/x.crl", http.StatusFound))
	srv.Handle("/redirect-same", http.RedirectHandler("/ok", http.StatusFound))
	srv.Set("/ok", []byte("hello"))
	f := &HTTPFetcher{}
	ctx := context.Background()
	_, err := f.Fetch(ctx, srv.URLFor("/endless"), 1<<20)
	if !errors.Is(err, roamsign.ErrTooLarge) {
		t.Fatalf("endless: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if w := written.Load(); w > 64<<20 {
		t.Fatalf("server wrote %d bytes: the body was read whole", w)
	}
	if _, err := f.Fetch(ctx, srv.URLFor("/announced"), 1<<20); !errors.Is(err, roamsign.ErrTooLarge) {
		t.Fatalf("announced: %v", err)
	}
	if _, err := f.Fetch(ctx, srv.URLFor("/redirect"), 1<<20); err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Fatalf("scheme-changing redirect: %v", err)
	}
	if b, err := f.Fetch(ctx, srv.URLFor("/redirect-same"), 1<<20); err != nil || string(b) != "hello" {
		t.Fatalf("same-scheme redirect: %q %v", b, err)
	}
	if _, err := f.Fetch(ctx, strings.Replace(srv.URLFor("/ok"), "http:", "https:", 1), 1<<20); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("https by default: %v", err)
	}
	if _, err := f.Fetch(ctx, "file:///etc/passwd", 1<<20); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("file URL: %v", err)
	}
	slowSrv := testpki.NewCRLServer()
	defer slowSrv.Close()
	slowSrv.Handle("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	if _, err := (&HTTPFetcher{Timeout: 100 * time.Millisecond}).Fetch(ctx, slowSrv.URLFor("/slow"), 1<<20); !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("timeout: %v", err)
	}
}

func TestFileFetcher(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	der, _ := p.inter.BuildCRL(testpki.CRLSpec{ThisUpdate: p.now.Add(-time.Hour), Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: p.leaf.SerialNumber, Time: p.now.Add(-time.Hour), Reason: 1}}}})
	root, _ := p.root.BuildCRL(testpki.CRLSpec{ThisUpdate: p.now.Add(-time.Hour)})
	writeFile(t, dir+"/inter.crl", der)
	writeFile(t, dir+"/root.crl", root)
	v := p.verifier(func(c *Config) { c.Fetcher = FileFetcher{Dir: dir} })
	if r := p.check(v, p.leaf); r.Verdict != Invalid || r.Revocation[0].Reason != "keyCompromise" {
		t.Fatalf("%+v", r)
	}
	if p.srv.Hits() != 0 {
		t.Fatal("HTTP used")
	}
}

func TestParseCRLLookup(t *testing.T) {
	p := newPKI(t)
	serials := []*big.Int{big.NewInt(0), big.NewInt(127), big.NewInt(128), big.NewInt(-1), big.NewInt(-129), new(big.Int).Lsh(big.NewInt(1), 150)}
	var entries []testpki.CRLEntry
	for _, s := range serials {
		entries = append(entries, testpki.CRLEntry{Revocation: testpki.Revocation{Serial: s, Time: p.now, Reason: 4}})
	}
	der, err := p.inter.BuildCRL(testpki.CRLSpec{Entries: entries})
	require.NoError(t, err)
	c, err := ParseCRL(der)
	require.NoError(t, err)
	for _, s := range serials {
		e, ok := c.Lookup(s)
		if !ok || e.Reason != 4 || !e.RevokedAt.Equal(p.now) {
			t.Fatalf("serial %v: %+v %v", s, e, ok)
		}
	}
	if _, ok := c.Lookup(big.NewInt(129)); ok {
		t.Fatal("unexpected entry")
	}
	// Cross-check with the standard library parser.
	std, err := x509.ParseRevocationList(der)
	if err != nil || len(std.RevokedCertificateEntries) != c.Len() || !std.ThisUpdate.Equal(c.ThisUpdate) || std.Number.Cmp(c.Number) != 0 {
		t.Fatalf("stdlib disagrees: %v", err)
	}
	if err := c.CheckSignatureFrom(p.inter.Cert); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCRL(der[:len(der)-1]); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := parseCRL(der, 10); !errors.Is(err, roamsign.ErrTooLarge) {
		t.Fatalf("size: %v", err)
	}
}

func TestNewNeedsAnchors(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatal(err)
	}
}
