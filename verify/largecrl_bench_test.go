package verify_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/verify"
)

// BenchmarkVerifyPDFLargeCRL verifies, offline and again and again as an
// archive checks the documents of one CA, a B-LTA PDF whose /DSS carries
// the issuing CA's CRL of 40,000 revoked certificates (about 0.9 MB, a
// national CA's): the signature and the document time-stamp, with the
// level each reaches.
func BenchmarkVerifyPDFLargeCRL(b *testing.B) {
	f := ltvtest.New(b)
	crl := f.PublishLargeCACRL(b, 40000)
	doc := ltvtest.BenchDocument()
	signed := f.LTA(b, doc)
	require.Greater(b, len(signed), len(doc)+len(crl), "the /DSS carries the CRL")
	v, err := verify.New(verify.Config{Anchors: f.Anchors(), Offline: true})
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := v.VerifyPDF(ctx, verify.PDFRequest{Document: bytes.NewReader(signed), Size: int64(len(signed))})
		require.NoError(b, err)
		require.Equal(b, verify.Valid, res.Verdict)
		require.Equal(b, verify.LevelBLTA, res.Signatures[0].Level)
	}
}
