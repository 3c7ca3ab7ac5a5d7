package signer_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/proctime"
	"github.com/roamsign/roamsign/signer"
)

// meter accumulates the wall-clock and CPU time of the calls it runs.
type meter struct{ wall, cpu time.Duration }

func (m *meter) run(f func()) {
	w, c := time.Now(), proctime.CPU()
	f()
	m.wall += time.Since(w)
	m.cpu += proctime.CPU() - c
}

// report writes the rate of each meter in signatures per second (wall
// clock) and the ratios of the later ones to the first (wall and CPU).
func report(b *testing.B, sigs float64, names []string, ms []*meter) {
	for i, m := range ms {
		b.ReportMetric(sigs/m.wall.Seconds(), names[i]+"-sig/s")
		if i > 0 {
			b.ReportMetric(float64(ms[0].wall)/float64(m.wall), names[i]+"/"+names[0]+"-wall")
			if m.cpu > 0 {
				b.ReportMetric(float64(ms[0].cpu)/float64(m.cpu), names[i]+"/"+names[0]+"-cpu")
			}
		}
	}
}

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
			var raw, batch meter
			runRaw := func() {
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
			}
			runBatch := func() {
				if _, err := s.SignBatch(context.Background(), hs, signer.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					raw.run(runRaw)
					batch.run(runBatch)
				} else {
					batch.run(runBatch)
					raw.run(runRaw)
				}
				i++
			}
			report(b, float64(b.N)*float64(len(hs)), []string{"raw", "batch"}, []*meter{&raw, &batch})
		})
	}
}
