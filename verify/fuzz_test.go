package verify

import (
	"bytes"
	"os"

	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"github.com/roamsign/roamsign"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/require"
)

// FuzzCRL parses arbitrary bytes as a CRL and, when they parse, runs the
// acceptance checks and lookups on them.
func FuzzCRL(f *testing.F) {
	p := newPKI(f)
	add := func(spec testpki.CRLSpec) {
		der, err := p.inter.BuildCRL(spec)
		require.NoError(f, err)
		f.Add(der)
	}
	add(testpki.CRLSpec{})
	add(testpki.CRLSpec{Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: big.NewInt(5), Time: p.now, Reason: 6}, InvalidityDate: p.now}}})
	add(testpki.CRLSpec{DeltaBase: big.NewInt(1), FreshestCRL: "http://x/d.crl", Extensions: []pkix.Extension{{Id: oidUnknown, Critical: true, Value: []byte{5, 0}}}})
	std, _ := p.inter.CRL(testpki.CRLOptions{})
	f.Add(std)
	f.Add([]byte{0x30, 0x80, 0, 0})
	v := p.verifier()
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := ParseCRL(der)
		if err != nil {
			return
		}
		_ = checkCRLIssuer(c, p.inter.Cert)
		rc := revocationCtx{now: p.now, at: p.now, anchor: p.root.Cert, ev: &evidence{}}
		cand := crlCand{crl: c, origin: OriginSupplied}
		_ = v.decideCRL(p.leaf, p.inter.Cert, []crlCand{cand, cand}, rc)
		for _, s := range []int64{0, 5, 1 << 40, -3} {
			c.Lookup(big.NewInt(s))
		}
	})
}

// FuzzVerifyCMS runs full CMS verification (with CRLs from files) on
// arbitrary bytes, attached and detached.
func FuzzVerifyCMS(f *testing.F) {
	p := newPKI(f)
	dir := f.TempDir()
	for _, n := range []struct {
		name string
		ca   *testpki.CA
	}{{"root.crl", p.root}, {"inter.crl", p.inter}} {
		der, _ := n.ca.BuildCRL(testpki.CRLSpec{ThisUpdate: p.now.Add(-time.Hour)})
		writeFile(f, filepath.Join(dir, n.name), der)
	}
	v := p.verifier(func(c *Config) { c.Fetcher = FileFetcher{Dir: dir} })
	content := []byte("content")
	f.Add(opensslSign(f, p, content, false), false)
	f.Add(opensslSign(f, p, content, true), true)
	tsa := tsaAt(f, p, p.now.Add(-time.Hour), nil)
	der, err := testpki.BuildCMS(testpki.CMSSpec{Content: content, Key: p.key, Cert: p.leaf, Certs: []*x509.Certificate{p.leaf, p.inter.Cert}, ESSCert: p.leaf, AlgProtection: true, Timestamp: tsa, SigningTime: p.now})
	require.NoError(f, err)
	f.Add(der, false)
	f.Fuzz(func(t *testing.T, sig []byte, detached bool) {
		req := CMSRequest{Signature: sig}
		if detached {
			req.Content = content
		}
		rs, err := v.VerifyCMS(context.Background(), req)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Verdict == "" {
				t.Fatal("result without verdict")
			}
		}
	})
}

// FuzzParseCertificate parses arbitrary bytes as a certificate (with the
// tolerant retry for negative serials and relative distribution point
// names) and runs the extension parse of path validation on what parses.
func FuzzParseCertificate(f *testing.F) {
	p := newPKI(f)
	f.Add(p.leaf.Raw)
	f.Add(p.inter.Cert.Raw)
	for _, name := range []string{"InvalidNegativeSerialNumberTest15EE.crt", "ValiddistributionPointTest4EE.crt", "nameConstraintsDN1CACert.crt"} {
		if b, err := os.ReadFile(filepath.Join(pkitsDir, "certs", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := ParseCertificate(der)
		if err != nil {
			if roamsign.KindOf(err) == roamsign.KindUnknown {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if !bytes.Equal(c.Raw, der) {
			t.Fatal("Raw differs from the input")
		}
		pc := parseExtras(c)
		_ = pc.constrainedNames()
	})
}

// FuzzNames runs the name, general name, name constraint and distribution
// point parsers on arbitrary bytes.
func FuzzNames(f *testing.F) {
	p := newPKI(f)
	f.Add(p.leaf.RawSubject)
	for _, e := range p.leaf.Extensions {
		f.Add(e.Value)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, _, ok := parseDN(b); ok {
			_ = d.within(d)
		}
		_, _ = parseGeneralNames(b)
		if nc, err := parseNameConstraints(b); err == nil {
			_ = permits([]*nameConstraints{nc}, constrainedName{form: gnDNS, text: "a.example"})
		}
		_, _ = parseDistributionPoints(b)
	})
}
