package medium_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/medium"
)

const (
	aminah roamsign.UserID = "900101145678"
	zul    roamsign.UserID = "851231105555"
)

func chain(t testing.TB, id roamsign.UserID) ([][]byte, string) {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, err := root.IssueLeaf("AMINAH BINTI ALI", string(id), &k.PublicKey, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{leaf.Raw, root.Cert.Raw}, hex.EncodeToString(leaf.SerialNumber.Bytes())
}

func TestStatic(t *testing.T) {
	ch, serial := chain(t, aminah)
	s, err := medium.NewStatic(map[roamsign.UserID]medium.Entry{
		aminah: {Media: []roamsign.MediumKind{roamsign.MediumToken, roamsign.MediumRoamingOTP}, Hosts: []roamsign.HostID{"hr"},
			Chain: ch, Prefer: map[roamsign.HostID]roamsign.MediumKind{"legacy": roamsign.MediumToken}},
		zul: {Media: []roamsign.MediumKind{roamsign.MediumRoamingOTP}, Hosts: []roamsign.HostID{"hr"}, Disabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := s.Resolve(ctx, aminah, "hr")
	if err != nil {
		t.Fatal(err)
	}
	if a.Use != roamsign.MediumRoamingOTP || len(a.Media) != 2 || a.Certificate == nil {
		t.Fatalf("answer %+v", a)
	}
	c := a.Certificate
	if c.SerialNumber != serial || !strings.Contains(c.Subject, "AMINAH BINTI ALI") || !strings.Contains(c.Subject, "900101145678") ||
		!strings.Contains(c.Issuer, "roamsign Test Root CA") || !c.NotBefore.Before(c.NotAfter) {
		t.Fatalf("summary %+v", c)
	}
	if r := a.Response(); r.Use != a.Use || r.Certificate.SerialNumber != serial {
		t.Fatalf("response %+v", r)
	}
	// A host that prefers the token; a host the roaming key is not enrolled for.
	for host, want := range map[roamsign.HostID]roamsign.MediumKind{"legacy": roamsign.MediumToken, "other": roamsign.MediumToken} {
		a, err := s.Resolve(ctx, aminah, host)
		if err != nil || a.Use != want || a.Certificate != nil {
			t.Fatalf("host %s: %+v %v", host, a, err)
		}
	}
	// Disabled roaming, nothing else: forbidden.
	if _, err := s.Resolve(ctx, zul, "hr"); !errors.Is(err, roamsign.ErrForbidden) {
		t.Fatalf("disabled: %v", err)
	}
	if _, err := s.Resolve(ctx, "850505105556", "hr"); !errors.Is(err, medium.ErrNotFound) || !errors.Is(err, roamsign.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	for _, bad := range []roamsign.UserID{"", "12345", "901301145678", "900101175678", "90010114567x"} {
		if _, err := s.Resolve(ctx, bad, "hr"); !errors.Is(err, roamsign.ErrInvalidInput) {
			t.Fatalf("user %q: %v", bad, err)
		}
	}
	if err := s.Set(aminah, medium.Entry{Media: []roamsign.MediumKind{"usb"}}); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("bad kind: %v", err)
	}
}

type userStore map[roamsign.UserID]*roamsign.UserRecord

func (s userStore) GetUser(_ context.Context, id roamsign.UserID) (*roamsign.UserRecord, error) {
	if id == "111111111111" {
		return nil, errors.New("connection refused")
	}
	u, ok := s[id]
	if !ok {
		return nil, roamsign.E(roamsign.ErrNotFound, "test", "no user")
	}
	return u, nil
}

func TestStoreResolver(t *testing.T) {
	ch, serial := chain(t, aminah)
	r := medium.NewStoreResolver(userStore{aminah: {ID: aminah, Chain: ch, Hosts: []roamsign.HostID{"hr"}}})
	ctx := context.Background()
	a, err := r.Resolve(ctx, aminah, "hr")
	if err != nil || a.Use != roamsign.MediumRoamingOTP || a.Certificate.SerialNumber != serial {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := r.Resolve(ctx, zul, "hr"); !errors.Is(err, medium.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if _, err := r.Resolve(ctx, "111111111111", "hr"); !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("store down: %v", err)
	}
}

type directory struct {
	recs  map[string]medium.DirectoryRecord
	calls atomic.Int32
	mode  atomic.Value // "", "500", "slow", "huge", "garbage", "other"
	block chan struct{}
}

func (d *directory) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.calls.Add(1)
	if d.block != nil {
		<-d.block
	}
	mode, _ := d.mode.Load().(string)
	switch mode {
	case "500":
		http.Error(w, "down", http.StatusInternalServerError)
		return
	case "slow":
		<-r.Context().Done()
		return
	case "huge":
		w.Write([]byte(`{"user":"900101145678","media":["token"],"x":"` + strings.Repeat("a", medium.MaxDirectoryResponse) + `"}`))
		return
	case "garbage":
		w.Write([]byte(`{"user":`))
		return
	case "other":
		json.NewEncoder(w).Encode(medium.DirectoryRecord{User: string(zul), Media: []string{"token"}})
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/api/users/")
	rec, ok := d.recs[id]
	if !ok || r.Header.Get("Authorization") != "Bearer t0ken" {
		http.NotFound(w, r)
		return
	}
	if h := r.URL.Query().Get("host"); h == "legacy" {
		rec.Use = "token"
	}
	json.NewEncoder(w).Encode(rec)
}

func newDirectory(t *testing.T) (*directory, *medium.HTTPResolver, func()) {
	ch, _ := chain(t, aminah)
	d := &directory{recs: map[string]medium.DirectoryRecord{
		string(aminah): {User: string(aminah), Media: []string{"token", "roaming_otp"}, Hosts: []string{"hr", "legacy"}, Chain: ch},
	}}
	ts := httptest.NewServer(d)
	r, err := medium.NewHTTPResolver(medium.HTTPConfig{BaseURL: ts.URL + "/api", Timeout: 200 * time.Millisecond,
		Header: http.Header{"Authorization": {"Bearer t0ken"}}})
	if err != nil {
		t.Fatal(err)
	}
	return d, r, ts.Close
}

func TestHTTPResolver(t *testing.T) {
	d, r, done := newDirectory(t)
	defer done()
	ctx := context.Background()
	a, err := r.Resolve(ctx, aminah, "hr")
	if err != nil || a.Use != roamsign.MediumRoamingOTP || a.Certificate == nil {
		t.Fatalf("%+v %v", a, err)
	}
	if a, err := r.Resolve(ctx, aminah, "legacy"); err != nil || a.Use != roamsign.MediumToken {
		t.Fatalf("legacy: %+v %v", a, err)
	}
	if _, err := r.Resolve(ctx, zul, "hr"); !errors.Is(err, medium.ErrNotFound) || !errors.Is(err, roamsign.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	for _, mode := range []string{"500", "slow", "huge", "garbage", "other"} {
		d.mode.Store(mode)
		_, err := r.Resolve(ctx, aminah, "hr")
		if !errors.Is(err, medium.ErrUnavailable) || !errors.Is(err, roamsign.ErrUnavailable) || errors.Is(err, roamsign.ErrNotFound) {
			t.Fatalf("mode %s: %v", mode, err)
		}
	}
	if _, err := medium.NewHTTPResolver(medium.HTTPConfig{BaseURL: "file:///etc"}); err == nil {
		t.Fatal("bad URL accepted")
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestCache(t *testing.T) {
	d, r, done := newDirectory(t)
	defer done()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := medium.NewCache(r, medium.CacheConfig{TTL: time.Minute, NegativeTTL: 10 * time.Second, Now: clk.Now})
	ctx := context.Background()

	// Single flight: 50 concurrent lookups, one directory call.
	d.block = make(chan struct{})
	var wg, started sync.WaitGroup
	var fails atomic.Int32
	for i := 0; i < 50; i++ {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			a, err := c.Resolve(ctx, aminah, "hr")
			if err != nil || a.Use != roamsign.MediumRoamingOTP {
				fails.Add(1)
			}
		}()
	}
	// Release the directory once every caller is running and the first
	// lookup arrived; callers that come later find the cached answer, so
	// the directory is asked exactly once either way.
	started.Wait()
	for d.calls.Load() == 0 {
		runtime.Gosched()
	}
	close(d.block)
	wg.Wait()
	d.block = nil
	if fails.Load() != 0 || d.calls.Load() != 1 {
		t.Fatalf("fails %d, directory calls %d", fails.Load(), d.calls.Load())
	}
	// Cached until the TTL; answers are copies.
	a, _ := c.Resolve(ctx, aminah, "hr")
	a.Media[0] = "mutated"
	if b, _ := c.Resolve(ctx, aminah, "hr"); b.Media[0] == "mutated" || d.calls.Load() != 1 {
		t.Fatalf("cache shared or missed: %v calls %d", b.Media, d.calls.Load())
	}
	clk.Advance(time.Minute)
	c.Resolve(ctx, aminah, "hr")
	if d.calls.Load() != 2 {
		t.Fatalf("not refreshed after TTL: %d", d.calls.Load())
	}
	// Negative caching for NegativeTTL.
	c.Resolve(ctx, zul, "hr")
	if _, err := c.Resolve(ctx, zul, "hr"); !errors.Is(err, medium.ErrNotFound) || d.calls.Load() != 3 {
		t.Fatalf("negative: %v calls %d", err, d.calls.Load())
	}
	clk.Advance(10 * time.Second)
	c.Resolve(ctx, zul, "hr")
	if d.calls.Load() != 4 {
		t.Fatalf("negative entry kept too long: %d", d.calls.Load())
	}
	// Unavailability is never cached.
	d.mode.Store("500")
	c.Forget(aminah)
	for i := 0; i < 2; i++ {
		if _, err := c.Resolve(ctx, aminah, "hr"); !errors.Is(err, medium.ErrUnavailable) {
			t.Fatal(err)
		}
	}
	if d.calls.Load() != 6 {
		t.Fatalf("error cached: %d", d.calls.Load())
	}
	// Negative caching off.
	d.mode.Store("")
	c2 := medium.NewCache(r, medium.CacheConfig{Now: clk.Now})
	c2.Resolve(ctx, zul, "hr")
	c2.Resolve(ctx, zul, "hr")
	if d.calls.Load() != 8 {
		t.Fatalf("negative caching not off: %d", d.calls.Load())
	}
	// A caller whose context ends stops waiting.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c2.Resolve(cctx, aminah, "other-host"); err == nil {
		t.Fatal("cancelled lookup succeeded")
	}
}

func TestSummarizeRejects(t *testing.T) {
	if _, err := medium.Summarize(nil); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatal(err)
	}
	if _, err := medium.Summarize([][]byte{[]byte("junk")}); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatal(err)
	}
	if _, err := medium.Summarize([][]byte{make([]byte, medium.MaxCertificateSize+1)}); !errors.Is(err, roamsign.ErrTooLarge) {
		t.Fatal(err)
	}
}

func TestChoose(t *testing.T) {
	all := []roamsign.MediumKind{roamsign.MediumToken, roamsign.MediumSoftcert, roamsign.MediumRoaming, roamsign.MediumRoamingOTP}
	if medium.Choose(all, "") != roamsign.MediumRoamingOTP || medium.Choose(all, roamsign.MediumSoftcert) != roamsign.MediumSoftcert ||
		medium.Choose(all[:1], roamsign.MediumRoaming) != roamsign.MediumToken || medium.Choose(nil, "") != "" {
		t.Fatal("Choose")
	}
}

func FuzzParseDirectoryRecord(f *testing.F) {
	f.Add([]byte(`{"user":"900101145678","media":["token","roaming+otp"],"hosts":["hr"],"use":"token"}`))
	f.Add([]byte(`{"user":"900101-14-5678","media":["ROAMING_OTP"],"disabled":true}`))
	f.Add([]byte(`{"user":"900101145678","media":["roaming"],"chain":["AAAA"]}`))
	f.Add([]byte(`{"user":"900101145678"} {}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := medium.ParseDirectoryRecord(b, aminah, "hr")
		if err != nil {
			if roamsign.KindOf(err) == roamsign.KindUnknown {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if a.User != aminah || !a.Use.Valid() {
			t.Fatalf("bad answer %+v", a)
		}
	})
}

// TestEmptyHostListMeansNone: an entry or user record with no hosts is
// enrolled for no host (roamsign.UserRecord.EnrolledFor); client-side
// media stay usable.
func TestEmptyHostListMeansNone(t *testing.T) {
	ch, _ := chain(t, aminah)
	ctx := context.Background()
	s, err := medium.NewStatic(map[roamsign.UserID]medium.Entry{
		aminah: {Media: []roamsign.MediumKind{roamsign.MediumRoamingOTP, roamsign.MediumToken}, Chain: ch},
		zul:    {Media: []roamsign.MediumKind{roamsign.MediumRoamingOTP}, Chain: ch},
	})
	require.NoError(t, err)
	a, err := s.Resolve(ctx, aminah, "hr")
	require.NoError(t, err)
	assert.Equal(t, roamsign.MediumToken, a.Use, "roaming offered to a host the user is not enrolled for")
	_, err = s.Resolve(ctx, zul, "hr")
	require.ErrorIs(t, err, roamsign.ErrForbidden)

	r := medium.NewStoreResolver(userStore{aminah: {ID: aminah, Chain: ch}})
	_, err = r.Resolve(ctx, aminah, "hr")
	require.ErrorIs(t, err, roamsign.ErrForbidden, "store user without hosts")
}
