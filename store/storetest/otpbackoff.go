package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// testOTPBackoff walks one (user, host) pair through its failures, waits,
// the cap, forgetting and resets, beside an independent second host.
func testOTPBackoff(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := roamsign.OTPBackoff{After: 3, Base: time.Minute, Max: 4 * time.Minute, Forget: time.Hour}
	b := store.NormTime(Base)
	_, err := s.GetOTPBackoff(ctx, "u1", "hr")
	IsKind(t, err, roamsign.ErrNotFound, "GetOTPBackoff before any failure")
	add := func(host roamsign.HostID, at time.Time, failures int, wait time.Duration) {
		t.Helper()
		r, err := s.AddOTPFailure(ctx, "u1", host, at, p)
		noErr(t, err, "AddOTPFailure")
		if r.User != "u1" || r.Host != host || r.Failures != failures {
			t.Fatalf("AddOTPFailure at %v = %+v, want %d failures", at, r, failures)
		}
		eqTime(t, "UpdatedAt", r.UpdatedAt, at)
		want := time.Time{}
		if wait > 0 {
			want = at.Add(wait)
		}
		eqTime(t, "Until", r.Until, want)
		got, err := s.GetOTPBackoff(ctx, "u1", host)
		noErr(t, err, "GetOTPBackoff")
		if got.Failures != failures || !got.Until.Equal(r.Until) || !got.UpdatedAt.Equal(r.UpdatedAt) {
			t.Fatalf("GetOTPBackoff = %+v, want %+v", got, r)
		}
	}
	refused := func(at time.Time, wait time.Duration) {
		t.Helper()
		before, _ := s.GetOTPBackoff(ctx, "u1", "hr")
		_, err := s.AddOTPFailure(ctx, "u1", "hr", at, p)
		IsKind(t, err, roamsign.ErrRateLimited, "AddOTPFailure while backing off")
		if got, ok := roamsign.RetryAfterOf(err); !ok || got != wait {
			t.Fatalf("wait %v (%v), want %v", got, ok, wait)
		}
		after, _ := s.GetOTPBackoff(ctx, "u1", "hr")
		if after.Failures != before.Failures || !after.Until.Equal(before.Until) {
			t.Fatalf("a refused attempt was counted: %+v, then %+v", before, after)
		}
	}
	add("hr", b, 1, 0)
	add("hr", b.Add(time.Second), 2, 0)
	add("hr", b.Add(2*time.Second), 3, time.Minute) // the After-th failure starts the wait
	refused(b.Add(3*time.Second), time.Minute-time.Second)
	add("finance", b.Add(3*time.Second), 1, 0) // another host is not held back
	t0 := b.Add(2*time.Second + time.Minute)
	add("hr", t0, 4, 2*time.Minute) // the wait doubles
	add("hr", t0.Add(2*time.Minute), 5, 4*time.Minute)
	add("hr", t0.Add(6*time.Minute), 6, 4*time.Minute) // at most Max
	add("hr", t0.Add(6*time.Minute+time.Hour), 1, 0)   // failures older than Forget are forgotten
	add("hr", t0.Add(7*time.Minute+time.Hour), 2, 0)

	cleared, err := s.ResetOTPFailures(ctx, "u1", "hr")
	noErr(t, err, "ResetOTPFailures(hr)")
	if len(cleared) != 1 || cleared[0].Host != "hr" || cleared[0].Failures != 2 {
		t.Fatalf("ResetOTPFailures(hr) = %+v", cleared)
	}
	_, err = s.GetOTPBackoff(ctx, "u1", "hr")
	IsKind(t, err, roamsign.ErrNotFound, "GetOTPBackoff after reset")
	add("hr", t0.Add(8*time.Minute+time.Hour), 1, 0)
	cleared, err = s.ResetOTPFailures(ctx, "u1", "")
	noErr(t, err, "ResetOTPFailures(every host)")
	if len(cleared) != 2 || cleared[0].Host != "finance" || cleared[1].Host != "hr" {
		t.Fatalf("ResetOTPFailures(every host) = %+v", cleared)
	}
	cleared, err = s.ResetOTPFailures(ctx, "u1", "")
	noErr(t, err, "ResetOTPFailures with nothing to clear")
	if len(cleared) != 0 {
		t.Fatalf("ResetOTPFailures with nothing to clear = %+v", cleared)
	}

	_, err = s.AddOTPFailure(ctx, "u1", "", b, p)
	IsKind(t, err, roamsign.ErrInvalidInput, "AddOTPFailure without a host")
	_, err = s.AddOTPFailure(ctx, "u1", "hr", b, roamsign.OTPBackoff{})
	IsKind(t, err, roamsign.ErrInvalidInput, "AddOTPFailure without a policy")
	_, err = s.ResetOTPFailures(ctx, "", "hr")
	IsKind(t, err, roamsign.ErrInvalidInput, "ResetOTPFailures without a user")
}

// OTPBackoffRace counts n attempts of one pair at once over the given
// stores with a back-off after the after-th failure, and fails unless
// exactly after were counted (1..after, each once) and the rest refused:
// the count is exact across replicas.
func OTPBackoffRace(t *testing.T, n, after int, stores ...store.Store) {
	ctx := ctxT(t)
	user := roamsign.UserID("race-" + RandID())
	p := roamsign.OTPBackoff{After: after}.WithDefaults()
	type res struct {
		failures int
		err      error
	}
	out := parallel(n, func(i int) res {
		r, err := stores[i%len(stores)].AddOTPFailure(ctx, user, "hr", Base, p)
		if err != nil {
			return res{err: err}
		}
		return res{failures: r.Failures}
	})
	seen := map[int]bool{}
	for _, r := range out {
		switch {
		case r.err == nil:
			if seen[r.failures] {
				t.Fatalf("count %d returned twice", r.failures)
			}
			seen[r.failures] = true
		case errors.Is(r.err, roamsign.ErrRateLimited):
		default:
			t.Fatalf("AddOTPFailure: %v", r.err)
		}
	}
	if len(seen) != after {
		t.Fatalf("%d parallel attempts with a back-off after %d: %d counted", n, after, len(seen))
	}
	for i := 1; i <= after; i++ {
		if !seen[i] {
			t.Fatalf("counts are not 1..%d: missing %d", after, i)
		}
	}
}

func testOTPBackoffRace(t *testing.T, s store.Store) { OTPBackoffRace(t, 20, 5, s) }

// OTPBackoffResetRace counts and resets one pair's failures from n
// goroutines at once over the given stores, as right OTPs arriving
// together do: every call succeeds, or is refused for the back-off the
// interleaved counts may start.
func OTPBackoffResetRace(t *testing.T, n int, stores ...store.Store) {
	ctx := ctxT(t)
	user := roamsign.UserID("race-" + RandID())
	p := roamsign.OTPBackoff{}.WithDefaults()
	errs := parallel(n, func(i int) error {
		s := stores[i%len(stores)]
		for range 5 {
			if _, err := s.AddOTPFailure(ctx, user, "hr", Base, p); err != nil && !errors.Is(err, roamsign.ErrRateLimited) {
				return err
			}
			if _, err := s.ResetOTPFailures(ctx, user, "hr"); err != nil {
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		noErr(t, err, "AddOTPFailure and ResetOTPFailures at once")
	}
}

func testOTPBackoffResetRace(t *testing.T, s store.Store) { OTPBackoffResetRace(t, 16, s) }
