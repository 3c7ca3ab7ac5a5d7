package signer_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roamsign/roamsign/signer"
)

// BenchmarkBatchInMemory signs batches of 1000 SHA-256 digests with an
// in-memory key, alternating a raw baseline (GOMAXPROCS goroutines calling
// Sign, taking the next digest) and SignBatch, and reports the ratio.
func BenchmarkBatchInMemory(b *testing.B) {
	r, e256, _ := keys(b)
	for _, c := range []struct {
		name string
		key  crypto.Signer
	}{{"RSA-2048", r}, {"P-256", e256}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := signer.New(c.key, signer.Config{})
			if err != nil {
				b.Fatal(err)
			}
			hs := digests(1000)
			workers := 2
			var tRaw, tBatch time.Duration
			runRaw := func() {
				t0 := time.Now()
				var wg sync.WaitGroup
				var next atomic.Int64
				for range workers {
					wg.Go(func() {
						for {
							i := int(next.Add(1) - 1)
							if i >= len(hs) {
								return
							}
							if _, err := c.key.Sign(rand.Reader, hs[i].Value, crypto.SHA256); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				tRaw += time.Since(t0)
			}
			runBatch := func() {
				t0 := time.Now()
				if _, err := s.SignBatch(context.Background(), hs, signer.Options{}); err != nil {
					b.Fatal(err)
				}
				tBatch += time.Since(t0)
			}
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					runRaw()
					runBatch()
				} else {
					runBatch()
					runRaw()
				}
				i++
			}
			n := float64(b.N) * float64(len(hs))
			b.ReportMetric(n/tRaw.Seconds(), "raw-sig/s")
			b.ReportMetric(n/tBatch.Seconds(), "batch-sig/s")
			b.ReportMetric(float64(tRaw)/float64(tBatch), "batch/raw")
		})
	}
}
