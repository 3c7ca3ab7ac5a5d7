package memory

import (
	"bytes"
	"context"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

type sessionKey struct{ kind, key string }

type session struct {
	value   []byte
	expires time.Time
}

// PutSession implements [store.Store].
func (s *Store) PutSession(ctx context.Context, kind string, key, value []byte, expires, now time.Time, max int) error {
	const op = "memory.PutSession"
	if err := store.CheckSession(op, kind, key, value); err != nil {
		return err
	}
	if err := s.lock(ctx, op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	k := sessionKey{kind, string(key)}
	if _, replacing := s.sessions[k]; !replacing && max > 0 {
		n := 0
		for sk, v := range s.sessions {
			if sk.kind != kind {
				continue
			}
			if store.SessionLive(op, v.expires, now) != nil {
				delete(s.sessions, sk)
				continue
			}
			n++
		}
		if n >= max {
			return store.SessionFull(op)
		}
	}
	s.sessions[k] = &session{value: bytes.Clone(value), expires: store.NormTime(expires)}
	return nil
}

// live returns the session live at now; the caller holds s.mu.
func (s *Store) live(op string, k sessionKey, now time.Time) (*session, error) {
	v, ok := s.sessions[k]
	if !ok {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "no such session")
	}
	return v, store.SessionLive(op, v.expires, now)
}

// GetSession implements [store.Store].
func (s *Store) GetSession(ctx context.Context, kind string, key []byte, now time.Time) ([]byte, error) {
	const op = "memory.GetSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return nil, err
	}
	if err := s.lock(ctx, op); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	v, err := s.live(op, sessionKey{kind, string(key)}, now)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(v.value), nil
}

// TakeSession implements [store.Store].
func (s *Store) TakeSession(ctx context.Context, kind string, key []byte, now time.Time) ([]byte, error) {
	const op = "memory.TakeSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return nil, err
	}
	if err := s.lock(ctx, op); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	k := sessionKey{kind, string(key)}
	v, err := s.live(op, k, now)
	if v != nil {
		delete(s.sessions, k)
	}
	if err != nil {
		return nil, err
	}
	return v.value, nil
}

// UpdateSession implements [store.Store].
func (s *Store) UpdateSession(ctx context.Context, kind string, key []byte, now time.Time, fn func([]byte) ([]byte, error)) error {
	const op = "memory.UpdateSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return err
	}
	if err := s.lock(ctx, op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	k := sessionKey{kind, string(key)}
	v, err := s.live(op, k, now)
	if err != nil {
		return err
	}
	next, err := fn(bytes.Clone(v.value))
	if err != nil {
		return err
	}
	if next == nil {
		delete(s.sessions, k)
		return nil
	}
	if err := store.CheckSession(op, kind, key, next); err != nil {
		return err
	}
	s.sessions[k] = &session{value: bytes.Clone(next), expires: v.expires}
	return nil
}

// DeleteSession implements [store.Store].
func (s *Store) DeleteSession(ctx context.Context, kind string, key []byte) error {
	const op = "memory.DeleteSession"
	if err := store.CheckSession(op, kind, key, nil); err != nil {
		return err
	}
	if err := s.lock(ctx, op); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.sessions, sessionKey{kind, string(key)})
	return nil
}

// PurgeSessions implements [store.Store].
func (s *Store) PurgeSessions(ctx context.Context, expiredBefore time.Time) (int, error) {
	const op = "memory.PurgeSessions"
	if err := s.lock(ctx, op); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.sessions {
		if v.expires.Before(store.NormTime(expiredBefore)) {
			delete(s.sessions, k)
			n++
		}
	}
	return n, nil
}
