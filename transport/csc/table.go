package csc

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
)

// table holds short-lived server-side records (SADs, tokens, codes,
// pending challenges, signing-page sessions) keyed by the SHA-256 digest of
// their opaque handle, so the table never holds a usable handle. Every
// table has a capacity: a full table refuses new records (ErrRateLimited)
// after dropping the expired ones, so memory is bounded in total.
type table[V any] struct {
	mu   sync.Mutex
	max  int
	now  func() time.Time
	recs map[[32]byte]tableEntry[V]
}

type tableEntry[V any] struct {
	v       V
	expires time.Time
}

func newTable[V any](max int, now func() time.Time) *table[V] {
	return &table[V]{max: max, now: now, recs: map[[32]byte]tableEntry[V]{}}
}

func digestOf(handle string) [32]byte { return sha256.Sum256([]byte(handle)) }

// put stores v under handle until expires.
func (t *table[V]) put(handle string, v V, expires time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.recs) >= t.max {
		t.sweepLocked()
		if len(t.recs) >= t.max {
			return roamsign.E(roamsign.ErrRateLimited, "csc.table", "too many open authorisations; try again later")
		}
	}
	t.recs[digestOf(handle)] = tableEntry[V]{v: v, expires: expires}
	return nil
}

// get returns the live record of handle.
func (t *table[V]) get(handle string) (V, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.recs[digestOf(handle)]
	if !ok || !t.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// lookup returns handle's record whether live or expired (until the
// next sweep drops it), so an answer can say "expired".
func (t *table[V]) lookup(handle string) (v V, live, found bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.recs[digestOf(handle)]
	if !ok {
		return v, false, false
	}
	return e.v, t.now().Before(e.expires), true
}

// take removes and returns the live record of handle (single use).
func (t *table[V]) take(handle string) (V, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := digestOf(handle)
	e, ok := t.recs[d]
	delete(t.recs, d)
	if !ok || !t.now().Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// drop removes handle's record.
func (t *table[V]) drop(handle string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.recs, digestOf(handle))
}

// dropWhere removes every record for which fn is true.
func (t *table[V]) dropWhere(fn func(V) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.recs {
		if fn(e.v) {
			delete(t.recs, k)
		}
	}
}

func (t *table[V]) sweepLocked() {
	now := t.now()
	for k, e := range t.recs {
		if !now.Before(e.expires) {
			delete(t.recs, k)
		}
	}
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
