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

// TestArchiveTenYearsLater: a signature with a timestamp and its CRLs
// embedded verifies on the day it was made, and again with the clock ten
// years past every certificate's expiry and the CRL server gone, offline,
// with the same verdict. Without the embedded CRLs it does not.
func TestArchiveTenYearsLater(t *testing.T) {
	p := newPKI(t)
	tsa, err := p.inter.NewTSA(testpki.LeafOptions{NotBefore: p.now.Add(-47 * time.Hour)})
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
	require.NotNil(t, rs[0].Validation)
	archived, err := signcms.AddRevocationInfo(stamped, rs[0].Validation.CRLs, rs[0].Validation.OCSPResponses)
	require.NoError(t, err)
	assert.Equal(t, LevelBT, rs[0].Level)

	// Ten years after every certificate expired, no network.
	last := p.root.Cert.NotAfter
	for _, c := range []*x509.Certificate{p.leaf, p.inter.Cert, tsa.Cert} {
		if c.NotAfter.After(last) {
			last = c.NotAfter
		}
	}
	later := last.AddDate(10, 0, 0)
	p.srv.Close()
	archive := p.verifier(func(c *Config) {
		c.Now = func() time.Time { return later }
		c.Offline = true
	})
	rs2, err := archive.VerifyCMS(context.Background(), CMSRequest{Signature: archived, Content: content})
	require.NoError(t, err)
	assert.Equal(t, rs[0].Verdict, rs2[0].Verdict, "%+v", rs2[0].Checks)
	assert.Equal(t, rs[0].Indication, rs2[0].Indication)
	assert.Equal(t, TimeSourceTimestamp, rs2[0].TimeSource)
	for _, in := range rs2[0].Revocation {
		assert.Equal(t, OriginSignature, in.Origin)
	}

	// The same signature without the embedded CRLs is not valid: the
	// timestamp's TSA cannot be checked, so nothing proves the signing
	// time and the expired certificates count at the verification time.
	rs3, err := archive.VerifyCMS(context.Background(), CMSRequest{Signature: stamped, Content: content})
	require.NoError(t, err)
	assert.NotEqual(t, Valid, rs3[0].Verdict)
	assert.Equal(t, IndicationIndeterminate, rs3[0].Indication, "%+v", rs3[0].Checks)
}
