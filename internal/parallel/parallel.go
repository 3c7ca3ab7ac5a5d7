// Package parallel runs indexed work on a bounded number of goroutines.
package parallel

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/roamsign/roamsign"
)

// Each runs fn(0), …, fn(n-1) on at most workers goroutines (at least one)
// and returns the first error. After an error, or once ctx has ended, it
// hands out no more indexes; calls already running finish. An ended ctx is
// reported as [roamsign.ErrUnavailable] wrapping ctx.Err().
func Each(ctx context.Context, workers, n int, fn func(i int) error) error {
	var (
		next  atomic.Int64
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	fail := func(err error) {
		once.Do(func() { first = err })
		next.Store(int64(n)) // nothing more is handed out
	}
	for range max(1, min(workers, n)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(roamsign.Wrap(roamsign.ErrUnavailable, "parallel.Each", err, "cancelled"))
					return
				}
				if err := fn(i); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
