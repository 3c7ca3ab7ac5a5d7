package pdf

import (
	"bytes"
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

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
// for the same bytes: with every hash colliding, bytes of the same length
// that are not a CRL are still refused, and a CRL over maxMemoCRLSize is
// parsed without being kept.
func TestCRLParsesRemembersContent(t *testing.T) {
	orig := crlHash
	t.Cleanup(func() { crlHash = orig })
	crlHash = func([]byte) uint64 { return 7 }
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
	require.Error(t, crlParses(notCRL), "same length, same hash, not a CRL")
	require.Error(t, crlParses(ca.Cert.Raw), "a certificate is not a CRL")

	var entries []testpki.Revocation
	for i := range maxMemoCRLSize / 20 {
		entries = append(entries, testpki.Revocation{Serial: big.NewInt(int64(i + 1)), Time: time.Now().Add(-time.Hour)})
	}
	large, err := ca.CRL(testpki.CRLOptions{Entries: entries})
	require.NoError(t, err)
	require.Greater(t, len(large), maxMemoCRLSize)
	require.NoError(t, crlParses(large))
	kept, _ := parsedCRLs.Get(crlHash(large))
	require.NotEqual(t, len(large), len(kept), "not kept")
}
