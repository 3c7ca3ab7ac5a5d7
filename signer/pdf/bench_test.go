package pdf

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/proctime"
	"github.com/stretchr/testify/require"
)

// fixedSigner returns a precomputed signature value, so that a benchmark
// through it measures everything but the private-key operation.
type fixedSigner struct {
	pub crypto.PublicKey
	sig []byte
}

func (f fixedSigner) Public() crypto.PublicKey { return f.pub }
func (f fixedSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return f.sig, nil
}

func doc5K(b *testing.B) []byte {
	d := pdfxtest.Generate(pdfxtest.Options{Pages: 2, Padding: 4000})
	if len(d) < 4500 || len(d) > 6000 {
		b.Fatalf("document is %d bytes", len(d))
	}
	return d
}

// BenchmarkSign5K compares one-step signing of a 5 KB document with an
// RSA-2048 key against the raw signature of a digest with the same key.
//
//   - raw-rsa2048 and roamsign: the two rates on their own.
//   - paired: each iteration does one raw signature and one document
//     signature and times each, so that both see the same machine load;
//     it reports the ratio of the rates (document/raw, higher is better).
//   - noncrypto: Sign with a signer returning a precomputed signature (the
//     signing time is fixed so the digest is always the same); what remains
//     is PDF and CMS work plus the RSA verification Complete does before
//     embedding a signature, reported on its own as raw-verify.
//   - pdfsign-noncrypto: digitorus/pdfsign with the same precomputed signer.
func BenchmarkSign5K(b *testing.B) {
	p := newPKI(b)
	doc := doc5K(b)
	digest := sha256.Sum256([]byte("x"))
	ctx := context.Background()
	signOnce := func(b *testing.B, key crypto.Signer, opts Options) {
		require.NoError(b, Sign(ctx, bytes.NewReader(doc), int64(len(doc)), io.Discard, key, p.chain, opts))
	}
	b.Run("raw-rsa2048", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := p.key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("roamsign", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			signOnce(b, p.key, Options{})
		}
	})
	b.Run("paired", func(b *testing.B) {
		var raw, doc time.Duration
		for b.Loop() {
			t0 := time.Now()
			if _, err := p.key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			signOnce(b, p.key, Options{})
			t2 := time.Now()
			raw += t1.Sub(t0)
			doc += t2.Sub(t1)
		}
		b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "raw-ns/sig")
		b.ReportMetric(float64(doc.Nanoseconds())/float64(b.N), "pdf-ns/doc")
		b.ReportMetric(float64(raw)/float64(doc), "rate-ratio")
	})

	opts := Options{SigningTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	prep, err := Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), p.chain, opts)
	require.NoError(b, err)
	sig, err := p.key.Sign(rand.Reader, prep.Digest(), prep.SignerOpts())
	require.NoError(b, err)
	fixed := fixedSigner{pub: p.key.Public(), sig: sig}
	b.Run("raw-verify", func(b *testing.B) {
		pub := p.key.Public().(*rsa.PublicKey)
		defer reportCPU(b)()
		for b.Loop() {
			require.NoError(b, rsa.VerifyPKCS1v15(pub, crypto.SHA256, prep.Digest(), sig))
		}
	})
	b.Run("noncrypto", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			signOnce(b, fixed, opts)
		}
	})
	b.Run("pdfsign-noncrypto", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			pdfsignOnce(b, bytes.NewReader(doc), int64(len(doc)), fixed, p)
		}
	})
}

func pdfsignOnce(b *testing.B, in io.ReadSeeker, size int64, key crypto.Signer, p *testPKI) {
	rdr, err := pdf.NewReader(in.(io.ReaderAt), size)
	require.NoError(b, err)
	err = sign.Sign(in, io.Discard, rdr, size, sign.SignData{
		Signature: sign.SignDataSignature{
			CertType: sign.ApprovalSignature,
			Info:     sign.SignDataSignatureInfo{Name: "bench"},
		},
		Signer:            key,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       p.leaf,
		CertificateChains: [][]*x509.Certificate{p.chain},
	})
	require.NoError(b, err)
}

// BenchmarkSign10M signs a 10 MB file read from disk with roamsign and with
// digitorus/pdfsign, reporting throughput and bytes allocated per byte of
// input (an upper bound of the heap each needs beyond the file itself).
func BenchmarkSign10M(b *testing.B) {
	p := newPKI(b)
	data := pdfxtest.Generate(pdfxtest.Options{Padding: 10 << 20})
	name := filepath.Join(b.TempDir(), "big.pdf")
	require.NoError(b, os.WriteFile(name, data, 0o600))
	size := int64(len(data))
	data = nil
	run := func(b *testing.B, fn func(f *os.File)) {
		f, err := os.Open(name)
		require.NoError(b, err)
		defer f.Close()
		b.SetBytes(size)
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		cpu0 := proctime.CPU()
		peak := peakHeap(func() {
			for b.Loop() {
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					b.Fatal(err)
				}
				fn(f)
			}
		})
		runtime.ReadMemStats(&ms1)
		b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/float64(size), "alloc/size")
		b.ReportMetric(float64(peak-ms0.HeapAlloc)/float64(size), "peakheap/size")
		b.ReportMetric(float64((proctime.CPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	b.Run("roamsign", func(b *testing.B) {
		run(b, func(f *os.File) {
			require.NoError(b, Sign(context.Background(), f, size, io.Discard, p.key, p.chain, Options{}))
		})
	})
	b.Run("pdfsign", func(b *testing.B) {
		run(b, func(f *os.File) { pdfsignOnce(b, f, size, p.key, p) })
	})
	// paired alternates the two in one loop so that both see the same load,
	// and reports roamsign's throughput relative to pdfsign's.
	b.Run("paired", func(b *testing.B) {
		f, err := os.Open(name)
		require.NoError(b, err)
		defer f.Close()
		var ours, theirs time.Duration
		for b.Loop() {
			t0 := time.Now()
			require.NoError(b, Sign(context.Background(), f, size, io.Discard, p.key, p.chain, Options{}))
			t1 := time.Now()
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				b.Fatal(err)
			}
			pdfsignOnce(b, f, size, p.key, p)
			ours += t1.Sub(t0)
			theirs += time.Since(t1)
		}
		b.ReportMetric(float64(size)/1e6/(ours.Seconds()/float64(b.N)), "roamsign-MB/s")
		b.ReportMetric(float64(size)/1e6/(theirs.Seconds()/float64(b.N)), "pdfsign-MB/s")
		b.ReportMetric(float64(theirs)/float64(ours), "throughput-ratio")
	})
}

// peakHeap runs fn while sampling the live heap, and returns the highest
// sample (bytes of heap objects, live and not yet swept).
func peakHeap(fn func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	return peak.Load()
}

// reportCPU reports the process CPU time per iteration ("cpu-ns/op") when
// the returned function runs at the end of the benchmark.
func reportCPU(b *testing.B) func() {
	start := proctime.CPU()
	return func() {
		b.ReportMetric(float64((proctime.CPU()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
