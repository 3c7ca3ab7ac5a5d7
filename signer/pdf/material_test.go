package pdf

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/derset"
	"github.com/roamsign/roamsign/internal/testpki"
)

// TestUnion compares union with the plain definition (a, then each item
// of b not seen before, in order) on random lists with repeats, short and
// long (more items of one length than are compared one by one; lookups
// with colliding hashes are internal/derset's to test).
func TestUnion(t *testing.T) {
	pool := [][]byte{[]byte("cert A"), []byte("cert B"), []byte("crl C"), {}, []byte("cert A "), make([]byte, 4096)}
	for i := range 2 * derset.MaxLinear {
		pool = append(pool, fmt.Appendf(nil, "item %02d", i)) // all of one length
	}
	pick := func(r *rand.Rand) [][]byte {
		l := make([][]byte, r.IntN(6+r.IntN(2)*30))
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
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		a, b := pick(r), pick(r)
		got := union(ValidationData{Certificates: a, CRLs: b}, ValidationData{Certificates: b, CRLs: a})
		assert.Equal(t, fmt.Sprint(want(a, b)), fmt.Sprint(got.Certificates), "case %d", i)
		assert.Equal(t, fmt.Sprint(want(b, a)), fmt.Sprint(got.CRLs), "case %d", i)
	}
}

// TestCRLParsesRemembersContent: the memo of CRLs that parsed answers only
// for the same bytes: bytes of the same length that are not a CRL are
// still refused (keys that collide are internal/memo's to test), and a CRL
// over 4 MiB is parsed without being kept.
func TestCRLParsesRemembersContent(t *testing.T) {
	ca, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	crl, err := ca.CRL(testpki.CRLOptions{})
	require.NoError(t, err)
	require.NoError(t, crlParses(crl))
	require.NoError(t, crlParses(crl), "remembered")
	other := bytes.Clone(crl)
	other[len(other)-1] ^= 0xff // the signature's last byte: still a CRL
	require.NoError(t, crlParses(other))
	notCRL := bytes.Clone(crl)
	notCRL[0] = 0x31 // a SET, not a SEQUENCE
	require.Error(t, crlParses(notCRL), "same length, not a CRL")
	require.Error(t, crlParses(ca.Cert.Raw), "a certificate is not a CRL")

	large, err := ca.CRL(testpki.CRLOptions{Entries: testpki.Revoked(1, 4<<20/20)})
	require.NoError(t, err)
	require.Greater(t, len(large), 4<<20, "over the documented 4 MiB")
	n := parsedCRLs.Len()
	require.NoError(t, crlParses(large))
	require.Equal(t, n, parsedCRLs.Len(), "not kept")
}
