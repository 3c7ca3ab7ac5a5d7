package bench_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/verify"
)

// fakeClock is an injected clock that can be skewed.
type fakeClock struct{ off atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *fakeClock) Skew(d time.Duration)    { c.off.Store(int64(d)) }
func (c *fakeClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// crlMode is what the CRL server does.
type crlMode int32

const (
	crlGood crlMode = iota
	crlSlow
	crlDown
	crlOversized
	crlGarbage
)

var crlModeNames = map[crlMode]string{crlGood: "good", crlSlow: "slow", crlDown: "down", crlOversized: "oversized", crlGarbage: "garbage"}

// crlFixture is a CA whose CRL server can misbehave, a leaf with a CRL
// distribution point on it, and a signature by the leaf.
type crlFixture struct {
	ca     *testpki.CA
	srv    *testpki.CRLServer
	mode   atomic.Int32
	clock  *fakeClock
	good   atomic.Pointer[[]byte]
	req    verify.DigestRequest
	maxCRL int64
}

func newCRLFixture(t *testing.T) *crlFixture {
	t.Helper()
	f := &crlFixture{srv: testpki.NewCRLServer(), clock: &fakeClock{}, maxCRL: 64 << 10}
	t.Cleanup(f.srv.Close)
	var err error
	if f.ca, err = testpki.NewRoot(testpki.Options{CRLURL: f.srv.URLFor("/ca.crl")}); err != nil {
		t.Fatal(err)
	}
	f.publish(t, time.Now())
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.srv.Handle("/ca.crl", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch crlMode(f.mode.Load()) {
		case crlSlow:
			select {
			case <-release:
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			_, _ = w.Write(*f.good.Load())
		case crlDown:
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		case crlOversized:
			big := make([]byte, 4*f.maxCRL)
			copy(big, *f.good.Load())
			_, _ = w.Write(big)
		case crlGarbage:
			junk := make([]byte, 2048)
			_, _ = rand.Read(junk)
			_, _ = w.Write(junk)
		default:
			_, _ = w.Write(*f.good.Load())
		}
	}))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf, err := f.ca.IssueLeaf("PENGUJI CRL", "850715015123", key.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	digest := sha256.Sum256([]byte("document"))
	sig, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	require.NoError(t, err)
	f.req = verify.DigestRequest{Hash: crypto.SHA256, Digest: digest[:], Signature: sig, Certificate: leaf}
	return f
}

// publish makes the server's good CRL one issued at now, valid for an hour.
func (f *crlFixture) publish(t *testing.T, now time.Time) {
	t.Helper()
	der, err := f.ca.CRL(testpki.CRLOptions{ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)})
	require.NoError(t, err)
	f.good.Store(&der)
}

func (f *crlFixture) verifier(t *testing.T) *verify.Verifier {
	t.Helper()
	v, err := verify.New(verify.Config{
		Anchors: []*x509.Certificate{f.ca.Cert}, Now: f.clock.Now, MaxCRLSize: f.maxCRL,
		Fetcher: &verify.HTTPFetcher{Timeout: 500 * time.Millisecond},
	})
	require.NoError(t, err)
	return v
}

// verifyConcurrently runs n verifications at once and returns their verdicts.
func (f *crlFixture) verifyConcurrently(v *verify.Verifier, n int) []*verify.Result {
	out := make([]*verify.Result, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out[i] = v.VerifyDigest(ctx, f.req)
		}(i)
	}
	wg.Wait()
	return out
}

func wantVerdict(t *testing.T, what string, rs []*verify.Result, want verify.Verdict) {
	t.Helper()
	for _, r := range rs {
		if r.Verdict != want {
			msg := ""
			if c := r.Failed(); c != nil {
				msg = c.Name + ": " + c.Reason
			}
			t.Fatalf("%s: verdict %s, want %s (%s)", what, r.Verdict, want, msg)
		}
	}
}

// TestCRLServerFaults verifies a good signature while the CRL server is
// slow, down, oversized or serves garbage: every result is indeterminate,
// never valid. When the server returns, the same verifier reports valid.
func TestCRLServerFaults(t *testing.T) {
	f := newCRLFixture(t)
	v := f.verifier(t)
	for _, m := range []crlMode{crlSlow, crlDown, crlOversized, crlGarbage} {
		f.mode.Store(int32(m))
		t0 := time.Now()
		rs := f.verifyConcurrently(v, 8)
		wantVerdict(t, "CRL server "+crlModeNames[m], rs, verify.Indeterminate)
		if d := time.Since(t0); d > 5*time.Second {
			t.Fatalf("CRL server %s: verification took %s", crlModeNames[m], d)
		}
	}
	f.mode.Store(int32(crlGood))
	wantVerdict(t, "CRL server back", f.verifyConcurrently(v, 8), verify.Valid)
	hits := f.srv.Hits()
	wantVerdict(t, "cached CRL", f.verifyConcurrently(v, 8), verify.Valid)
	if f.srv.Hits() != hits {
		t.Fatalf("a fresh cached CRL was fetched again (%d, then %d hits)", hits, f.srv.Hits())
	}
}

// TestCRLFreshnessUnderSkewedClock moves the verifier's clock past the
// cached CRL's nextUpdate while the server is down: the stale CRL must not
// make the signature valid. A fresh CRL restores validity; a clock far
// behind the CRL's thisUpdate is not valid either.
func TestCRLFreshnessUnderSkewedClock(t *testing.T) {
	f := newCRLFixture(t)
	v := f.verifier(t)
	wantVerdict(t, "fresh CRL", f.verifyConcurrently(v, 2), verify.Valid)

	f.mode.Store(int32(crlDown))
	f.clock.Skew(2 * time.Hour) // past nextUpdate (1 h)
	wantVerdict(t, "stale cached CRL, server down", f.verifyConcurrently(v, 4), verify.Indeterminate)
	f.mode.Store(int32(crlGarbage))
	wantVerdict(t, "stale cached CRL, garbage", f.verifyConcurrently(v, 4), verify.Indeterminate)

	f.publish(t, f.clock.Now())
	f.mode.Store(int32(crlGood))
	wantVerdict(t, "fresh CRL at the skewed time", f.verifyConcurrently(v, 4), verify.Valid)

	// A clock half an hour behind the CRL's thisUpdate (the certificate is
	// valid then): the CRL does not yet speak for that time.
	f.clock.Skew(0)
	f.publish(t, time.Now())
	v2 := f.verifier(t)
	f.clock.Skew(-30 * time.Minute)
	for _, r := range f.verifyConcurrently(v2, 2) {
		if r.Verdict == verify.Valid {
			t.Fatalf("valid with a CRL issued after the verification time: %+v", r.Revocation)
		}
		if c := r.Failed(); c != nil {
			t.Logf("clock 30 min behind the CRL: %s (%s: %s)", r.Verdict, c.Name, c.Reason)
		}
	}
}
