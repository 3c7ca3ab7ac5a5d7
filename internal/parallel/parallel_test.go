package parallel_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/parallel"
)

func TestEachRunsEveryIndexOnce(t *testing.T) {
	for _, c := range []struct{ workers, n int }{{4, 100}, {1, 10}, {0, 5}, {-3, 5}, {8, 3}, {4, 0}} {
		counts := make([]atomic.Int32, c.n)
		var running, peak atomic.Int32
		err := parallel.Each(context.Background(), c.workers, c.n, func(i int) error {
			r := running.Add(1)
			for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
			}
			counts[i].Add(1)
			running.Add(-1)
			return nil
		})
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		for i := range counts {
			if got := counts[i].Load(); got != 1 {
				t.Fatalf("%+v: index %d ran %d times", c, i, got)
			}
		}
		if limit := max(1, c.workers); peak.Load() > int32(limit) {
			t.Fatalf("%+v: %d calls at once, limit %d", c, peak.Load(), limit)
		}
	}
}

func TestEachStopsAtFirstError(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int32
	err := parallel.Each(context.Background(), 1, 100, func(i int) error {
		calls.Add(1)
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls.Load() != 4 {
		t.Fatalf("err %v after %d calls, want boom after 4", err, calls.Load())
	}
}

func TestEachCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	err := parallel.Each(ctx, 1, 100, func(i int) error {
		if calls.Add(1) == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, roamsign.ErrUnavailable) || !errors.Is(err, context.Canceled) || calls.Load() != 5 {
		t.Fatalf("err %v after %d calls, want cancelled after 5", err, calls.Load())
	}
	// Already ended: nothing runs, on any number of workers.
	calls.Store(0)
	err = parallel.Each(ctx, 4, 100, func(int) error { calls.Add(1); return nil })
	if !errors.Is(err, context.Canceled) || calls.Load() != 0 {
		t.Fatalf("err %v after %d calls, want cancelled after 0", err, calls.Load())
	}
}
