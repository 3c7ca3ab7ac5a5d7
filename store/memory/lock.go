package memory

import (
	"context"

	"github.com/roamsign/roamsign"
)

// WithLock runs fn while holding the store's lock, so that callers sharing
// the store take turns (package hsm provisions keys under it). A memory
// store lives in one process, so the lock is the store's own, one for all
// names. The wait ends with ctx.
func (s *Store) WithLock(ctx context.Context, name string, fn func(context.Context) error) error {
	const op = "memory.WithLock"
	if err := s.lock(ctx, op); err != nil {
		return err
	}
	if s.held == nil {
		s.held = make(chan struct{}, 1)
	}
	held := s.held
	s.mu.Unlock()
	select {
	case held <- struct{}{}:
	case <-ctx.Done():
		return roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "waiting for the lock "+name)
	}
	defer func() { <-held }()
	return fn(ctx)
}
