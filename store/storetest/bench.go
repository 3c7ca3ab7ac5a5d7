package storetest

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// BenchAuditN is the size of the log a VerifyAudit benchmark builds:
// $ROAMSIGN_BENCH_AUDIT_N, 1,000,000 by default.
func BenchAuditN(b *testing.B) int {
	v := os.Getenv("ROAMSIGN_BENCH_AUDIT_N")
	if v == "" {
		return 1_000_000
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("bad ROAMSIGN_BENCH_AUDIT_N %q", v)
	}
	return n
}

// BenchChallenges measures challenge create + consume round trips with the
// given number of goroutines and reports them as roundtrips/s.
func BenchChallenges(b *testing.B, s store.Store, goroutines int) {
	ctx := context.Background()
	// Build the challenges outside the timer.
	cs := make([]*roamsign.ChallengeRecord, b.N)
	for i := range cs {
		cs[i] = NewChallenge("u1", "hr")
	}
	now := Base.Add(time.Second)
	b.ResetTimer()
	RunSplit(b, goroutines, func(i int) error {
		if err := s.CreateChallenge(ctx, cs[i]); err != nil {
			return err
		}
		return s.ConsumeChallenge(ctx, cs[i].ID, now)
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "roundtrips/s")
}

// RunSplit runs fn(0..b.N-1) over the given number of goroutines and fails
// the benchmark on the first error.
func RunSplit(b *testing.B, goroutines int, fn func(i int) error) {
	var (
		wg   sync.WaitGroup
		next = make(chan int, goroutines)
		once sync.Once
		fail error
	)
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { fail = err })
				}
			}
		}()
	}
	for i := range b.N {
		next <- i
	}
	close(next)
	wg.Wait()
	if fail != nil {
		b.Fatal(fail)
	}
}

// BenchAuditAppend measures hash-chained audit appends (appends/s) with the
// given number of goroutines.
func BenchAuditAppend(b *testing.B, s store.Store, goroutines int) {
	ctx := context.Background()
	b.ResetTimer()
	RunSplit(b, goroutines, func(i int) error {
		return s.AppendAudit(ctx, NewAudit(roamsign.AuditSigned, "u1", "tx"))
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}

// ChainRecords calls emit with n chained audit records, built in memory
// (for bulk loading a benchmark log). The record passed to emit is reused.
func ChainRecords(n int, emit func(*roamsign.AuditRecord) error) error {
	var (
		prevSeq  int64
		prevHash []byte
	)
	for i := range n {
		a := NewAudit(roamsign.AuditSigned, "850101-14-5555", "tx-bench")
		a.Time = Base.Add(time.Duration(i) * time.Millisecond)
		store.ChainAudit(a, prevSeq, prevHash, Base)
		prevSeq, prevHash = a.Seq, a.Hash
		if err := emit(a); err != nil {
			return err
		}
	}
	return nil
}

// peakHeap wraps a scanner and samples the live heap every 20,000 records.
type peakHeap struct {
	store.AuditScanner
	peak uint64
}

func (p *peakHeap) ScanAudit(ctx context.Context, from int64, fn func(*roamsign.AuditRecord) error) error {
	n := 0
	return p.AuditScanner.ScanAudit(ctx, from, func(a *roamsign.AuditRecord) error {
		if n++; n%20000 == 0 {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			p.peak = max(p.peak, m.HeapAlloc)
		}
		return fn(a)
	})
}

// BenchVerify runs VerifyAudit over s (already holding want records) and
// reports records/s and the peak live heap seen during the scan, which
// stays flat however long the log is.
func BenchVerify(b *testing.B, s store.Store, want int64) {
	ctx := context.Background()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	b.ReportAllocs()
	b.ResetTimer()
	var peak uint64
	for range b.N {
		ph := &peakHeap{AuditScanner: s}
		res, err := store.VerifyAudit(ctx, ph, store.VerifyOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Records != want {
			b.Fatalf("verified %d records, want %d", res.Records, want)
		}
		peak = max(peak, ph.peak)
	}
	b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(base.HeapAlloc)/(1<<20), "heap-before-MiB")
}

// BenchAuditHash is the raw baseline of verification: hashing records in
// memory with no database.
func BenchAuditHash(b *testing.B) {
	a := NewAudit(roamsign.AuditSigned, "850101-14-5555", "tx-bench")
	store.ChainAudit(a, 41, make([]byte, 32), Base)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = store.AuditHash(a)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchScan is the raw baseline of [BenchVerify]: the same streaming read
// of the log without hashing or checks.
func BenchScan(b *testing.B, s store.Store, want int64) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var n int64
		if err := s.ScanAudit(ctx, 1, func(*roamsign.AuditRecord) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != want {
			b.Fatalf("scanned %d records, want %d", n, want)
		}
	}
	b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
