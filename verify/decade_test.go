package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/verify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verifyAt verifies doc against f's root with the clock at now, with no
// network when offline.
func verifyAt(t *testing.T, f *ltvtest.Fixture, doc []byte, now time.Time, offline bool) *verify.PDFResult {
	t.Helper()
	v, err := verify.New(verify.Config{Anchors: f.Anchors(), Offline: offline, Now: func() time.Time { return now }})
	require.NoError(t, err)
	res, err := v.VerifyPDF(context.Background(), verify.PDFRequest{Document: bytes.NewReader(doc), Size: int64(len(doc))})
	require.NoError(t, err)
	return res
}

func report(res *verify.PDFResult) string {
	js, _ := json.MarshalIndent(res, "", " ")
	return string(js)
}

// TestDecade is the decade test on documents made by signer/pdf through
// the host flow, a TSA over HTTP, AddLTV and Extend: B-LTA verified ten
// years after every certificate expired, with no network and the CA's CRL
// server gone, is valid from its own /DSS; the same document at B-T or
// B-LT is indeterminate; after a renewal (Extend) it verifies valid twenty
// years ahead.
func TestDecade(t *testing.T) {
	f := ltvtest.New(t)
	bt := f.BT(t, ltvtest.Document())
	blt := f.BLT(t, bt, false)
	blta := f.BLTA(t, blt)
	renewed, rep := f.Extend(t, blta, f.TSA.Cert.NotAfter.Add(-24*time.Hour))
	require.True(t, rep.Changed, rep.Reason)

	day1 := time.Now()
	for _, c := range []struct {
		name string
		doc  []byte
		want verify.Level
	}{{"B-T", bt, verify.LevelBT}, {"B-LT", blt, verify.LevelBLT}, {"B-LTA", blta, verify.LevelBLTA}, {"renewed", renewed, verify.LevelBLTA}} {
		res := verifyAt(t, f, c.doc, day1, false)
		require.Equal(t, verify.Valid, res.Verdict, "%s: %s", c.name, report(res))
		assert.Equal(t, c.want, res.Signatures[0].Level, c.name)
	}

	last := f.TSA.Cert.NotAfter
	for _, c := range f.Chain {
		if c.NotAfter.After(last) {
			last = c.NotAfter
		}
	}
	f.CRLs.Close()
	decade := last.AddDate(10, 0, 0)
	res := verifyAt(t, f, blta, decade, true)
	require.Equal(t, verify.Valid, res.Verdict, report(res))
	require.Len(t, res.Signatures, 2)
	assert.Equal(t, verify.LevelBLTA, res.Signatures[0].Level)
	assert.Equal(t, verify.TimeSourceTimestamp, res.Signatures[0].TimeSource)
	for _, in := range res.Signatures[0].Revocation {
		assert.Equal(t, verify.OriginDSS, in.Origin)
	}
	for name, doc := range map[string][]byte{"B-T": bt, "B-LT": blt} {
		res := verifyAt(t, f, doc, decade, true)
		assert.Equal(t, verify.Indeterminate, res.Verdict, "%s: %s", name, report(res))
	}

	res = verifyAt(t, f, renewed, last.AddDate(20, 0, 0), true)
	require.Equal(t, verify.Valid, res.Verdict, report(res))
	require.Len(t, res.Signatures, 3)
	assert.Equal(t, verify.LevelBLTA, res.Signatures[0].Level)
}
