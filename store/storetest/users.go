package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

func eqUser(t testing.TB, got, want *roamsign.UserRecord) {
	t.Helper()
	eqTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	eqTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	eqTime(t, "LockedAt", got.LockedAt, want.LockedAt)
	g, w := *got, *want
	g.CreatedAt, g.UpdatedAt, g.LockedAt = time.Time{}, time.Time{}, time.Time{}
	w.CreatedAt, w.UpdatedAt, w.LockedAt = time.Time{}, time.Time{}, time.Time{}
	if fmt.Sprintf("%#v", normNil(&g)) != fmt.Sprintf("%#v", normNil(&w)) {
		t.Fatalf("user round trip:\n got %#v\nwant %#v", g, w)
	}
}

// normNil maps empty slices to nil so that backends may return either.
func normNil(u *roamsign.UserRecord) *roamsign.UserRecord {
	if len(u.Hosts) == 0 {
		u.Hosts = nil
	}
	if len(u.Media) == 0 {
		u.Media = nil
	}
	if len(u.Devices) == 0 {
		u.Devices = nil
	}
	if len(u.Chain) == 0 {
		u.Chain = nil
	}
	if len(u.PINVerifier) == 0 {
		u.PINVerifier = nil
	}
	return u
}

func testUserRoundTrip(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	u := NewUser("850101-14-5555")
	want := store.CloneUser(u)
	noErr(t, s.CreateUser(ctx, u), "CreateUser")
	got, err := s.GetUser(ctx, u.ID)
	noErr(t, err, "GetUser")
	eqUser(t, got, want)
	IsKind(t, s.CreateUser(ctx, NewUser(u.ID)), roamsign.ErrConflict, "duplicate user")
	_, err = s.GetUser(ctx, "missing")
	IsKind(t, err, roamsign.ErrNotFound, "GetUser missing")

	// A minimal user (empty lists, no PIN yet) round-trips too.
	m := &roamsign.UserRecord{ID: "minimal"}
	noErr(t, s.CreateUser(ctx, m), "CreateUser minimal")
	got, err = s.GetUser(ctx, "minimal")
	noErr(t, err, "GetUser minimal")
	eqUser(t, got, m)

	IsKind(t, s.CreateUser(ctx, &roamsign.UserRecord{}), roamsign.ErrInvalidInput, "user without id")
	big := NewUser("big")
	big.Chain = [][]byte{make([]byte, store.MaxBlobLen+1)}
	IsKind(t, s.CreateUser(ctx, big), roamsign.ErrInvalidInput, "oversized certificate")
	_, err = s.GetUser(ctx, "big")
	IsKind(t, err, roamsign.ErrNotFound, "rejected user not stored")
}

func testUserUpdate(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	u := NewUser("u1")
	noErr(t, s.CreateUser(ctx, u), "CreateUser")
	later := Base.Add(time.Hour)
	noErr(t, s.UpdateUser(ctx, u.ID, func(r *roamsign.UserRecord) error {
		r.Devices = append(r.Devices, "dev-2")
		r.Disabled = true
		r.UpdatedAt = later
		return nil
	}), "UpdateUser")
	got, _ := s.GetUser(ctx, u.ID)
	want := store.CloneUser(u)
	want.Devices, want.Disabled, want.UpdatedAt = []string{"dev-1", "dev-2"}, true, later
	eqUser(t, got, want)

	boom := errors.New("boom")
	err := s.UpdateUser(ctx, u.ID, func(r *roamsign.UserRecord) error {
		r.Name = "changed"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateUser fn error: got %v", err)
	}
	got, _ = s.GetUser(ctx, u.ID)
	if got.Name != u.Name {
		t.Fatal("UpdateUser wrote despite an error from fn")
	}
	IsKind(t, s.UpdateUser(ctx, u.ID, func(r *roamsign.UserRecord) error { r.ID = "other"; return nil }),
		roamsign.ErrInvalidInput, "UpdateUser changing the id")
	IsKind(t, s.UpdateUser(ctx, u.ID, func(r *roamsign.UserRecord) error { r.Name = strings.Repeat("n", store.MaxTextLen+1); return nil }),
		roamsign.ErrInvalidInput, "UpdateUser invalid result")
	IsKind(t, s.UpdateUser(ctx, "missing", func(*roamsign.UserRecord) error { return nil }), roamsign.ErrNotFound, "UpdateUser missing")
	got, _ = s.GetUser(ctx, u.ID)
	eqUser(t, got, want)
}

func testUserUpdateRace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	u := NewUser("u1")
	u.Devices = nil
	noErr(t, s.CreateUser(ctx, u), "CreateUser")
	const n = 20
	errs := parallel(n, func(i int) error {
		return s.UpdateUser(ctx, u.ID, func(r *roamsign.UserRecord) error {
			r.Devices = append(r.Devices, fmt.Sprintf("d%02d", i))
			return nil
		})
	})
	for _, err := range errs {
		noErr(t, err, "concurrent UpdateUser")
	}
	got, _ := s.GetUser(ctx, u.ID)
	if len(got.Devices) != n {
		t.Fatalf("concurrent UpdateUser lost updates: %d devices, want %d", len(got.Devices), n)
	}
}

func testUserList(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	for _, id := range []roamsign.UserID{"c", "a", "e", "b", "d"} {
		noErr(t, s.CreateUser(ctx, NewUser(id)), "CreateUser")
	}
	var all []roamsign.UserID
	after := roamsign.UserID("")
	for {
		page, err := s.ListUsers(ctx, after, 2)
		noErr(t, err, "ListUsers")
		if len(page) > 2 {
			t.Fatalf("ListUsers returned %d > limit", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			all = append(all, u.ID)
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(all) != "[a b c d e]" {
		t.Fatalf("ListUsers pages = %v", all)
	}
	page, _ := s.ListUsers(ctx, "", 10)
	eqUser(t, &page[0], NewUser("a"))
	_, err := s.ListUsers(ctx, "", 0)
	IsKind(t, err, roamsign.ErrInvalidInput, "ListUsers limit 0")
}

func testPINFailures(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	u := NewUser("u1")
	noErr(t, s.CreateUser(ctx, u), "CreateUser")
	for i := 1; i <= 4; i++ {
		at := Base.Add(time.Duration(i) * time.Minute)
		n, locked, err := s.AddPINFailure(ctx, u.ID, 3, at)
		noErr(t, err, "AddPINFailure")
		if n != i || locked != (i >= 3) {
			t.Fatalf("AddPINFailure #%d = %d, %v", i, n, locked)
		}
	}
	got, _ := s.GetUser(ctx, u.ID)
	if !got.Locked || got.PINFailures != 4 {
		t.Fatalf("after failures: %+v", got)
	}
	eqTime(t, "LockedAt (first lock only)", got.LockedAt, Base.Add(3*time.Minute))
	noErr(t, s.ResetPINFailures(ctx, u.ID), "ResetPINFailures")
	got, _ = s.GetUser(ctx, u.ID)
	if got.Locked || got.PINFailures != 0 || !got.LockedAt.IsZero() {
		t.Fatalf("after reset: locked=%v failures=%d lockedAt=%v", got.Locked, got.PINFailures, got.LockedAt)
	}
	_, _, err := s.AddPINFailure(ctx, "missing", 3, Base)
	IsKind(t, err, roamsign.ErrNotFound, "AddPINFailure missing")
	_, _, err = s.AddPINFailure(ctx, u.ID, 0, Base)
	IsKind(t, err, roamsign.ErrInvalidInput, "AddPINFailure max 0")
	IsKind(t, s.ResetPINFailures(ctx, "missing"), roamsign.ErrNotFound, "ResetPINFailures missing")
}

// PINFailureRace makes n goroutines add PIN failures to one user (max) over
// the given stores and fails unless the counts are exactly 1..n and the
// lock is reported from the max-th failure on.
func PINFailureRace(t *testing.T, n, max int, stores ...store.Store) {
	ctx := ctxT(t)
	u := NewUser("race-" + roamsign.UserID(RandID()))
	noErr(t, stores[0].CreateUser(ctx, u), "CreateUser")
	type res struct {
		n      int
		locked bool
		at     time.Time
		err    error
	}
	out := parallel(n, func(i int) res {
		at := Base.Add(time.Duration(i) * time.Second)
		k, l, err := stores[i%len(stores)].AddPINFailure(ctx, u.ID, max, at)
		return res{k, l, at, err}
	})
	seen := map[int]bool{}
	var lockAt time.Time
	for _, r := range out {
		if r.n == max {
			lockAt = r.at
		}
		noErr(t, r.err, "AddPINFailure")
		if seen[r.n] {
			t.Fatalf("count %d returned twice", r.n)
		}
		seen[r.n] = true
		if r.locked != (r.n >= max) {
			t.Fatalf("failure %d reported locked=%v with max %d", r.n, r.locked, max)
		}
	}
	got, _ := stores[0].GetUser(ctx, u.ID)
	if got.PINFailures != n || !got.Locked {
		t.Fatalf("after %d concurrent failures: failures=%d locked=%v", n, got.PINFailures, got.Locked)
	}
	// Locked once, by the max-th failure: later failures keep its time.
	eqTime(t, "LockedAt", got.LockedAt, lockAt)
}

func testPINFailureRace(t *testing.T, s store.Store) { PINFailureRace(t, 60, 10, s) }
