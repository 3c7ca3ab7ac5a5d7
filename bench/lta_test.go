package bench_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/internal/proctime"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/ltv"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/tsa"
	"github.com/roamsign/roamsign/verify"
)

// ltaDocs is the batch BenchmarkPDFLTA signs with one approval.
const ltaDocs = 100

// ltaExtra is room for the /DSS and document time-stamp revisions of a
// B-LTA output beyond the signed document.
const ltaExtra = 32 << 10

// ltaWaitFactor is the number of goroutines per CPU that complete and
// extend the B-LTA documents: enough for the TSA round trips of some to
// overlap the work of others. Measured on the 2-core machine with the
// paired B-B batches: 2 to 8 per CPU give the same rate within the noise,
// 1 per CPU (no overlap) about 8% less.
const ltaWaitFactor = 4

// BenchmarkPDFLTA signs the same batch of 100 PDFs of 50 KB through the
// host flow with one approval (signer/pdf Prepare of every document, one
// RequestOTP and one Sign over HTTPS, keys in SoftHSM2, Complete of every
// document) at two levels, in the same run:
//
//   - B-B: the flow alone;
//   - B-LTA: the flow completed with pdf.Prepared.CompleteLTA, in one
//     pass per document: the signature with its signature time-stamp, the
//     /DSS of the material package verify validated for the signer's and
//     the TSA's paths, and a document time-stamp;
//   - B-LTA-extend: the same documents completed B-T with Complete, then
//     extended with pdf.Extend (which reads each back), for comparison.
//
// The TSA is a local RFC 3161 responder (internal/devtsa on loopback) and
// the CA publishes its CRL on loopback; the validator's CRL cache is shared
// by the batch, as a host's would be. Besides docs/s it reports, per
// document of the B-LTA batch, the milliseconds spent waiting for the TSA
// (two round trips: signature and document time-stamp, replies verified by
// package tsa) and validating paths (revocation gathering: CRL fetch on a
// cold cache, path validation), summed over the workers, and the ratio of
// the B-LTA rate to the B-B rate (goal ≥ 0.5), with the CPU time B-LTA
// adds to B-B per document (extra-cpu-ms/doc) beside the raw cost of its
// two tokens (floor-cpu-ms/doc, see tokenFloor). The ratio's B-B rate
// (B-B-docs/s) is measured in the same iterations, one B-B batch beside
// each B-LTA batch, so that a shared machine's changing speed moves both
// alike; the B-B sub-benchmark gives B-B on its own.
func BenchmarkPDFLTA(b *testing.B) {
	d := newDeployment(b, deployOpts{})
	ctx := context.Background()
	crls := testpki.NewCRLServer()
	b.Cleanup(crls.Close)
	d.ca.CRLURL = crls.URLFor("/root.crl")
	crl, err := d.ca.CRL(testpki.CRLOptions{NextUpdate: time.Now().Add(24 * time.Hour)})
	require.NoError(b, err)
	crls.Set("/root.crl", crl)
	u := d.enrol(b, roamsign.ECP256, 1)[0]
	med, err := d.client.Medium(ctx, roamsign.MediumRequest{User: u.ID})
	require.NoError(b, err)
	chain, err := x509.ParseCertificates(bytes.Join(med.Chain, nil))
	require.NoError(b, err)
	require.NotEmpty(b, chain[0].CRLDistributionPoints, "the signer's certificate names no CRL")

	tsaCert, err := d.ca.NewTSA(testpki.LeafOptions{})
	require.NoError(b, err)
	srv := httptest.NewServer(tsaCert.Responder())
	b.Cleanup(srv.Close)
	client, err := tsa.New(tsa.Config{TSAs: []tsa.TSA{{URL: srv.URL}}, Chain: tsa.Roots(d.ca.Pool())})
	require.NoError(b, err)
	v, err := ltv.New(verify.Config{Anchors: []*x509.Certificate{d.ca.Cert}})
	require.NoError(b, err)
	lt := &ltaTools{ts: &timedStamper{c: client}, v: &timedValidator{v: v}, outs: newOutputs(ltaDocs), bt: newOutputs(ltaDocs)}

	docs := slices.Repeat([][]byte{pdfDoc}, ltaDocs)
	bbOuts := newOutputs(ltaDocs)
	bbBatch := func() [][]byte { return pdfFlow(b, d, u, chain, docs, bbOuts) }
	b.Run(fmt.Sprintf("B-B/p256/docs=%d", ltaDocs), func(b *testing.B) {
		ltaRate(b, d, fmt.Sprintf("pdf/B-B/p256/docs=%d docs/s", ltaDocs), 1, verify.LevelBB, bbBatch, nil)
	})
	for _, level := range []struct {
		name     string
		complete func(context.Context, int, *pdf.Prepared, []byte) ([]byte, error)
	}{{"B-LTA", lt.completeLTA}, {"B-LTA-extend", lt.completeExtend}} {
		b.Run(fmt.Sprintf("%s/p256/docs=%d", level.name, ltaDocs), func(b *testing.B) {
			lt.reset()
			batches := 0
			got, bb := ltaRate(b, d, fmt.Sprintf("pdf/%s/p256/docs=%d docs/s", level.name, ltaDocs), 2, verify.LevelBLTA, func() [][]byte {
				batches++
				return lt.flow(b, d, u, chain, docs, level.complete)
			}, bbBatch)
			n := float64(batches * ltaDocs)
			b.ReportMetric(float64(lt.ts.spent.Load())/1e6/n, "tsa-ms/doc")
			b.ReportMetric(float64(lt.v.spent.Load())/1e6/n, "validate-ms/doc")
			b.ReportMetric(bb.rate(), "B-B-docs/s")
			b.ReportMetric(got.rate()/bb.rate(), "ratio-to-B-B")
			b.ReportMetric(bb.cpuPerDoc()/got.cpuPerDoc(), "cpu-ratio-to-B-B")
			floor := tokenFloor(b, tsaCert, ltaWaitFactor*runtime.GOMAXPROCS(0))
			b.ReportMetric(got.cpuPerDoc()-bb.cpuPerDoc(), "extra-cpu-ms/doc")
			b.ReportMetric(2*floor.cpuPerSig.Seconds()*1e3, "floor-cpu-ms/doc")
		})
	}
}

// tokenFloor measures, on workers goroutines for half a second, the raw
// work one time-stamp token costs the machine whatever code surrounds it:
// a POST of a real TimeStampReq over loopback HTTP answered with a real
// reply of the TSA (neither parsed), one P-256 signature with the TSA's
// key and its verification. Twice its CPU time per call is the floor of
// what B-LTA adds to B-B per document, which gets two tokens; the B-LTA
// benchmark reports it (floor-cpu-ms/doc) beside what B-LTA does add
// (extra-cpu-ms/doc).
func tokenFloor(b *testing.B, t *testpki.TSA, workers int) rate {
	key, ok := t.Key.(*ecdsa.PrivateKey)
	require.True(b, ok, "the TSA's key is not ECDSA")
	req, err := timestamp.CreateRequest(bytes.NewReader(pdfDoc), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true, Nonce: big.NewInt(1 << 62)})
	require.NoError(b, err)
	reply, err := t.Responder().Respond(req)
	require.NoError(b, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write(reply)
	}))
	defer srv.Close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = workers
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	return rawRate(b, workers, 500*time.Millisecond, func(int) error {
		resp, err := hc.Post(srv.URL, "application/timestamp-query", bytes.NewReader(req))
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		sum := sha256.Sum256(reply)
		sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
		if err != nil {
			return err
		}
		if !ecdsa.VerifyASN1(&key.PublicKey, sum[:], sig) {
			return errors.New("the TSA's signature does not verify")
		}
		return nil
	})
}

// ltaTools are the B-LTA batch's time-stamper and validator, timed, and
// the buffers its signed documents are written into (the B-T documents
// that Extend reads back, in bt).
type ltaTools struct {
	ts       *timedStamper
	v        *timedValidator
	outs, bt *outputs
}

func (l *ltaTools) reset() { l.ts.spent.Store(0); l.v.spent.Store(0) }

// completeLTA completes the i-th document B-LTA in one pass.
func (l *ltaTools) completeLTA(ctx context.Context, i int, p *pdf.Prepared, sig []byte) ([]byte, error) {
	lta := l.outs.signed(i, p, ltaExtra)
	_, err := p.CompleteLTA(ctx, sig, lta, pdf.LTAOptions{Timestamper: l.ts, Validator: l.v})
	return lta.Bytes(), err
}

// completeExtend completes the i-th document B-T, then extends it to
// B-LTA.
func (l *ltaTools) completeExtend(ctx context.Context, i int, p *pdf.Prepared, sig []byte) ([]byte, error) {
	bt := l.bt.signed(i, p, 0)
	if err := p.Complete(ctx, sig, bt); err != nil {
		return nil, err
	}
	lta := l.outs.buffer(i, bt.Len()+ltaExtra)
	_, err := pdf.Extend(ctx, bytes.NewReader(bt.Bytes()), int64(bt.Len()), lta, pdf.ExtendOptions{Timestamper: l.ts, Validator: l.v})
	return lta.Bytes(), err
}

// flow signs docs as one batch through the host flow with a signature
// time-stamp and completes each to B-LTA with complete, on every CPU.
func (l *ltaTools) flow(b *testing.B, d *deployment, u bench.User, chain []*x509.Certificate, docs [][]byte,
	complete func(context.Context, int, *pdf.Prepared, []byte) ([]byte, error)) [][]byte {
	ctx := context.Background()
	preps := make([]*pdf.Prepared, len(docs))
	hashes := make([]roamsign.Hash, len(docs))
	eachDoc(b, len(docs), runtime.GOMAXPROCS(0), func(i int) error {
		p, err := pdf.Prepare(ctx, bytes.NewReader(docs[i]), int64(len(docs[i])), chain, pdf.Options{Reason: "bench", Timestamper: l.ts})
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
	// Completion and extension wait for the TSA twice per document: they
	// run on more goroutines than CPUs so that the waits overlap.
	eachDoc(b, len(docs), ltaWaitFactor*runtime.GOMAXPROCS(0), func(i int) error {
		doc, err := complete(ctx, i, preps[i], res.Items[i].Signature)
		out[i] = doc
		return err
	})
	return out
}

// ltaRate checks one batch (each document: sigs signatures, every one
// valid, with revocation decided, the signature at level), then runs
// batch b.N times and reports documents per second and the process's CPU
// time per document (client, server, SoftHSM2, SQLite and the TSA, all in
// this process), which the load of other processes on the machine moves
// less than the rate. With pair (the B-B batch), each iteration also runs
// one pair batch, before or after batch in turn, so that both are
// measured over the same stretch of time and a change in the machine's
// speed (other work on a shared host) moves both alike; their timings are
// returned for the ratio.
func ltaRate(b *testing.B, d *deployment, name string, sigs int, level verify.Level, batch, pair func() [][]byte) (got, paired timing) {
	v, err := verify.New(verify.Config{Anchors: []*x509.Certificate{d.ca.Cert}})
	require.NoError(b, err)
	for i, doc := range batch() {
		res, err := v.VerifyPDF(context.Background(), verify.PDFRequest{Document: bytes.NewReader(doc), Size: int64(len(doc))})
		require.NoError(b, err, "document %d", i)
		require.Len(b, res.Signatures, sigs, "document %d", i)
		require.Equal(b, verify.Valid, res.Verdict, "document %d: %v", i, res.Signatures[0].Failed())
		require.Equal(b, level, res.Signatures[0].Level, "document %d", i)
	}
	for b.Loop() {
		if pair != nil && got.n%2 == 1 {
			paired.run("B-B", pair)
		}
		got.run(name, batch)
		if pair != nil && got.n%2 == 1 {
			paired.run("B-B", pair)
		}
	}
	b.ReportMetric(got.rate(), "docs/s")
	b.ReportMetric(got.cpuPerDoc(), "cpu-ms/doc")
	record(name, got.rate())
	return got, paired
}

// timing is the wall-clock and process CPU time of n batches of ltaDocs
// documents.
type timing struct {
	elapsed, cpu time.Duration
	n            int
}

// run runs batch once, with the profile label batch=name so that a CPU
// profile of the benchmark tells the paired batches apart (-tagfocus).
func (t *timing) run(name string, batch func() [][]byte) {
	t0, c0 := time.Now(), proctime.CPU()
	pprof.Do(context.Background(), pprof.Labels("batch", name), func(context.Context) { batch() })
	t.elapsed += time.Since(t0)
	t.cpu += proctime.CPU() - c0
	t.n++
}

func (t timing) rate() float64 { return float64(t.n*ltaDocs) / t.elapsed.Seconds() }

func (t timing) cpuPerDoc() float64 { return t.cpu.Seconds() * 1e3 / float64(t.n*ltaDocs) }

// timedStamper counts the time spent obtaining time-stamp tokens.
type timedStamper struct {
	c     *tsa.Client
	spent atomic.Int64
}

func (t *timedStamper) Timestamp(ctx context.Context, data []byte) ([]byte, error) {
	defer t.since(time.Now())
	return t.c.Timestamp(ctx, data)
}

func (t *timedStamper) TimestampDigest(ctx context.Context, h roamsign.HashAlgorithm, digest []byte) ([]byte, error) {
	defer t.since(time.Now())
	return t.c.TimestampDigest(ctx, h, digest)
}

func (t *timedStamper) TokenSizeHint() int { return t.c.TokenSizeHint() }

func (t *timedStamper) since(t0 time.Time) { t.spent.Add(int64(time.Since(t0))) }

// timedValidator counts the time spent validating paths.
type timedValidator struct {
	v     *ltv.Validator
	spent atomic.Int64
}

func (t *timedValidator) ValidateChain(ctx context.Context, req pdf.ChainRequest) (*pdf.ValidationData, error) {
	t0 := time.Now()
	defer func() { t.spent.Add(int64(time.Since(t0))) }()
	return t.v.ValidateChain(ctx, req)
}
