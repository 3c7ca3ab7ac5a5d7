package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// testSessions walks sessions through put, get, replace, update, take,
// expiry, the kind's capacity, delete and purge, and the refused
// arguments.
func testSessions(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	now := store.NormTime(Base)
	k1, k2 := []byte("key-1"), []byte("key-2")
	noErr(t, s.PutSession(ctx, "sad", k1, []byte("v1"), now.Add(time.Minute), now, 0), "PutSession")
	get := func(kind string, key []byte, at time.Time, want string) {
		t.Helper()
		v, err := s.GetSession(ctx, kind, key, at)
		noErr(t, err, "GetSession")
		if string(v) != want {
			t.Fatalf("GetSession = %q, want %q", v, want)
		}
	}
	get("sad", k1, now, "v1")
	_, err := s.GetSession(ctx, "code", k1, now)
	IsKind(t, err, roamsign.ErrNotFound, "GetSession of another kind")
	_, err = s.GetSession(ctx, "sad", k1, now.Add(time.Minute))
	IsKind(t, err, roamsign.ErrExpired, "GetSession at expiry")

	noErr(t, s.PutSession(ctx, "sad", k1, []byte("v2"), now.Add(2*time.Minute), now, 0), "PutSession replacing")
	get("sad", k1, now.Add(time.Minute), "v2")
	noErr(t, s.UpdateSession(ctx, "sad", k1, now, func(v []byte) ([]byte, error) { return append(v, '!'), nil }), "UpdateSession")
	get("sad", k1, now, "v2!")
	stop := errors.New("stop")
	if err := s.UpdateSession(ctx, "sad", k1, now, func([]byte) ([]byte, error) { return []byte("no"), stop }); !errors.Is(err, stop) {
		t.Fatalf("UpdateSession whose fn fails: %v", err)
	}
	get("sad", k1, now, "v2!")
	IsKind(t, s.UpdateSession(ctx, "sad", k1, now, func([]byte) ([]byte, error) { return make([]byte, store.MaxSessionValue+1), nil }),
		roamsign.ErrInvalidInput, "UpdateSession to a value too large")
	IsKind(t, s.UpdateSession(ctx, "sad", k2, now, func(v []byte) ([]byte, error) { return v, nil }), roamsign.ErrNotFound, "UpdateSession of none")
	IsKind(t, s.UpdateSession(ctx, "sad", k1, now.Add(3*time.Minute), func(v []byte) ([]byte, error) { return v, nil }),
		roamsign.ErrExpired, "UpdateSession after expiry")

	v, err := s.TakeSession(ctx, "sad", k1, now)
	noErr(t, err, "TakeSession")
	if string(v) != "v2!" {
		t.Fatalf("TakeSession = %q", v)
	}
	_, err = s.TakeSession(ctx, "sad", k1, now)
	IsKind(t, err, roamsign.ErrNotFound, "TakeSession twice")
	noErr(t, s.PutSession(ctx, "sad", k2, []byte("v"), now.Add(time.Minute), now, 0), "PutSession")
	_, err = s.TakeSession(ctx, "sad", k2, now.Add(time.Minute))
	IsKind(t, err, roamsign.ErrExpired, "TakeSession after expiry")
	_, err = s.GetSession(ctx, "sad", k2, now)
	IsKind(t, err, roamsign.ErrNotFound, "an expired session taken is gone")

	noErr(t, s.PutSession(ctx, "sad", k1, []byte("v"), now.Add(time.Minute), now, 0), "PutSession")
	noErr(t, s.UpdateSession(ctx, "sad", k1, now, func([]byte) ([]byte, error) { return nil, nil }), "UpdateSession deleting")
	_, err = s.GetSession(ctx, "sad", k1, now)
	IsKind(t, err, roamsign.ErrNotFound, "deleted by UpdateSession")

	// Capacity: two live sessions of a kind; an expired one makes room;
	// replacing one needs none; other kinds do not count.
	noErr(t, s.PutSession(ctx, "page", k1, []byte("a"), now.Add(time.Minute), now, 2), "PutSession 1 of 2")
	noErr(t, s.PutSession(ctx, "page", k2, []byte("b"), now.Add(time.Hour), now, 2), "PutSession 2 of 2")
	IsKind(t, s.PutSession(ctx, "page", []byte("k3"), []byte("c"), now.Add(time.Hour), now, 2), roamsign.ErrRateLimited, "PutSession beyond max")
	noErr(t, s.PutSession(ctx, "page", k2, []byte("b2"), now.Add(time.Hour), now, 2), "PutSession replacing at max")
	noErr(t, s.PutSession(ctx, "other", k1, []byte("x"), now.Add(time.Hour), now, 2), "PutSession of another kind")
	noErr(t, s.PutSession(ctx, "page", []byte("k3"), []byte("c"), now.Add(time.Hour), now.Add(time.Minute), 2), "PutSession once one expired")
	_, err = s.GetSession(ctx, "page", k1, now)
	IsKind(t, err, roamsign.ErrNotFound, "the expired session made room")

	noErr(t, s.DeleteSession(ctx, "page", k2), "DeleteSession")
	noErr(t, s.DeleteSession(ctx, "page", k2), "DeleteSession of none")
	noErr(t, s.PutSession(ctx, "sad", k1, []byte("v"), now.Add(time.Minute), now, 0), "PutSession")
	n, err := s.PurgeSessions(ctx, now.Add(time.Minute+time.Second))
	noErr(t, err, "PurgeSessions")
	if n != 1 {
		t.Fatalf("PurgeSessions deleted %d, want 1", n)
	}
	get("page", []byte("k3"), now, "c")

	for _, bad := range []struct {
		kind     string
		key, val []byte
	}{
		{"", k1, nil}, {"Sad", k1, nil}, {"sad;", k1, nil}, {string(bytes.Repeat([]byte("k"), store.MaxSessionKind+1)), k1, nil},
		{"sad", nil, nil}, {"sad", make([]byte, store.MaxSessionKey+1), nil}, {"sad", k1, make([]byte, store.MaxSessionValue+1)},
	} {
		IsKind(t, s.PutSession(ctx, bad.kind, bad.key, bad.val, now.Add(time.Minute), now, 0), roamsign.ErrInvalidInput, "PutSession refused")
	}
}

// SessionUpdateRace makes n goroutines, spread over the given stores,
// each take one slot of a session of n-1 slots with UpdateSession, and
// fails unless exactly n-1 succeed, each slot once: updates of one
// session are atomic across replicas.
func SessionUpdateRace(t *testing.T, n int, stores ...store.Store) {
	ctx := ctxT(t)
	now := time.Now()
	key := []byte("race-" + RandID())
	noErr(t, stores[0].PutSession(ctx, "sad", key, make([]byte, n-1), now.Add(time.Minute), now, 0), "PutSession")
	full := errors.New("no slot left")
	res := parallel(n, func(i int) [2]any {
		slot := -1
		err := stores[i%len(stores)].UpdateSession(ctx, "sad", key, now, func(v []byte) ([]byte, error) {
			slot = bytes.IndexByte(v, 0)
			if slot < 0 {
				return nil, full
			}
			v[slot] = 1
			return v, nil
		})
		return [2]any{slot, err}
	})
	taken := map[int]bool{}
	for _, r := range res {
		switch err, _ := r[1].(error); {
		case err == nil:
			slot := r[0].(int)
			if taken[slot] {
				t.Fatalf("slot %d taken twice", slot)
			}
			taken[slot] = true
		case errors.Is(err, full):
		default:
			t.Fatalf("UpdateSession: %v", err)
		}
	}
	if len(taken) != n-1 {
		t.Fatalf("%d concurrent updates of %d slots: %d took one", n, n-1, len(taken))
	}
	// TakeSession: one winner.
	wins := 0
	for _, r := range parallel(n, func(i int) error {
		_, err := stores[i%len(stores)].TakeSession(ctx, "sad", key, now)
		return err
	}) {
		if r == nil {
			wins++
		} else if !errors.Is(r, roamsign.ErrNotFound) {
			t.Fatalf("TakeSession: %v", r)
		}
	}
	if wins != 1 {
		t.Fatalf("%d concurrent TakeSession: %d won, want 1", n, wins)
	}
}

func testSessionUpdateRace(t *testing.T, s store.Store) { SessionUpdateRace(t, 40, s) }
