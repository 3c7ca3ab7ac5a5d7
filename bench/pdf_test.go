package bench_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"runtime"
	"slices"
	"testing"
	"time"

	digitoruspdf "github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/internal/parallel"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/verify"
)

// pdfDoc is the document both sides of BenchmarkPDF sign, n times per
// batch: a 50 KB file of three pages with a classic cross-reference table
// (ltvtest.BenchDocument is deterministic, so one copy serves every
// batch).
var pdfDoc = ltvtest.BenchDocument()

// pdfBatches are the numbers of documents BenchmarkPDF signs per batch.
var pdfBatches = []int{10, 100}

// BenchmarkPDF signs the same batch of PDFs (10 or 100) as PAdES-B-B two ways, with keys in
// the same SoftHSM2 token:
//
//   - roamsign: the host flow over HTTPS — Medium for the chain, then per
//     batch: signer/pdf Prepare of every document, one RequestOTP and one
//     Sign for all the digests (PIN + OTP), Complete of every document;
//   - pdfsign-local: digitorus/pdfsign signing each document in-process with
//     an hsm key (no PIN, no OTP, no audit), on as many goroutines as the
//     key store has sessions.
//
// It reports documents per second and records both for the ratio table.
// Every output of one batch per side is checked with verify.VerifyPDF,
// outside the timed loop.
func BenchmarkPDF(b *testing.B) {
	d := newDeployment(b, deployOpts{})
	ctx := context.Background()
	for _, a := range algs {
		u := d.enrol(b, a.alg, 1)[0]
		med, err := d.client.Medium(ctx, roamsign.MediumRequest{User: u.ID})
		require.NoError(b, err)
		chain, err := x509.ParseCertificates(bytes.Join(med.Chain, nil))
		require.NoError(b, err)
		for _, n := range pdfBatches {
			docs := slices.Repeat([][]byte{pdfDoc}, n)
			b.Run(fmt.Sprintf("roamsign/%s/docs=%d", a.name, n), func(b *testing.B) {
				outs := newOutputs(n)
				docRate(b, d, fmt.Sprintf("pdf/roamsign/%s/docs=%d docs/s", a.name, n), len(docs), func() [][]byte {
					return pdfFlow(b, d, u, chain, docs, outs)
				})
			})
		}

		// pdfsign gets its own key of the same algorithm in the same token,
		// and a certificate from the same CA.
		key, err := d.keys.Generate(ctx, hsm.GenerateRequest{ID: "pdfsign-" + a.name, Algorithm: a.alg})
		require.NoError(b, err)
		leaf, err := d.ca.IssueLeaf("PDFSIGN BASELINE", "850715015123", key.Public(), testpki.LeafOptions{})
		require.NoError(b, err)
		local := []*x509.Certificate{leaf, d.ca.Cert}
		for _, n := range pdfBatches {
			docs := slices.Repeat([][]byte{pdfDoc}, n)
			b.Run(fmt.Sprintf("pdfsign-local/%s/docs=%d", a.name, n), func(b *testing.B) {
				outs := newOutputs(n)
				docRate(b, d, fmt.Sprintf("pdf/pdfsign-local/%s/docs=%d docs/s", a.name, n), len(docs), func() [][]byte {
					out := make([][]byte, len(docs))
					eachDoc(b, len(docs), d.keys.Sessions(), func(i int) error {
						buf := outs.buffer(i, 0)
						if err := pdfsignOne(docs[i], buf, key, local); err != nil {
							return err
						}
						out[i] = buf.Bytes()
						return nil
					})
					return out
				})
			})
		}
	}
}

// docRate checks the documents of one batch with verify.VerifyPDF, then
// runs batch b.N times and reports and records documents per second under
// name. The checked batch is not timed: only signing counts.
func docRate(b *testing.B, d *deployment, name string, perBatch int, batch func() [][]byte) {
	checkPDFs(b, d, batch())
	var elapsed time.Duration
	for b.Loop() {
		t0 := time.Now()
		batch()
		elapsed += time.Since(t0)
	}
	rate := float64(b.N*perBatch) / elapsed.Seconds()
	b.ReportMetric(rate, "docs/s")
	record(name, rate)
}

// pdfFlow signs docs as one batch through the host flow and returns the
// signed files, written into outs. Like a host with several documents, it
// prepares and completes them on every CPU.
func pdfFlow(b *testing.B, d *deployment, u bench.User, chain []*x509.Certificate, docs [][]byte, outs *outputs) [][]byte {
	ctx := context.Background()
	preps := make([]*pdf.Prepared, len(docs))
	hashes := make([]roamsign.Hash, len(docs))
	eachDoc(b, len(docs), runtime.GOMAXPROCS(0), func(i int) error {
		p, err := pdf.Prepare(ctx, bytes.NewReader(docs[i]), int64(len(docs[i])), chain, pdf.Options{Reason: "bench"})
		if err != nil {
			return err
		}
		preps[i] = p
		hashes[i] = roamsign.Hash{Algorithm: p.Hash(), Value: p.Digest()}
		return nil
	})
	res, _, err := bench.Flow(ctx, d.client, d.mail, u, hashes, roamsign.FormRaw)
	require.NoError(b, err)
	out := make([][]byte, len(docs))
	eachDoc(b, len(docs), runtime.GOMAXPROCS(0), func(i int) error {
		buf := outs.signed(i, preps[i], 0)
		if err := preps[i].Complete(ctx, res.Items[i].Signature, buf); err != nil {
			return err
		}
		out[i] = buf.Bytes()
		return nil
	})
	return out
}

// outputs are the buffers a batch writes its signed documents into, kept
// from one batch to the next as a host's output files are: once they have
// grown to the documents' size, writing a signed document allocates
// nothing, on every side of a comparison alike. A batch's documents are
// valid until the next batch.
type outputs struct{ bufs []*bytes.Buffer }

func newOutputs(n int) *outputs {
	o := &outputs{bufs: make([]*bytes.Buffer, n)}
	for i := range o.bufs {
		o.bufs[i] = new(bytes.Buffer)
	}
	return o
}

// buffer returns the i-th buffer, empty, with room for n bytes.
func (o *outputs) buffer(i, n int) *bytes.Buffer {
	b := o.bufs[i]
	b.Reset()
	b.Grow(n)
	return b
}

// signed returns the i-th buffer, empty, with room for p's signed
// document and extra bytes.
func (o *outputs) signed(i int, p *pdf.Prepared, extra int) *bytes.Buffer {
	br := p.ByteRange()
	return o.buffer(i, int(br[2]+br[3])+extra)
}

// eachDoc runs fn(0..n-1) on workers goroutines and fails b on the first
// error.
func eachDoc(b *testing.B, n, workers int, fn func(i int) error) {
	require.NoError(b, parallel.Each(context.Background(), workers, n, fn))
}

// pdfsignOne signs doc with digitorus/pdfsign.
func pdfsignOne(doc []byte, w io.Writer, key crypto.Signer, chain []*x509.Certificate) error {
	in := bytes.NewReader(doc)
	rdr, err := digitoruspdf.NewReader(in, int64(len(doc)))
	if err != nil {
		return err
	}
	return sign.Sign(in, w, rdr, int64(len(doc)), sign.SignData{
		Signature: sign.SignDataSignature{
			CertType: sign.ApprovalSignature,
			Info:     sign.SignDataSignatureInfo{Name: "bench", Reason: "bench"},
		},
		Signer:            key,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       chain[0],
		CertificateChains: [][]*x509.Certificate{chain},
	})
}

// checkPDFs verifies every document with verify.VerifyPDF: one signature,
// and no check that fails (revocation stays indeterminate: the test
// certificates name no CRL).
func checkPDFs(b *testing.B, d *deployment, docs [][]byte) {
	b.Helper()
	v, err := verify.New(verify.Config{Anchors: []*x509.Certificate{d.ca.Cert}})
	require.NoError(b, err)
	for i, doc := range docs {
		res, err := v.VerifyPDF(context.Background(), verify.PDFRequest{Document: bytes.NewReader(doc), Size: int64(len(doc))})
		if err != nil {
			b.Fatalf("document %d: %v", i, err)
		}
		if len(res.Signatures) != 1 || res.Signatures[0].Verdict == verify.Invalid {
			b.Fatalf("document %d: %s", i, fmt.Sprint(res.Signatures))
		}
	}
}
