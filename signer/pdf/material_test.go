package pdf

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestUnion compares union with the plain definition (a, then each item
// of b not seen before, in order) on random lists with repeats, with the
// process's hash and with one under which every item collides.
func TestUnion(t *testing.T) {
	pool := [][]byte{[]byte("cert A"), []byte("cert B"), []byte("crl C"), {}, []byte("cert A "), make([]byte, 4096)}
	pick := func(r *rand.Rand) [][]byte {
		l := make([][]byte, r.IntN(6))
		for i := range l {
			l[i] = append([]byte(nil), pool[r.IntN(len(pool))]...) // equal content, distinct memory
		}
		return l
	}
	want := func(a, b [][]byte) [][]byte {
		out := append([][]byte(nil), a...)
		for _, x := range b {
			found := false
			for _, y := range out {
				found = found || string(x) == string(y)
			}
			if !found {
				out = append(out, x)
			}
		}
		return out
	}
	orig := itemHash
	t.Cleanup(func() { itemHash = orig })
	for name, h := range map[string]func([]byte) uint64{"seeded": orig, "every key collides": func([]byte) uint64 { return 7 }} {
		itemHash = h
		r := rand.New(rand.NewPCG(1, 2))
		for i := range 500 {
			a, b := pick(r), pick(r)
			got := union(ValidationData{Certificates: a, CRLs: b}, ValidationData{Certificates: b, CRLs: a})
			assert.Equal(t, fmt.Sprint(want(a, b)), fmt.Sprint(got.Certificates), "%s, case %d", name, i)
			assert.Equal(t, fmt.Sprint(want(b, a)), fmt.Sprint(got.CRLs), "%s, case %d", name, i)
		}
	}
}
