package memo

import (
	"bytes"
	"errors"
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
		c.put([]byte("crl one"), 1)
		v, ok := c.get(bytes.Clone([]byte("crl one")))
		require.True(t, ok, name)
		require.Equal(t, 1, v)
		_, ok = c.get([]byte("crl two"))
		require.False(t, ok, "%s: same length, other bytes", name)
		_, ok = c.get([]byte("crl on"))
		require.False(t, ok, "%s: a prefix", name)

		long := []byte("a longer input")
		require.False(t, c.keeps(long))
		n := c.Len()
		c.put(long, 9)
		require.Equal(t, n, c.Len(), "%s: input over MaxSize is not kept", name)

		c.put([]byte("b"), 2)
		c.put([]byte("c"), 3)
		require.LessOrEqual(t, c.Len(), 2, name)
	}
}

// TestByContentRemember: compute runs once for equal bytes, on the memo's
// own copy, so that a caller changing its buffer afterwards changes
// neither the remembered key nor the value; failures are not remembered;
// input over MaxSize goes to compute as it is, every time, and is not
// kept.
func TestByContentRemember(t *testing.T) {
	c := ByContent[[]byte]{Max: 4, MaxSize: 8}
	calls := 0
	parse := func(own []byte) ([]byte, error) {
		calls++
		if bytes.HasPrefix(own, []byte("bad")) {
			return nil, errors.New("does not parse")
		}
		return own, nil // a value that refers to the bytes it came from
	}
	buf := []byte("crl one")
	v, err := c.Remember(buf, parse)
	require.NoError(t, err)
	require.Equal(t, "crl one", string(v))
	require.NotSame(t, &buf[0], &v[0], "compute gets the memo's copy, not the caller's buffer")
	copy(buf, "changed")
	v, err = c.Remember([]byte("crl one"), parse)
	require.NoError(t, err)
	require.Equal(t, "crl one", string(v), "the caller's change reaches neither key nor value")
	require.Equal(t, 1, calls, "equal bytes are computed once")

	for range 2 {
		_, err = c.Remember([]byte("bad crl"), parse)
		require.Error(t, err)
	}
	require.Equal(t, 3, calls, "a failure is not remembered")

	long := []byte("a longer input")
	for range 2 {
		v, err = c.Remember(long, parse)
		require.NoError(t, err)
		require.Same(t, &long[0], &v[0], "input over MaxSize is given as it is")
	}
	require.Equal(t, 5, calls, "input over MaxSize is computed every time")
	require.Equal(t, 1, c.Len())
}
