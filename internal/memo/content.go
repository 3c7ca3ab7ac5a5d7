package memo

import (
	"bytes"
	"hash/maphash"
)

// ByContent remembers values computed from byte strings (a CRL's parse)
// by the bytes themselves: a value is returned only for input equal to the
// bytes it was put with, compared in full. It holds at most Max entries,
// of at most MaxSize bytes each; longer input is neither looked up nor
// kept, so its memory is bounded whatever the input. Set Max and MaxSize
// before the first use; a ByContent is then safe for concurrent use.
type ByContent[V any] struct {
	Max, MaxSize int
	m            Map[uint64, contentEntry[V]]
}

type contentEntry[V any] struct {
	b []byte
	v V
}

// contentHash keys a ByContent: seeded by the process, so that input
// cannot choose byte strings whose keys collide (tests replace it to make
// every key collide).
var contentHash = func(seed maphash.Seed) func([]byte) uint64 {
	return func(b []byte) uint64 { return maphash.Bytes(seed, b) }
}(maphash.MakeSeed())

// Len returns the number of entries.
func (c *ByContent[V]) Len() int { return c.m.Len() }

// Keeps reports whether b is short enough to be remembered.
func (c *ByContent[V]) Keeps(b []byte) bool { return len(b) <= c.MaxSize }

// Get returns the value put with bytes equal to b.
func (c *ByContent[V]) Get(b []byte) (v V, ok bool) {
	if !c.Keeps(b) {
		return v, false
	}
	e, ok := c.m.Get(contentHash(b))
	if !ok || !bytes.Equal(e.b, b) {
		return v, false
	}
	return e.v, true
}

// Put remembers v for b when b is short enough. It keeps b itself: the
// caller must not change it afterwards.
func (c *ByContent[V]) Put(b []byte, v V) {
	if c.Keeps(b) {
		c.m.Put(contentHash(b), contentEntry[V]{b, v}, c.Max)
	}
}
