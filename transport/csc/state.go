package csc

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
)

// StateStore keeps the handler's short-lived records (SADs, access
// tokens, authorization codes, pending challenges, signing-page sessions
// and pushed requests) under the SHA-256 digest of their opaque handle,
// so it never holds a usable handle. store.SessionStore satisfies it
// (every backend of package store): handlers of several replicas that
// share one store (one SQLite file, one PostgreSQL database) serve one
// another's transactions, and the release of each hash of a SAD is one
// atomic update across them. The contract of each method is
// store.SessionStore's.
type StateStore interface {
	PutSession(ctx context.Context, kind string, key, value []byte, expires, now time.Time, max int) error
	GetSession(ctx context.Context, kind string, key []byte, now time.Time) ([]byte, error)
	TakeSession(ctx context.Context, kind string, key []byte, now time.Time) ([]byte, error)
	UpdateSession(ctx context.Context, kind string, key []byte, now time.Time, fn func(value []byte) ([]byte, error)) error
	DeleteSession(ctx context.Context, kind string, key []byte) error
}

// table is one kind of record in the state store, encoded by enc and dec.
// Every kind has a capacity (Options.MaxRecords): a full kind refuses new
// records (ErrRateLimited) after dropping the expired ones, so the state
// is bounded in total.
type table[V any] struct {
	st   StateStore
	kind string
	max  int
	now  func() time.Time
	log  *slog.Logger
	enc  func(V) ([]byte, error)
	dec  func([]byte) (V, error)
}

func digestOf(handle string) []byte {
	d := sha256.Sum256([]byte(handle))
	return d[:]
}

// put stores v under handle until expires.
func (t *table[V]) put(ctx context.Context, handle string, v V, expires time.Time) error {
	b, err := t.enc(v)
	if err != nil {
		return roamsign.Wrap(roamsign.ErrInternal, "csc.table", err, "encoding a "+t.kind+" record")
	}
	return t.st.PutSession(ctx, t.kind, digestOf(handle), b, expires, t.now(), t.max)
}

// lookup returns handle's live record; expired reports a record past its
// life. A store failure is logged and reads as no record (fail closed).
func (t *table[V]) lookup(ctx context.Context, handle string) (v V, ok, expired bool) {
	if handle == "" {
		return v, false, false
	}
	b, err := t.st.GetSession(ctx, t.kind, digestOf(handle), t.now())
	if err != nil {
		t.failed(ctx, err)
		return v, false, errors.Is(err, roamsign.ErrExpired)
	}
	if v, err = t.dec(b); err != nil {
		t.failed(ctx, err)
		return v, false, false
	}
	return v, true, false
}

// get returns the live record of handle.
func (t *table[V]) get(ctx context.Context, handle string) (V, bool) {
	v, ok, _ := t.lookup(ctx, handle)
	return v, ok
}

// take removes and returns the live record of handle (single use).
func (t *table[V]) take(ctx context.Context, handle string) (v V, ok bool) {
	b, err := t.st.TakeSession(ctx, t.kind, digestOf(handle), t.now())
	if err == nil {
		v, err = t.dec(b)
	}
	if err != nil {
		t.failed(ctx, err)
		return v, false
	}
	return v, true
}

// update applies fn to handle's live record atomically (across
// replicas); fn reports whether the record is to be deleted.
func (t *table[V]) update(ctx context.Context, handle string, fn func(V) (del bool, err error)) error {
	return t.st.UpdateSession(ctx, t.kind, digestOf(handle), t.now(), func(b []byte) ([]byte, error) {
		v, err := t.dec(b)
		if err != nil {
			return nil, err
		}
		del, err := fn(v)
		if err != nil || del {
			return nil, err
		}
		return t.enc(v)
	})
}

// drop removes handle's record.
func (t *table[V]) drop(ctx context.Context, handle string) { t.dropKey(ctx, digestOf(handle)) }

// dropKey removes the record under a handle's digest.
func (t *table[V]) dropKey(ctx context.Context, key []byte) {
	if len(key) == 0 {
		return
	}
	if err := t.st.DeleteSession(ctx, t.kind, key); err != nil {
		t.failed(ctx, err)
	}
}

func (t *table[V]) failed(ctx context.Context, err error) {
	if !errors.Is(err, roamsign.ErrNotFound) && !errors.Is(err, roamsign.ErrExpired) {
		t.log.WarnContext(ctx, "csc state", "kind", t.kind, "kind_of_error", roamsign.KindOf(err).Code())
	}
}

// memState is the default StateStore: the handler's own memory, for one
// replica.
type memState struct {
	mu   sync.Mutex
	recs map[string]memRec // kind + "\x00" + key
}

type memRec struct {
	kind    string
	value   []byte
	expires time.Time
}

func newMemState() *memState { return &memState{recs: map[string]memRec{}} }

func memKey(kind string, key []byte) string { return kind + "\x00" + string(key) }

func errNoRecord() error { return roamsign.E(roamsign.ErrNotFound, "csc.state", "no such record") }

func (m *memState) PutSession(_ context.Context, kind string, key, value []byte, expires, now time.Time, max int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey(kind, key)
	if _, there := m.recs[k]; !there && max > 0 {
		n := 0
		for rk, r := range m.recs {
			switch {
			case r.kind != kind:
			case !now.Before(r.expires):
				delete(m.recs, rk)
			default:
				n++
			}
		}
		if n >= max {
			return roamsign.E(roamsign.ErrRateLimited, "csc.state", "too many open authorisations; try again later")
		}
	}
	m.recs[k] = memRec{kind: kind, value: bytes.Clone(value), expires: expires}
	return nil
}

func (m *memState) liveLocked(k string, now time.Time) (memRec, error) {
	r, ok := m.recs[k]
	switch {
	case !ok:
		return r, errNoRecord()
	case !now.Before(r.expires):
		return r, roamsign.E(roamsign.ErrExpired, "csc.state", "record expired")
	}
	return r, nil
}

func (m *memState) GetSession(_ context.Context, kind string, key []byte, now time.Time) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.liveLocked(memKey(kind, key), now)
	return bytes.Clone(r.value), err
}

func (m *memState) TakeSession(_ context.Context, kind string, key []byte, now time.Time) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey(kind, key)
	r, err := m.liveLocked(k, now)
	delete(m.recs, k)
	return r.value, err
}

func (m *memState) UpdateSession(_ context.Context, kind string, key []byte, now time.Time, fn func([]byte) ([]byte, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey(kind, key)
	r, err := m.liveLocked(k, now)
	if err != nil {
		return err
	}
	next, err := fn(bytes.Clone(r.value))
	if err != nil {
		return err
	}
	if next == nil {
		delete(m.recs, k)
		return nil
	}
	r.value = next
	m.recs[k] = r
	return nil
}

func (m *memState) DeleteSession(_ context.Context, kind string, key []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.recs, memKey(kind, key))
	return nil
}

// newHandle returns 256 random bits as unpadded base64url text, the form
// of every SAD, token, code and session id this package hands out.
func newHandle() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", roamsign.Wrap(roamsign.ErrUnavailable, "csc.newHandle", err, "random source failed")
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func subtleEq(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
