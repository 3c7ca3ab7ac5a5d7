// Package derset indexes DER items (certificates, CRLs, OCSP responses) by
// content, so that equal items are always found and distinct ones never
// taken for each other, without a cryptographic hash of every item: a
// national CA's CRL of megabytes, met in every document of a batch, would
// otherwise be hashed with SHA-256 each time it is looked up.
package derset

import (
	"bytes"
	"hash/maphash"
	"iter"
)

// seeded is a hash seeded by the process, so that input cannot choose
// items whose hashes collide; a hit on it is taken only when the bytes
// are equal.
var seeded = func(seed maphash.Seed) func([]byte) uint64 {
	return func(b []byte) uint64 { return maphash.Bytes(seed, b) }
}(maphash.MakeSeed())

// hash is what a Map indexes by; tests replace it to make every hash
// collide.
var hash = seeded

// MaxLinear is the most items of one length a Map compares a lookup with
// one by one; past it they are indexed by a hash too, so that no input
// makes a lookup compare with many items.
const MaxLinear = 8

// Map maps items to values. Items are grouped by length and compared in
// full; an item met again is usually the same slice, which compares at
// once. Items are kept, not copied: they must not change while the Map
// is used. The zero value is empty; a Map is not safe for concurrent use.
type Map[V any] struct {
	byLen map[int]*bucket[V]
	n     int
}

type bucket[V any] struct {
	items  []entry[V]
	hashed map[uint64][]int // hash → indexes in items; nil up to MaxLinear items
}

type entry[V any] struct {
	der []byte
	v   V
}

// Find returns the value recorded for x.
func (m *Map[V]) Find(x []byte) (v V, ok bool) {
	if m == nil {
		return v, false
	}
	b := m.byLen[len(x)]
	if b == nil {
		return v, false
	}
	if b.hashed == nil {
		for _, e := range b.items {
			if bytes.Equal(e.der, x) {
				return e.v, true
			}
		}
		return v, false
	}
	for _, i := range b.hashed[hash(x)] {
		if e := b.items[i]; bytes.Equal(e.der, x) {
			return e.v, true
		}
	}
	return v, false
}

// Add records x with v, unless x is there already; it reports whether it
// added x.
func (m *Map[V]) Add(x []byte, v V) bool {
	if _, ok := m.Find(x); ok {
		return false
	}
	if m.byLen == nil {
		m.byLen = map[int]*bucket[V]{}
	}
	b := m.byLen[len(x)]
	if b == nil {
		b = &bucket[V]{}
		m.byLen[len(x)] = b
	}
	b.items = append(b.items, entry[V]{x, v})
	m.n++
	switch {
	case b.hashed != nil:
		h := hash(x)
		b.hashed[h] = append(b.hashed[h], len(b.items)-1)
	case len(b.items) > MaxLinear:
		b.hashed = map[uint64][]int{}
		for i, e := range b.items {
			h := hash(e.der)
			b.hashed[h] = append(b.hashed[h], i)
		}
	}
	return true
}

// Len returns the number of items.
func (m *Map[V]) Len() int {
	if m == nil {
		return 0
	}
	return m.n
}

// All yields every item and its value, in no particular order.
func (m *Map[V]) All() iter.Seq2[[]byte, V] {
	return func(yield func([]byte, V) bool) {
		if m == nil {
			return
		}
		for _, b := range m.byLen {
			for _, e := range b.items {
				if !yield(e.der, e.v) {
					return
				}
			}
		}
	}
}
