package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	signcms "github.com/roamsign/roamsign/signer/cms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ocsp"
)

// offlinePKI is a hierarchy whose certificates name no CRL distribution
// point, so that only the material a test gives can decide.
type offlinePKI struct {
	*pki
	ca   *testpki.CA
	leaf *x509.Certificate
}

func newOfflinePKI(t *testing.T) *offlinePKI {
	p := newPKI(t)
	ca, err := p.root.NewIntermediate(testpki.Options{Name: "no-DP CA", NotBefore: p.now.Add(-48 * time.Hour)})
	require.NoError(t, err)
	leaf, err := ca.IssueLeaf("SITI", "900101145678", p.key.Public(), testpki.LeafOptions{NotBefore: p.now.Add(-24 * time.Hour)})
	require.NoError(t, err)
	require.Empty(t, leaf.CRLDistributionPoints)
	return &offlinePKI{pki: p, ca: ca, leaf: leaf}
}

func (o *offlinePKI) crl(t *testing.T, ca *testpki.CA, spec testpki.CRLSpec) []byte {
	if spec.ThisUpdate.IsZero() {
		spec.ThisUpdate = o.now.Add(-time.Hour)
	}
	der, err := ca.BuildCRL(spec)
	require.NoError(t, err)
	return der
}

func (o *offlinePKI) ocspResponse(t *testing.T, status int, thisUpdate time.Time) []byte {
	der, err := ocsp.CreateResponse(o.ca.Cert, o.ca.Cert, ocsp.Response{
		Status: status, SerialNumber: o.leaf.SerialNumber, ThisUpdate: thisUpdate, NextUpdate: thisUpdate.Add(24 * time.Hour),
		RevokedAt: o.now.Add(-2 * time.Hour), RevocationReason: ocsp.KeyCompromise,
	}, o.ca.Key)
	require.NoError(t, err)
	return der
}

func (o *offlinePKI) verifierWith(t *testing.T, mod func(*Config)) *Verifier {
	cfg := Config{Anchors: []*x509.Certificate{o.root.Cert}, Now: func() time.Time { return o.now }, Offline: true}
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(cfg)
	require.NoError(t, err)
	return v
}

// TestRevocationSources: each source decides when it holds the evidence,
// and the result names it; without it the same request is indeterminate.
func TestRevocationSources(t *testing.T) {
	o := newOfflinePKI(t)
	rootCRL := o.crl(t, o.root, testpki.CRLSpec{})
	caCRL := o.crl(t, o.ca, testpki.CRLSpec{})
	revoked := o.crl(t, o.ca, testpki.CRLSpec{Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: o.leaf.SerialNumber, Time: o.now.Add(-2 * time.Hour), Reason: testpki.ReasonKeyCompromise}}}})
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "root.crl"), rootCRL, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ca.crl"), caCRL, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "junk.txt"), []byte("not a CRL"), 0o600))
	crlDir, err := NewCRLDirectory(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"junk.txt"}, crlDir.Skipped())

	cases := []struct {
		name   string
		cfg    func(*Config)
		req    ValidationData
		want   Verdict
		origin string
		sub    SubIndication
	}{
		{name: "nothing: indeterminate", want: Indeterminate, sub: SubTryLater},
		{name: "Config.Supplied", cfg: func(c *Config) { c.Supplied.CRLs = [][]byte{rootCRL, caCRL} }, want: Valid, origin: OriginSupplied},
		{name: "request supplied", req: ValidationData{CRLs: [][]byte{rootCRL, caCRL}}, want: Valid, origin: OriginSupplied},
		{name: "request supplied revoked", req: ValidationData{CRLs: [][]byte{rootCRL, revoked}}, want: Invalid, origin: OriginSupplied, sub: SubRevokedNoPOE},
		{name: "only the root's CRL", req: ValidationData{CRLs: [][]byte{rootCRL}}, want: Indeterminate, sub: SubTryLater},
		{name: "CRL directory", cfg: func(c *Config) { c.CRLSources = []CRLSource{crlDir} }, want: Valid, origin: OriginDirectory},
		{name: "supplied OCSP good", req: ValidationData{CRLs: [][]byte{rootCRL}, OCSPResponses: [][]byte{o.ocspResponse(t, ocsp.Good, o.now.Add(-time.Hour))}}, want: Valid, origin: OriginSupplied},
		{name: "supplied OCSP revoked", req: ValidationData{CRLs: [][]byte{rootCRL}, OCSPResponses: [][]byte{o.ocspResponse(t, ocsp.Revoked, o.now.Add(-time.Hour))}}, want: Invalid, origin: OriginSupplied},
		{name: "supplied OCSP stale", req: ValidationData{CRLs: [][]byte{rootCRL}, OCSPResponses: [][]byte{o.ocspResponse(t, ocsp.Good, o.now.Add(-48*time.Hour))}}, want: Indeterminate},
		{name: "revocation off", cfg: func(c *Config) { c.Revocation = RevocationOff }, want: Indeterminate, sub: SubRevocationNotChecked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := o.verifierWith(t, tc.cfg)
			r := v.VerifyChain(context.Background(), ChainRequest{Leaf: o.leaf, Intermediates: []*x509.Certificate{o.ca.Cert}, Supplied: tc.req})
			assert.Equal(t, tc.want, r.Verdict, "%+v", r.Checks)
			if tc.want == Valid {
				assert.Equal(t, IndicationPassed, r.Indication)
				require.NotNil(t, r.Validation)
				assert.NotEmpty(t, r.Validation.CRLs, "the deciding material is returned")
			} else {
				assert.NotEqual(t, IndicationPassed, r.Indication)
			}
			if tc.sub != "" {
				assert.Equal(t, tc.sub, r.SubIndication)
			}
			if tc.origin != "" {
				require.NotEmpty(t, r.Revocation)
				assert.Equal(t, tc.origin, r.Revocation[0].Origin)
			}
		})
	}
}

// TestEmbeddedRevocation: CRLs in the CMS crls field, OCSP responses
// carried as RFC 5940 other revocation information and CRLs in the
// adbe-revocationInfoArchival signed attribute decide offline.
func TestEmbeddedRevocation(t *testing.T) {
	o := newOfflinePKI(t)
	rootCRL := o.crl(t, o.root, testpki.CRLSpec{})
	caCRL := o.crl(t, o.ca, testpki.CRLSpec{})
	content := []byte("Penyemak: PO 2026/77")
	chain := []*x509.Certificate{o.leaf, o.ca.Cert}
	sig, err := signcms.Sign(context.Background(), o.key, bytes.NewReader(content), chain, signcms.Options{Now: func() time.Time { return o.now }})
	require.NoError(t, err)
	v := o.verifierWith(t, nil)
	verify := func(der []byte) *Result {
		rs, err := v.VerifyCMS(context.Background(), CMSRequest{Signature: der, Content: content})
		require.NoError(t, err)
		require.Len(t, rs, 1)
		return rs[0]
	}
	assert.Equal(t, Indeterminate, verify(sig).Verdict, "no evidence")

	withCRLs, err := signcms.AddRevocationInfo(sig, [][]byte{rootCRL, caCRL}, nil)
	require.NoError(t, err)
	r := verify(withCRLs)
	assert.Equal(t, Valid, r.Verdict, "%+v", r.Checks)
	assert.Equal(t, OriginSignature, r.Revocation[0].Origin)

	withOCSP, err := signcms.AddRevocationInfo(sig, [][]byte{rootCRL}, [][]byte{o.ocspResponse(t, ocsp.Good, o.now.Add(-time.Hour))})
	require.NoError(t, err)
	r = verify(withOCSP)
	assert.Equal(t, Valid, r.Verdict, "%+v", r.Checks)
	assert.Equal(t, "ocsp", r.Revocation[0].Source)

	// adbe-revocationInfoArchival in the signed attributes.
	archival, err := asn1.Marshal(struct {
		CRL []asn1.RawValue `asn1:"explicit,tag:0"`
	}{CRL: []asn1.RawValue{{FullBytes: rootCRL}, {FullBytes: caCRL}}})
	require.NoError(t, err)
	adbe, err := testpki.BuildCMS(testpki.CMSSpec{Content: content, Detached: true, Key: o.key, Cert: o.leaf, Certs: chain, ESSCert: o.leaf,
		ExtraSigned: []testpki.Attribute{{Type: asn1.ObjectIdentifier{1, 2, 840, 113583, 1, 1, 8}, Values: [][]byte{archival}}}})
	require.NoError(t, err)
	r = verify(adbe)
	assert.Equal(t, Valid, r.Verdict, "%+v", r.Checks)
	assert.Equal(t, OriginSignature, r.Revocation[0].Origin)
}

type recordingFetcher struct {
	mu   sync.Mutex
	reqs []FetchRequest
	crl  []byte
}

func (f *recordingFetcher) Fetch(context.Context, string, int64) ([]byte, error) {
	panic("FetchCRL must be used")
}

func (f *recordingFetcher) FetchCRL(_ context.Context, req FetchRequest) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	return f.crl, nil
}

// TestDistributionPointFetcher: a fetcher that implements
// DistributionPointFetcher is told the certificate and issuer, and is
// asked for a directoryName distribution point too.
func TestDistributionPointFetcher(t *testing.T) {
	o := newOfflinePKI(t)
	dirName := pkix.Name{Country: []string{"MY"}, CommonName: "CRL partition 7"}
	rawName, err := asn1.Marshal(dirName.ToRDNSequence())
	require.NoError(t, err)
	dp, err := asn1.Marshal([]struct {
		Name asn1.RawValue `asn1:"optional,tag:0"`
	}{{Name: asn1.RawValue{Class: 2, Tag: 0, IsCompound: true, Bytes: mustMarshal(t, asn1.RawValue{Class: 2, Tag: 0, IsCompound: true,
		Bytes: mustMarshal(t, asn1.RawValue{Class: 2, Tag: 4, IsCompound: true, Bytes: rawName})})}}})
	require.NoError(t, err)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, err := o.ca.Issue(&x509.Certificate{
		Subject: roamsign.RoamingSubject("DP", "900101145678"), NotBefore: o.now.Add(-time.Hour), NotAfter: o.now.Add(time.Hour * 24),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: oidExtCRLDP, Value: dp}},
	}, k.Public())
	require.NoError(t, err)
	f := &recordingFetcher{crl: o.crl(t, o.ca, testpki.CRLSpec{})}
	rootCRL := o.crl(t, o.root, testpki.CRLSpec{})
	v := o.verifierWith(t, func(c *Config) { c.Offline, c.Fetcher = false, f })
	r := v.VerifyChain(context.Background(), ChainRequest{Leaf: leaf, Intermediates: []*x509.Certificate{o.ca.Cert}, Supplied: ValidationData{CRLs: [][]byte{rootCRL}}})
	assert.Equal(t, Valid, r.Verdict, "%+v", r.Checks)
	require.NotEmpty(t, f.reqs)
	assert.Equal(t, leaf, f.reqs[0].Cert)
	assert.Equal(t, o.ca.Cert, f.reqs[0].Issuer)
	assert.Equal(t, []string{"C=MY, CN=CRL partition 7"}, f.reqs[0].Names)
	assert.Equal(t, OriginFetched, r.Revocation[0].Origin)

	// Offline, the fetcher is never asked.
	f.reqs = nil
	v = o.verifierWith(t, func(c *Config) { c.Fetcher = f })
	r = v.VerifyChain(context.Background(), ChainRequest{Leaf: leaf, Intermediates: []*x509.Certificate{o.ca.Cert}, Supplied: ValidationData{CRLs: [][]byte{rootCRL}}})
	assert.Equal(t, Indeterminate, r.Verdict)
	assert.Empty(t, f.reqs)
}

func generalized(t *testing.T, tm time.Time) []byte {
	b, err := asn1.MarshalWithParams(tm.UTC(), "generalized")
	require.NoError(t, err)
	return b
}

func mustMarshal(t *testing.T, v any) []byte {
	b, err := asn1.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestValidationTime: one validation time for path, validity and
// freshness; evidence issued after it is accepted while it still covers
// the certificate; MaxRevocationFreshness and the grace period.
func TestValidationTime(t *testing.T) {
	o := newOfflinePKI(t)
	at := o.now.Add(-3 * time.Hour)
	rootCRL := o.crl(t, o.root, testpki.CRLSpec{ThisUpdate: o.now.Add(-time.Hour)})
	cases := []struct {
		name        string
		cfg         func(*Config)
		crl         testpki.CRLSpec
		timestamped bool
		want        Verdict
		sub         SubIndication
	}{
		{name: "CRL valid at the validation time, stale now", crl: testpki.CRLSpec{ThisUpdate: at.Add(-time.Hour), NextUpdate: at.Add(time.Hour)}, timestamped: true, want: Valid},
		{name: "CRL expired before the validation time", crl: testpki.CRLSpec{ThisUpdate: at.Add(-3 * time.Hour), NextUpdate: at.Add(-time.Hour)}, timestamped: true, want: Indeterminate, sub: SubTryLater},
		{name: "CRL issued after the validation time", crl: testpki.CRLSpec{ThisUpdate: o.now.Add(-time.Minute)}, timestamped: true, want: Valid},
		{name: "CRL issued in the verifier's future", crl: testpki.CRLSpec{ThisUpdate: o.now.Add(time.Hour)}, timestamped: true, want: Indeterminate},
		{name: "revoked after the timestamped validation time", crl: testpki.CRLSpec{ThisUpdate: o.now.Add(-time.Minute), Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: o.leaf.SerialNumber, Time: o.now.Add(-time.Hour), Reason: 1}}}}, timestamped: true, want: Valid},
		{name: "revoked after an untimestamped validation time", crl: testpki.CRLSpec{ThisUpdate: o.now.Add(-time.Minute), Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: o.leaf.SerialNumber, Time: o.now.Add(-time.Hour), Reason: 1}}}}, want: Invalid, sub: SubRevokedNoPOE},
		{name: "revoked before the timestamped validation time", crl: testpki.CRLSpec{ThisUpdate: o.now.Add(-time.Minute), Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: o.leaf.SerialNumber, Time: at.Add(-time.Hour), Reason: 1}}}}, timestamped: true, want: Invalid, sub: SubRevoked},
		{name: "maximum freshness exceeded", cfg: func(c *Config) { c.MaxRevocationFreshness = time.Hour }, crl: testpki.CRLSpec{ThisUpdate: at.Add(-2 * time.Hour), NextUpdate: o.now.Add(time.Hour)}, timestamped: true, want: Indeterminate},
		{name: "maximum freshness met", cfg: func(c *Config) { c.MaxRevocationFreshness = 3 * time.Hour }, crl: testpki.CRLSpec{ThisUpdate: at.Add(-2 * time.Hour), NextUpdate: at.Add(-time.Minute)}, timestamped: true, want: Valid},
		{name: "grace period not over", cfg: func(c *Config) { c.RevocationGracePeriod = 4 * time.Hour }, crl: testpki.CRLSpec{ThisUpdate: o.now.Add(-time.Minute)}, timestamped: true, want: Indeterminate, sub: SubTryLater},
		{name: "grace period over", cfg: func(c *Config) { c.RevocationGracePeriod = time.Hour }, crl: testpki.CRLSpec{ThisUpdate: o.now.Add(-time.Minute)}, timestamped: true, want: Valid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := o.verifierWith(t, tc.cfg)
			r := v.VerifyChain(context.Background(), ChainRequest{Leaf: o.leaf, Intermediates: []*x509.Certificate{o.ca.Cert}, At: at, Timestamped: tc.timestamped,
				Supplied: ValidationData{CRLs: [][]byte{rootCRL, o.crl(t, o.ca, tc.crl)}}})
			assert.Equal(t, tc.want, r.Verdict, "%+v", r.Checks)
			if tc.sub != "" {
				assert.Equal(t, tc.sub, r.SubIndication)
			}
			assert.Equal(t, at, r.TrustedTime)
		})
	}
	// An expired certificate: a CRL issued after expiry covers it only
	// with expiredCertsOnCRL.
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	old, err := o.ca.IssueLeaf("OLD", "900101145678", k.Public(), testpki.LeafOptions{NotBefore: o.now.Add(-10 * time.Hour), NotAfter: o.now.Add(-2 * time.Hour)})
	require.NoError(t, err)
	signedAt := o.now.Add(-5 * time.Hour)
	for _, tc := range []struct {
		name string
		ext  []pkix.Extension
		want Verdict
	}{
		{"after expiry without expiredCertsOnCRL", nil, Indeterminate},
		{"after expiry with expiredCertsOnCRL", []pkix.Extension{{Id: oidExpiredCertsOnCRL, Value: generalized(t, o.now.Add(-24*time.Hour))}}, Valid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crl := o.crl(t, o.ca, testpki.CRLSpec{ThisUpdate: o.now.Add(-time.Minute), Extensions: tc.ext})
			r := o.verifierWith(t, nil).VerifyChain(context.Background(), ChainRequest{Leaf: old, Intermediates: []*x509.Certificate{o.ca.Cert}, At: signedAt, Timestamped: true,
				Supplied: ValidationData{CRLs: [][]byte{rootCRL, crl}}})
			assert.Equal(t, tc.want, r.Verdict, "%+v", r.Checks)
		})
	}
}

// TestDigestSupplied: a raw signature's chain is decided by CRLs supplied
// with the request, offline, and its sub-indication survives the merge.
func TestDigestSupplied(t *testing.T) {
	o := newOfflinePKI(t)
	digest := make([]byte, 32)
	sig, err := ecdsa.SignASN1(rand.Reader, o.key.(*ecdsa.PrivateKey), digest)
	require.NoError(t, err)
	v := o.verifierWith(t, nil)
	req := DigestRequest{Hash: crypto.SHA256, Digest: digest, Signature: sig, Certificate: o.leaf, Intermediates: []*x509.Certificate{o.ca.Cert}}
	r := v.VerifyDigest(context.Background(), req)
	assert.Equal(t, Indeterminate, r.Verdict)
	assert.Equal(t, SubTryLater, r.SubIndication)
	req.Supplied = ValidationData{CRLs: [][]byte{o.crl(t, o.root, testpki.CRLSpec{}), o.crl(t, o.ca, testpki.CRLSpec{})}}
	r = v.VerifyDigest(context.Background(), req)
	assert.Equal(t, Valid, r.Verdict, "%+v", r.Checks)
	assert.NotNil(t, r.Validation)
}
