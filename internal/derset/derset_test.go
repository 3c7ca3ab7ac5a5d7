package derset

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMap compares a Map with a map keyed by the items' strings, on
// random items with repeats: short ones, and more of one length than are
// compared one by one; with the process's hash and with one under which
// every item collides.
func TestMap(t *testing.T) {
	pool := [][]byte{nil, []byte("cert A"), []byte("cert B"), []byte("crl C"), []byte("cert A "), make([]byte, 4096)}
	for i := range 3 * MaxLinear {
		pool = append(pool, fmt.Appendf(nil, "item %02d", i))
	}
	t.Cleanup(func() { hash = seeded })
	for name, h := range map[string]func([]byte) uint64{"seeded": seeded, "every hash collides": func([]byte) uint64 { return 7 }} {
		hash = h
		r := rand.New(rand.NewPCG(1, 2))
		for c := range 300 {
			var m Map[int]
			want := map[string]int{}
			for i := range r.IntN(60) {
				x := append([]byte(nil), pool[r.IntN(len(pool))]...) // equal content, distinct memory
				_, had := want[string(x)]
				require.Equal(t, !had, m.Add(x, i), "%s, case %d", name, c)
				if !had {
					want[string(x)] = i
				}
			}
			require.Equal(t, len(want), m.Len())
			for _, x := range pool {
				v, ok := m.Find(append([]byte(nil), x...))
				w, wok := want[string(x)]
				require.Equal(t, wok, ok, "%s, case %d: %q", name, c, x)
				require.Equal(t, w, v)
			}
			got := map[string]int{}
			for x, v := range m.All() {
				got[string(x)] = v
			}
			require.Equal(t, want, got)
		}
	}
	var nilMap *Map[int]
	_, ok := nilMap.Find([]byte("x"))
	require.False(t, ok)
	require.Zero(t, nilMap.Len())
}
