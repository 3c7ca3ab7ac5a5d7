package memo

import (
	"bytes"
	"hash/maphash"
)

// ByContent remembers values computed from byte strings (a CRL's parse)
// by the bytes themselves: a value is returned only for input equal to the
// bytes it was computed from, compared in full. It holds at most Max
// entries, of at most MaxSize bytes each; longer input is neither looked
// up nor kept, so its memory is bounded whatever the input. Set Max and
// MaxSize before the first use; a ByContent is then safe for concurrent
// use.
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

// Remember returns the value remembered for bytes equal to b, else
// compute's value, remembered when compute succeeds and b is at most
// MaxSize bytes. Then compute gets the memo's own copy of b, so that
// neither the memo nor a value that refers to the bytes it came from (a
// parse) refers to the caller's buffer, which may change; longer input is
// given to compute as it is. Errors are not remembered.
func (c *ByContent[V]) Remember(b []byte, compute func(own []byte) (V, error)) (V, error) {
	if !c.keeps(b) {
		return compute(b)
	}
	if v, ok := c.get(b); ok {
		return v, nil
	}
	own := bytes.Clone(b)
	v, err := compute(own)
	if err == nil {
		c.put(own, v)
	}
	return v, err
}

// Len returns the number of entries.
func (c *ByContent[V]) Len() int { return c.m.Len() }

// keeps reports whether b is short enough to be remembered.
func (c *ByContent[V]) keeps(b []byte) bool { return len(b) <= c.MaxSize }

// get returns the value put with bytes equal to b.
func (c *ByContent[V]) get(b []byte) (v V, ok bool) {
	if !c.keeps(b) {
		return v, false
	}
	e, ok := c.m.Get(contentHash(b))
	if !ok || !bytes.Equal(e.b, b) {
		return v, false
	}
	return e.v, true
}

// put remembers v for b when b is short enough. It keeps b itself.
func (c *ByContent[V]) put(b []byte, v V) {
	if c.keeps(b) {
		c.m.Put(contentHash(b), contentEntry[V]{b, v}, c.Max)
	}
}
