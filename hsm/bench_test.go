package hsm_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/proctime"
)

// runSplit runs n operations over g goroutines, each with its own state
// from setup, and stops the benchmark on the first error.
func runSplit(b *testing.B, g int, op func(worker int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	n := int64(b.N)
	b.ResetTimer()
	for w := 0; w < g; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= n {
				if err := op(w); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if first != nil {
		b.Fatal(first)
	}
}

// runPaired runs b.N raw and b.N key-store operations in alternating
// batches (order swapped every round), so both see the same machine load.
// It reports wall and process-CPU ns/op of each, and keystore/raw: the key
// store's rate relative to the raw loop, by wall time and by CPU time (the
// CPU figure is the steadier one on a shared machine).
func runPaired(b *testing.B, g int, raw, store func(int) error) {
	const batch = 64
	var tRaw, tStore, cRaw, cStore time.Duration
	b.ResetTimer()
	for done, round := 0, 0; done < b.N; round++ {
		n := min(batch, b.N-done)
		phases := []struct {
			op   func(int) error
			t, c *time.Duration
		}{{raw, &tRaw, &cRaw}, {store, &tStore, &cStore}}
		if round%2 == 1 {
			phases[0], phases[1] = phases[1], phases[0]
		}
		for _, ph := range phases {
			start, cpu := time.Now(), proctime.CPU()
			if err := splitN(n, g, ph.op); err != nil {
				b.Fatal(err)
			}
			*ph.t += time.Since(start)
			*ph.c += proctime.CPU() - cpu
		}
		done += n
	}
	b.StopTimer()
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(per(tRaw), "raw-ns/op")
	b.ReportMetric(per(tStore), "keystore-ns/op")
	b.ReportMetric(per(tRaw)/per(tStore), "keystore/raw")
	if cRaw > 0 && cStore > 0 {
		b.ReportMetric(per(cRaw), "raw-cpu-ns/op")
		b.ReportMetric(per(cStore), "keystore-cpu-ns/op")
		b.ReportMetric(per(cRaw)/per(cStore), "keystore/raw-cpu")
	}
}

// splitN runs n operations over g goroutines.
func splitN(n, g int, op func(int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, g)
	for w := 0; w < g; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := op(w); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// BenchmarkSoftwareSign compares the software key store with calling
// crypto/rsa and crypto/ecdsa directly on a key of the same size.
//
//	go test -run '^$' -bench SoftwareSign -benchtime 2000x ./hsm
func BenchmarkSoftwareSign(b *testing.B) {
	ctx := context.Background()
	ks := openSoftware(b, b.TempDir(), "benchmark passphrase")
	defer ks.Close()
	digest := digestOf(crypto.SHA256, "benchmark")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range []struct {
		name string
		alg  roamsign.KeyAlgorithm
		raw  func(int) error
	}{
		{"RSA2048", roamsign.RSA2048, func(int) error { _, err := rsa.SignPKCS1v15(nil, rsaKey, crypto.SHA256, digest); return err }},
		{"P256", roamsign.ECP256, func(int) error { _, err := ecdsa.SignASN1(rand.Reader, ecKey, digest); return err }},
	} {
		k, err := ks.Generate(ctx, hsm.GenerateRequest{ID: a.name, Algorithm: a.alg})
		if err != nil {
			b.Fatal(err)
		}
		store := func(int) error { _, err := k.SignContext(ctx, digest, crypto.SHA256); return err }
		b.Run(a.name+"/raw", func(b *testing.B) { runSplit(b, 1, a.raw) })
		b.Run(a.name+"/keystore", func(b *testing.B) { runSplit(b, 1, store) })
		b.Run(a.name+"/paired", func(b *testing.B) { runPaired(b, 1, a.raw, store) })
	}
}
