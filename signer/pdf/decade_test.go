package pdf_test

import (
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/verify"
	"github.com/stretchr/testify/require"
)

// TestDecade: a B-LTA document verified ten years later — every
// certificate expired, no network (verify offline), the CA's CRL server
// gone — is valid from its own /DSS and reported B-LTA; the same
// signature at B-T is indeterminate; after a renewal (pdf.Extend close to
// the time-stamping certificate's expiry) it verifies twenty years ahead.
func TestDecade(t *testing.T) {
	f := ltvtest.New(t)
	bt := f.BT(t, ltvtest.Document())
	blta := f.BLTA(t, bt)
	renewed, rep := f.Extend(t, blta, f.TSA.Cert.NotAfter.Add(-24*time.Hour))
	require.True(t, rep.Changed, rep.Reason)
	f.CRLs.Close()

	later := time.Now().AddDate(10, 0, 0)
	for _, c := range append(f.Chain, f.TSA.Cert) {
		require.True(t, c.NotAfter.Before(later), "%s has not expired by then", c.Subject.CommonName)
	}
	res := verifyOffline(t, f, blta, later)
	require.Equal(t, verify.Valid, res.Verdict, "%v", res.Signatures[0].Failed())
	require.Equal(t, verify.LevelBLTA, res.Signatures[0].Level)

	res = verifyOffline(t, f, bt, later)
	require.Equal(t, verify.Indeterminate, res.Verdict)

	res = verifyOffline(t, f, renewed, time.Now().AddDate(20, 0, 0))
	require.Len(t, res.Signatures, 3)
	require.Equal(t, verify.Valid, res.Verdict, "%v", res.Signatures[0].Failed())
	require.Equal(t, verify.LevelBLTA, res.Signatures[0].Level)
}
