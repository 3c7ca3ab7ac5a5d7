package memo_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/memo"
)

// TestMap: a value put is got back until the map fills, a full map is
// emptied before it takes another entry so it never holds more than its
// bound, and concurrent use is safe (run with -race).
func TestMap(t *testing.T) {
	var m memo.Map[int, string]
	_, ok := m.Get(1)
	require.False(t, ok, "the zero value is empty")
	m.Put(1, "one", 3)
	v, ok := m.Get(1)
	require.True(t, ok)
	require.Equal(t, "one", v)
	m.Put(2, "two", 3)
	m.Put(3, "three", 3)
	require.Equal(t, 3, m.Len())
	m.Put(4, "four", 3)
	require.Equal(t, 1, m.Len(), "a full map is emptied before the next entry")
	_, ok = m.Get(1)
	require.False(t, ok)
	v, _ = m.Get(4)
	require.Equal(t, "four", v)
	m.Put(4, "FOUR", 1)
	v, _ = m.Get(4)
	require.Equal(t, "FOUR", v)

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				m.Put(w*1000+i, "x", 64)
				m.Get(i)
				assert.LessOrEqual(t, m.Len(), 64)
			}
		})
	}
	wg.Wait()
}
