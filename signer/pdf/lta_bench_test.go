package pdf_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/internal/proctime"
	"github.com/roamsign/roamsign/signer/pdf"
)

// BenchmarkCompleteLevels signs a 50 KB document of three pages one at a
// time with a key in memory, completed B-B (Complete) and B-LTA
// (CompleteLTA with a tsa.Client of a local internal/devtsa over HTTP and
// an ltv.Validator whose paths are remembered), so that a profile shows
// what B-LTA's completion costs beyond B-B's without the sign server's
// work around it (bench's BenchmarkPDFLTA measures the whole host flow).
// B-LTA/CRL=40000 is B-LTA with the issuing CA's CRL listing 40,000
// revoked certificates (about 0.9 MB, a national CA's), which every
// document's /DSS then carries. Besides the time per document it reports
// the process's CPU time per document (the TSA's included), which waiting
// for the TSA does not blur.
func BenchmarkCompleteLevels(b *testing.B) {
	f, large := ltvtest.New(b), ltvtest.New(b)
	large.PublishLargeCACRL(b, 40000)
	doc := ltvtest.BenchDocument()
	ctx := context.Background()
	var out bytes.Buffer
	lta := func(f *ltvtest.Fixture) func(*pdf.Prepared, []byte) error {
		return func(p *pdf.Prepared, sig []byte) error {
			_, err := p.CompleteLTA(ctx, sig, &out, pdf.LTAOptions{Timestamper: f.Client, Validator: f.Validator})
			return err
		}
	}
	for _, level := range []struct {
		name     string
		f        *ltvtest.Fixture
		opts     pdf.Options
		complete func(*pdf.Prepared, []byte) error
	}{
		{"B-B", f, pdf.Options{}, func(p *pdf.Prepared, sig []byte) error { return p.Complete(ctx, sig, &out) }},
		{"B-LTA", f, pdf.Options{Timestamper: f.Client}, lta(f)},
		{"B-LTA/CRL=40000", large, pdf.Options{Timestamper: large.Client}, lta(large)},
	} {
		b.Run(level.name, func(b *testing.B) {
			b.ReportAllocs()
			c0 := proctime.CPU()
			for b.Loop() {
				p, err := pdf.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), level.f.Chain, level.opts)
				require.NoError(b, err)
				sig, err := level.f.Key.Sign(rand.Reader, p.Digest(), p.SignerOpts())
				require.NoError(b, err)
				out.Reset()
				require.NoError(b, level.complete(p, sig))
			}
			b.ReportMetric(float64((proctime.CPU()-c0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
