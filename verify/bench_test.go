package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"math/big"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/proctime"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/require"
)

var (
	bigCRLOnce sync.Once
	bigCRLDER  []byte
)

const bigCRLEntries = 1_000_000

// bigCRL returns a DER CRL with one million entries (serials 1000…).
func bigCRL(b *testing.B) []byte {
	bigCRLOnce.Do(func() {
		root, err := testpki.NewRoot(testpki.Options{})
		require.NoError(b, err)
		entries := make([]testpki.CRLEntry, bigCRLEntries)
		at := time.Now().Add(-time.Hour)
		for i := range entries {
			entries[i] = testpki.CRLEntry{Revocation: testpki.Revocation{Serial: big.NewInt(int64(1000 + i*7)), Time: at, Reason: (i % 10) / 9}} // every tenth has a reason code
		}
		bigCRLDER, err = root.BuildCRL(testpki.CRLSpec{Entries: entries})
		require.NoError(b, err)
	})
	return bigCRLDER
}

// BenchmarkCRLParse1M parses a 1,000,000-entry CRL and reports the heap it
// keeps alive.
func BenchmarkCRLParse1M(b *testing.B) {
	der := bigCRL(b)
	b.SetBytes(int64(len(der)))
	b.ReportAllocs()
	var c *CRL
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		var err error
		c, err = ParseCRL(der)
		require.NoError(b, err)
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	if c.Len() != bigCRLEntries {
		b.Fatalf("entries %d", c.Len())
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "retained-MiB")
	b.ReportMetric(float64(len(der))/(1<<20), "der-MiB")
	runtime.KeepAlive(c)
}

// BenchmarkCRLLookup1M looks serials up in a parsed 1,000,000-entry CRL
// (half hits, half misses); lookups/s = 1e9 / ns/op.
func BenchmarkCRLLookup1M(b *testing.B) {
	c, err := ParseCRL(bigCRL(b))
	require.NoError(b, err)
	serials := make([]*big.Int, 4096)
	for i := range serials {
		serials[i] = big.NewInt(int64(1000 + i*3571))
	}
	b.ReportAllocs()
	i := 0
	hits := 0
	for b.Loop() {
		if _, ok := c.Lookup(serials[i&4095]); ok {
			hits++
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	_ = hits
}

// BenchmarkCMSVsRaw verifies the same ECDSA P-256 key's signatures raw and
// as full CMS verifications (attributes, chain, cached CRLs) in one run.
func BenchmarkCMSVsRaw(b *testing.B) {
	p := newPKI(b)
	v := p.verifier()
	content := []byte("Perakuan 1: invoice 2026/0042")
	der, err := testpki.BuildCMS(testpki.CMSSpec{Content: content, Key: p.key, Cert: p.leaf, Certs: []*x509.Certificate{p.leaf, p.inter.Cert}, ESSCert: p.leaf, AlgProtection: true})
	require.NoError(b, err)
	ctx := context.Background()
	if rs, err := v.VerifyCMS(ctx, CMSRequest{Signature: der}); err != nil || rs[0].Verdict != Valid {
		b.Fatalf("%v %+v", err, rs)
	}
	digest := sha256.Sum256(content)
	sig, err := p.key.Sign(nil, digest[:], crypto.SHA256)
	require.NoError(b, err)
	pub := p.key.Public().(*ecdsa.PublicKey)
	b.Run("raw-ecdsa-p256", func(b *testing.B) {
		for b.Loop() {
			if err := VerifyDigestSignature(pub, crypto.SHA256, digest[:], sig, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cms-cached-crl", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rs, err := v.VerifyCMS(ctx, CMSRequest{Signature: der})
			if err != nil || rs[0].Verdict != Valid {
				b.Fatal(err)
			}
		}
	})
	// Interleaved, so that load on a shared machine hits both alike:
	// rate-ratio = CMS verifications per second / raw verifications per second.
	b.Run("interleaved", func(b *testing.B) {
		var raw, full time.Duration
		for b.Loop() {
			t0 := time.Now()
			if err := VerifyDigestSignature(pub, crypto.SHA256, digest[:], sig, false); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if rs, err := v.VerifyCMS(ctx, CMSRequest{Signature: der}); err != nil || rs[0].Verdict != Valid {
				b.Fatal(err)
			}
			raw += t1.Sub(t0)
			full += time.Since(t1)
		}
		b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "raw-ns")
		b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "cms-ns")
		b.ReportMetric(float64(raw)/float64(full), "rate-ratio")
	})
	// The same, in CPU time of the benchmark's own thread (other processes
	// on the machine do not count).
	b.Run("interleaved-cpu", func(b *testing.B) {
		if proctime.Thread() == 0 {
			b.Skip("thread CPU time is not reported on this platform")
		}
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var raw, full time.Duration
		for b.Loop() {
			t0 := proctime.Thread()
			if err := VerifyDigestSignature(pub, crypto.SHA256, digest[:], sig, false); err != nil {
				b.Fatal(err)
			}
			t1 := proctime.Thread()
			if rs, err := v.VerifyCMS(ctx, CMSRequest{Signature: der}); err != nil || rs[0].Verdict != Valid {
				b.Fatal(err)
			}
			t2 := proctime.Thread()
			raw += t1 - t0
			full += t2 - t1
		}
		b.ReportMetric(float64(raw.Nanoseconds())/float64(b.N), "raw-cpu-ns")
		b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "cms-cpu-ns")
		b.ReportMetric(float64(raw)/float64(full), "cpu-rate-ratio")
	})
	if h := p.srv.Hits(); h != 2 {
		b.Fatalf("CRL downloads %d, want 2", h)
	}
}
