package memo

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestByContent: a value is got back only for bytes equal to those it was
// put with, also when every key collides; input over MaxSize is neither
// kept nor looked up; the entries are bounded by Max.
func TestByContent(t *testing.T) {
	orig := contentHash
	t.Cleanup(func() { contentHash = orig })
	for name, h := range map[string]func([]byte) uint64{"seeded": orig, "every key collides": func([]byte) uint64 { return 7 }} {
		contentHash = h
		c := ByContent[int]{Max: 2, MaxSize: 8}
		c.Put([]byte("crl one"), 1)
		v, ok := c.Get(bytes.Clone([]byte("crl one")))
		require.True(t, ok, name)
		require.Equal(t, 1, v)
		_, ok = c.Get([]byte("crl two"))
		require.False(t, ok, "%s: same length, other bytes", name)
		_, ok = c.Get([]byte("crl on"))
		require.False(t, ok, "%s: a prefix", name)

		long := []byte("a longer input")
		require.False(t, c.Keeps(long))
		n := c.Len()
		c.Put(long, 9)
		require.Equal(t, n, c.Len(), "%s: input over MaxSize is not kept", name)

		c.Put([]byte("b"), 2)
		c.Put([]byte("c"), 3)
		require.LessOrEqual(t, c.Len(), 2, name)
	}
}
