package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/testpki"
	signcms "github.com/roamsign/roamsign/signer/cms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestArchiveTenYearsLater: a CAdES signature with a timestamp and its
// CRLs embedded (B-LT) verifies on the day it was made; three years
// later, its signer's certificate expired, with the CRLs of that day for
// the signer and the CA's current ones for the still valid TSA, it is
// still valid. Ten years after every certificate expired, offline,
// nothing proves that the timestamp existed while its authority was valid
// (CMS has no archive timestamp here; PAdES B-LTA has one): the result is
// indeterminate (out_of_bounds_no_poe), never valid.
func TestArchiveTenYearsLater(t *testing.T) {
	p := newPKI(t)
	tsa, err := p.inter.NewTSA(testpki.LeafOptions{NotBefore: p.now.Add(-47 * time.Hour), NotAfter: p.now.AddDate(5, 0, 0)})
	require.NoError(t, err)
	content := []byte("Perakuan 1: payment voucher 2026/0042, RM 1,234.50")
	chain := []*x509.Certificate{p.leaf, p.inter.Cert}
	sig, err := signcms.Sign(context.Background(), p.key, bytes.NewReader(content), chain, signcms.Options{Now: func() time.Time { return p.now }})
	require.NoError(t, err)
	sv, err := signcms.SignatureValue(sig)
	require.NoError(t, err)
	token, err := tsa.Token(sv, p.now)
	require.NoError(t, err)
	stamped, err := signcms.AddTimestampToken(sig, token)
	require.NoError(t, err)

	// Day one: the CRLs the verifier used (root's, and the intermediate's
	// covering both the signer and the TSA) are embedded.
	day1 := p.verifier()
	rs, err := day1.VerifyCMS(context.Background(), CMSRequest{Signature: stamped, Content: content})
	require.NoError(t, err)
	require.Equal(t, Valid, rs[0].Verdict, "%+v", rs[0].Checks)
	assert.Equal(t, LevelBT, rs[0].Level, "the CRLs came from the network")
	require.NotNil(t, rs[0].Validation)
	archived, err := signcms.AddRevocationInfo(stamped, rs[0].Validation.CRLs, rs[0].Validation.OCSPResponses)
	require.NoError(t, err)
	rs, err = day1.VerifyCMS(context.Background(), CMSRequest{Signature: archived, Content: content})
	require.NoError(t, err)
	require.Equal(t, Valid, rs[0].Verdict, "%+v", rs[0].Checks)
	assert.Equal(t, LevelBLT, rs[0].Level)

	// Three years later: the signer's certificate expired, the TSA's is
	// valid and the CA publishes current CRLs.
	later := p.now.AddDate(3, 0, 0)
	require.True(t, later.After(p.leaf.NotAfter) && later.Before(tsa.Cert.NotAfter))
	for path, ca := range map[string]*testpki.CA{"/root.crl": p.root, "/inter.crl": p.inter} {
		p.publish(path, ca, testpki.CRLSpec{ThisUpdate: later.Add(-time.Hour)})
	}
	v3 := p.verifier(func(c *Config) { c.Now = func() time.Time { return later } })
	rs3, err := v3.VerifyCMS(context.Background(), CMSRequest{Signature: archived, Content: content})
	require.NoError(t, err)
	assert.Equal(t, Valid, rs3[0].Verdict, "%+v", rs3[0].Checks)
	assert.Equal(t, TimeSourceTimestamp, rs3[0].TimeSource)
	for _, in := range rs3[0].Revocation {
		assert.Equal(t, OriginSignature, in.Origin)
	}

	// Ten years after every certificate expired, no network.
	last := p.root.Cert.NotAfter
	for _, c := range []*x509.Certificate{p.leaf, p.inter.Cert, tsa.Cert} {
		if c.NotAfter.After(last) {
			last = c.NotAfter
		}
	}
	decade := last.AddDate(10, 0, 0)
	p.srv.Close()
	archive := p.verifier(func(c *Config) {
		c.Now = func() time.Time { return decade }
		c.Offline = true
	})
	for name, sig := range map[string][]byte{"with the CRLs": archived, "without the CRLs": stamped} {
		rs10, err := archive.VerifyCMS(context.Background(), CMSRequest{Signature: sig, Content: content})
		require.NoError(t, err)
		assert.Equal(t, Indeterminate, rs10[0].Verdict, "%s: %+v", name, rs10[0].Checks)
		assert.Equal(t, IndicationIndeterminate, rs10[0].Indication, name)
		assert.Equal(t, TimeSourceVerificationTime, rs10[0].TimeSource, name)
	}
	rs10, err := archive.VerifyCMS(context.Background(), CMSRequest{Signature: archived, Content: content})
	require.NoError(t, err)
	assert.Equal(t, SubOutOfBoundsNoPOE, rs10[0].SubIndication)
	assert.Equal(t, Indeterminate, rs10[0].Check(CheckTimestamp).Verdict)
}
