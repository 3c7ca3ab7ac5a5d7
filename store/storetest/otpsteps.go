package storetest

import (
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

func testOTPSteps(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	for i, c := range []struct {
		user roamsign.UserID
		step int64
		want bool
	}{
		{"u1", 100, true},
		{"u1", 100, false}, // replay of the same step
		{"u1", 99, false},  // an earlier step
		{"u1", 101, true},
		{"u2", 5, true}, // per user
		{"u2", 101, true},
		{"u1", 101, false},
	} {
		got, err := s.AdvanceStep(ctx, c.user, c.step)
		noErr(t, err, "AdvanceStep")
		if got != c.want {
			t.Fatalf("step %d: AdvanceStep(%s, %d) = %v, want %v", i, c.user, c.step, got, c.want)
		}
	}
	_, err := s.AdvanceStep(ctx, "", 1)
	IsKind(t, err, roamsign.ErrInvalidInput, "AdvanceStep without user")
}

// OTPStepRace makes n goroutines accept the same step for one user over
// the given stores: exactly one may win.
func OTPStepRace(t *testing.T, n int, stores ...store.Store) {
	ctx := ctxT(t)
	user := roamsign.UserID("step-" + RandID())
	res := parallel(n, func(i int) [2]any {
		ok, err := stores[i%len(stores)].AdvanceStep(ctx, user, 56789)
		return [2]any{ok, err}
	})
	wins := 0
	for _, r := range res {
		if r[1] != nil {
			t.Fatalf("AdvanceStep: %v", r[1])
		}
		if r[0].(bool) {
			wins++
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent AdvanceStep calls on one step: %d won, want 1", n, wins)
	}
}

func testOTPStepRace(t *testing.T, s store.Store) { OTPStepRace(t, 50, s) }
