package bench_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/internal/softhsmtest"
)

// loadLog records the outcomes of a background load.
type loadLog struct {
	mu     sync.Mutex
	ok     int
	wrong  int
	errs   map[string]int
	lastOK time.Time
	other  []error // errors of a kind other than unavailable
	// gate is held shared by every flow. A fault that calls into the
	// PKCS#11 module takes it exclusively: SoftHSM2 runs in this process,
	// and closing or finalising under another thread's running call is a
	// use-after-free inside the library (it crashes in C_Login), whereas a
	// real HSM reports the lost sessions as invalid handles. The fault
	// therefore lands between calls, with the service's pool full of
	// handles that are no longer valid.
	gate sync.RWMutex
}

// inject runs fault with no flow inside the module.
func (l *loadLog) inject(fault func()) {
	l.gate.Lock()
	defer l.gate.Unlock()
	fault()
}

func (l *loadLog) okSince(t0 time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastOK.After(t0)
}

// startLoad runs single-hash flows on workers goroutines, verifying every
// signature, until the returned stop function is called.
func startLoad(d *deployment, users []bench.User, workers, hashes int) (*loadLog, func()) {
	l := &loadLog{errs: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			u := users[w%len(users)]
			for ctx.Err() == nil {
				hs := bench.RandomHashes(hashes)
				l.gate.RLock()
				out, _, err := bench.Flow(ctx, d.client, d.mail, u, hs, roamsign.FormRaw)
				l.gate.RUnlock()
				if ctx.Err() != nil {
					return
				}
				l.mu.Lock()
				switch {
				case err != nil:
					k := roamsign.KindOf(err)
					l.errs[k.Code()]++
					if !errors.Is(err, roamsign.ErrUnavailable) {
						l.other = append(l.other, err)
					}
				case bench.CheckRaw(out, hs) != nil:
					l.wrong++
				default:
					l.ok++
					l.lastOK = time.Now()
				}
				l.mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}(w)
	}
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); wg.Wait() }) }
	return l, stop
}

// recoveredWithin waits until the load completes a flow started after t0.
func recoveredWithin(t *testing.T, what string, l *loadLog, t0 time.Time, max time.Duration) time.Duration {
	t.Helper()
	for time.Since(t0) < max {
		if l.okSince(t0) {
			return time.Since(t0)
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var first error
	if len(l.other) > 0 {
		first = l.other[0]
	}
	t.Fatalf("%s: no successful flow within %s (errors %v, first %v)", what, max, l.errs, first)
	return 0
}

// tokenDir finds the SoftHSM2 directory holding the token labelled label.
func tokenDir(t *testing.T, tok *softhsmtest.Token) string {
	t.Helper()
	ents, err := os.ReadDir(tok.TokenDir)
	require.NoError(t, err)
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(tok.TokenDir, e.Name(), "token.object"))
		if err == nil && bytes.Contains(b, []byte(tok.Label)) {
			return filepath.Join(tok.TokenDir, e.Name())
		}
	}
	t.Fatalf("no directory for token %q in %s", tok.Label, tok.TokenDir)
	return ""
}

// hsmLoad is a deployment on SoftHSM2 with hosts signing over HTTPS in
// the background and a second handle on the PKCS#11 module to inject
// faults with.
func hsmLoad(t *testing.T) (*deployment, *loadLog, func(), *pkcs11.Ctx, uint) {
	d := newDeployment(t, deployOpts{})
	users := d.enrol(t, roamsign.ECP256, 4)
	l, stop := startLoad(d, users, 4, 5)
	t.Cleanup(stop)
	recoveredWithin(t, "warm-up", l, time.Now(), 10*time.Second)
	p := softhsmtest.Module(t)
	return d, l, stop, p, d.tok.Slot(t, p)
}

// checkLoad fails on any wrong signature and on errors of a kind not in
// allowed.
func checkLoad(t *testing.T, l *loadLog, allowed ...roamsign.Kind) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wrong != 0 {
		t.Fatalf("%d flows returned signatures that do not verify", l.wrong)
	}
next:
	for _, err := range l.other {
		for _, k := range allowed {
			if errors.Is(err, k) {
				continue next
			}
		}
		t.Fatalf("error of an unexpected kind under HSM faults (counts %v): %v", l.errs, err)
	}
}

// TestHSMSessionsClosedUnderLoad closes every session of the token from
// another handle of the module (C_CloseAllSessions, three times) and then
// finalises and re-initialises the module (C_Finalize, C_Initialize), while
// hosts sign. Meanwhile calls may fail only with roamsign.ErrUnavailable
// (HTTP 503); every returned signature must verify; signing must resume.
func TestHSMSessionsClosedUnderLoad(t *testing.T) {
	_, l, stop, p, slot := hsmLoad(t)
	for i := 0; i < 3; i++ {
		var err error
		l.inject(func() { err = p.CloseAllSessions(slot) })
		require.NoError(t, err, "C_CloseAllSessions")
		time.Sleep(150 * time.Millisecond)
	}
	rec1 := recoveredWithin(t, "after C_CloseAllSessions", l, time.Now(), 10*time.Second)
	var ferr, ierr error
	l.inject(func() { ferr, ierr = p.Finalize(), p.Initialize() })
	if ferr != nil || (ierr != nil && !softhsmtest.IsRV(ierr, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
		t.Fatalf("C_Finalize, C_Initialize: %v, %v", ferr, ierr)
	}
	rec2 := recoveredWithin(t, "after C_Finalize/C_Initialize", l, time.Now(), 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	stop()
	checkLoad(t, l, roamsign.ErrUnavailable)
	t.Logf("flows ok %d, errors %v; recovery after closed sessions %s, after module re-initialised %s",
		l.ok, l.errs, rec1.Round(time.Millisecond), rec2.Round(time.Millisecond))
}

// tokenGoneKinds are the error kinds accepted while the token is away:
// only roamsign.ErrUnavailable (HTTP 503). SoftHSM2 answers a search on a
// vanished token with an empty result, and package hsm reports a key it
// held and did not delete as unavailable, never as "not found".
var tokenGoneKinds = []roamsign.Kind{roamsign.ErrUnavailable}

// TestHSMTokenRemovedUnderLoad takes the token away while hosts sign (its
// SoftHSM2 directory renamed), brings it back and re-initialises the
// module, as a reinserted HSM token needs with SoftHSM2 (it rescans its
// token directory only in C_Initialize). No wrong signature may be
// returned; signing must resume.
func TestHSMTokenRemovedUnderLoad(t *testing.T) {
	d, l, stop, p, _ := hsmLoad(t)
	dir := tokenDir(t, d.tok)
	require.NoError(t, os.Rename(dir, dir+".away"))
	restored := false
	t.Cleanup(func() {
		if !restored {
			_ = os.Rename(dir+".away", dir)
		}
	})
	l.mu.Lock()
	okBefore := l.ok
	l.mu.Unlock()
	time.Sleep(time.Second)
	l.mu.Lock()
	okDuring := l.ok - okBefore
	l.mu.Unlock()
	require.NoError(t, os.Rename(dir+".away", dir))
	restored = true
	var ferr, ierr error
	l.inject(func() { ferr, ierr = p.Finalize(), p.Initialize() })
	if ferr != nil || ierr != nil {
		t.Fatalf("C_Finalize, C_Initialize: %v, %v", ferr, ierr)
	}
	rec := recoveredWithin(t, "after the token came back", l, time.Now(), 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	stop()
	checkLoad(t, l, tokenGoneKinds...)
	t.Logf("flows ok %d, errors %v; flows completed while the token was away: %d; recovery after reinsertion %s",
		l.ok, l.errs, okDuring, rec.Round(time.Millisecond))
}
