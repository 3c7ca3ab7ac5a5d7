package storetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// locker is the lock every backend offers for work that replicas must do
// one at a time (package hsm provisions keys under it).
type locker interface {
	WithLock(ctx context.Context, name string, fn func(context.Context) error) error
}

// LockTurns makes n goroutines, spread over the given stores, run under
// WithLock with one name, and fails unless they ran one at a time. It then
// holds the lock through the first store and fails unless a wait for it
// through the last ends with its context, as roamsign.ErrUnavailable.
func LockTurns(t *testing.T, n int, stores ...store.Store) {
	ctx := ctxT(t)
	ls := make([]locker, len(stores))
	for i, s := range stores {
		l, ok := s.(locker)
		if !ok {
			t.Fatalf("store %T has no WithLock", s)
		}
		ls[i] = l
	}
	var inside, most, ran atomic.Int64
	errs := parallel(n, func(i int) error {
		return ls[i%len(ls)].WithLock(ctx, "storetest", func(context.Context) error {
			now := inside.Add(1)
			for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
			}
			time.Sleep(2 * time.Millisecond)
			ran.Add(1)
			inside.Add(-1)
			return nil
		})
	})
	for _, err := range errs {
		noErr(t, err, "WithLock")
	}
	if most.Load() != 1 || ran.Load() != int64(n) {
		t.Fatalf("%d of %d holders ran, up to %d at once; want all, one at a time", ran.Load(), n, most.Load())
	}

	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- ls[0].WithLock(ctx, "storetest", func(context.Context) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err := ls[len(ls)-1].WithLock(wctx, "storetest", func(context.Context) error {
		return errors.New("ran while another held the lock")
	})
	cancel()
	close(release)
	noErr(t, <-done, "WithLock holding")
	if !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("a wait for a held lock ended with %v, want ErrUnavailable", err)
	}
}

func testLock(t *testing.T, s store.Store) { LockTurns(t, 8, s) }
