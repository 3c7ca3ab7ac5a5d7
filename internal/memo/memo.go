// Package memo is the bounded map behind the project's memos of pure
// results: parsed certificates, verified signatures, validated paths. A
// memo changes no outcome, only how often a result is computed; its
// memory is bounded whatever the input, since a full map is emptied before
// it takes another entry.
package memo

import "sync"

// Map remembers values by key. It is safe for concurrent use; two callers
// that miss the same key may both compute its value and put it, which is
// harmless for a pure result. The zero value is an empty map ready to use.
type Map[K comparable, V any] struct {
	mu sync.RWMutex // readers, the common case, do not wait for each other
	m  map[K]V
}

// Get returns the value remembered for k.
func (c *Map[K, V]) Get(k K) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

// Put remembers v for k, after emptying the map when it holds max entries
// or more, so that it never holds more than max (at least one).
func (c *Map[K, V]) Put(k K, v V, max int) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= max {
		c.m = map[K]V{}
	}
	c.m[k] = v
	c.mu.Unlock()
}

// Len returns the number of entries.
func (c *Map[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
