package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	signcms "github.com/roamsign/roamsign/signer/cms"
	pdfsig "github.com/roamsign/roamsign/signer/pdf"
)

// A PDF signature is PAdES-B-B only as EN 319 142-1 clause 6.3 has it:
// /SubFilter /ETSI.CAdES.detached, /M, and no CMS signing-time attribute.
// A valid signature that lacks one of them is reported as a plain CMS
// signature, not as a baseline level.
func TestPDFLevelNeedsPAdESBaseline(t *testing.T) {
	p := newPKI(t)
	v := p.verifier()
	ctx := context.Background()
	chain := []*x509.Certificate{p.leaf, p.inter.Cert}
	now := func() time.Time { return p.now }
	base := pdfxtest.Generate(pdfxtest.Options{})

	good := signPDF(t, p, base, pdfsig.Options{})
	goodRes := verifyPDF(t, v, good)
	require.Len(t, goodRes.Signatures, 1)
	require.Equal(t, Valid, goodRes.Signatures[0].Verdict)
	require.Equal(t, LevelBB, goodRes.Signatures[0].Level)

	// A CMS with a signing-time attribute.
	prep, err := pdfsig.Prepare(ctx, bytes.NewReader(base), int64(len(base)), chain, pdfsig.Options{Now: now})
	require.NoError(t, err)
	der, err := signcms.SignDigest(ctx, p.key, prep.DocumentDigest(), chain, signcms.Options{Now: now})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, prep.CompleteCMS(ctx, der, &out))
	res := verifyPDF(t, v, out.Bytes())
	require.Equal(t, Valid, res.Signatures[0].Verdict, "%+v", res.Signatures[0].Failed())
	require.NotNil(t, res.Signatures[0].ClaimedSigningTime)
	require.Equal(t, LevelCMS, res.Signatures[0].Level)

	// No /M: blanked, and the signature made again over what is left.
	noM := bytes.Clone(good)
	loc := regexp.MustCompile(`/M ?\(D:[^)]*\)`).FindIndex(noM)
	require.NotNil(t, loc)
	for i := loc[0]; i < loc[1]; i++ {
		noM[i] = ' '
	}
	noM = resign(t, p, noM, goodRes.Signatures[0].ByteRange)
	res = verifyPDF(t, v, noM)
	require.Equal(t, Valid, res.Signatures[0].Verdict, "%+v", res.Signatures[0].Failed())
	require.Nil(t, res.Signatures[0].ClaimedTime)
	require.Equal(t, LevelCMS, res.Signatures[0].Level)
}

// A detached CMS signature is CAdES-B-B only with the signing-time
// attribute EN 319 122-1 clause 6.3 requires; without it a valid
// signature is reported as a plain CMS signature.
func TestCMSLevelNeedsSigningTime(t *testing.T) {
	p := newPKI(t)
	v := p.verifier()
	ctx := context.Background()
	chain := []*x509.Certificate{p.leaf, p.inter.Cert}
	content := []byte("Akuan Terima: invois 2026/0042")
	for _, omit := range []bool{false, true} {
		der, err := signcms.Sign(ctx, p.key, bytes.NewReader(content), chain,
			signcms.Options{Now: func() time.Time { return p.now }, OmitSigningTime: omit})
		require.NoError(t, err)
		rs, err := v.VerifyCMS(ctx, CMSRequest{Signature: der, Content: content})
		require.NoError(t, err)
		require.Equal(t, Valid, rs[0].Verdict, "%+v", rs[0].Checks)
		want := LevelBB
		if omit {
			want = LevelCMS
		}
		require.Equal(t, want, rs[0].Level, "signing-time omitted: %v", omit)
	}
}
