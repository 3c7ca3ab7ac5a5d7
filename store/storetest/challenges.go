package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

func testChallengeRoundTrip(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	c := NewChallenge("u1", "hr")
	want := store.CloneChallenge(c)
	noErr(t, s.CreateChallenge(ctx, c), "CreateChallenge")
	got, err := s.GetChallenge(ctx, c.ID)
	noErr(t, err, "GetChallenge")
	eqTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	eqTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	eqTime(t, "ConsumedAt", got.ConsumedAt, time.Time{})
	if got.ID != want.ID || got.User != want.User || got.Host != want.Host || !bytes.Equal(got.Nonce, want.Nonce) ||
		!bytes.Equal(got.MAC, want.MAC) || got.HashList != want.HashList || got.Count != want.Count ||
		got.DataHeader != want.DataHeader || got.Channel != "" || got.SentTo != "" || got.Tries != 0 ||
		got.MaxTries != want.MaxTries || got.Consumed || got.Undeliverable {
		t.Fatalf("challenge round trip: got %+v, want %+v", got, want)
	}
	// The returned record is a copy.
	got.MAC[0] ^= 0xff
	again, _ := s.GetChallenge(ctx, c.ID)
	if !bytes.Equal(again.MAC, want.MAC) {
		t.Fatal("GetChallenge returned shared memory")
	}
	IsKind(t, s.CreateChallenge(ctx, NewChallengeWithID(c.ID)), roamsign.ErrConflict, "duplicate challenge id")
	_, err = s.GetChallenge(ctx, "missing")
	IsKind(t, err, roamsign.ErrNotFound, "GetChallenge missing")

	noErr(t, s.MarkDelivered(ctx, c.ID, roamsign.ChannelEmail, "s***@example.my"), "MarkDelivered")
	got, _ = s.GetChallenge(ctx, c.ID)
	if got.Channel != roamsign.ChannelEmail || got.SentTo != "s***@example.my" {
		t.Fatalf("MarkDelivered not stored: %q %q", got.Channel, got.SentTo)
	}
	IsKind(t, s.MarkDelivered(ctx, "missing", roamsign.ChannelEmail, "x"), roamsign.ErrNotFound, "MarkDelivered missing")
	IsKind(t, s.MarkDelivered(ctx, c.ID, "pigeon", "x"), roamsign.ErrInvalidInput, "MarkDelivered bad channel")
	IsKind(t, s.MarkUndeliverable(ctx, "missing"), roamsign.ErrNotFound, "MarkUndeliverable missing")
}

// NewChallengeWithID returns [NewChallenge] with a given id.
func NewChallengeWithID(id string) *roamsign.ChallengeRecord {
	c := NewChallenge("u1", "hr")
	c.ID = id
	return c
}

func testChallengeConsume(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	now := Base.Add(time.Minute)

	c := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, c), "create")
	n, err := s.TakeTry(ctx, c.ID)
	noErr(t, err, "TakeTry")
	if n != 1 {
		t.Fatalf("TakeTry = %d, want 1", n)
	}
	noErr(t, s.ConsumeChallenge(ctx, c.ID, now), "ConsumeChallenge")
	got, _ := s.GetChallenge(ctx, c.ID)
	if !got.Consumed || got.Tries != 1 {
		t.Fatalf("after consume: consumed=%v tries=%d", got.Consumed, got.Tries)
	}
	eqTime(t, "ConsumedAt", got.ConsumedAt, now)
	IsKind(t, s.ConsumeChallenge(ctx, c.ID, now), roamsign.ErrUsed, "second consume")
	_, err = s.TakeTry(ctx, c.ID)
	IsKind(t, err, roamsign.ErrUsed, "TakeTry after consume")
	IsKind(t, s.ConsumeChallenge(ctx, "missing", now), roamsign.ErrNotFound, "consume missing")
	_, err = s.TakeTry(ctx, "missing")
	IsKind(t, err, roamsign.ErrNotFound, "TakeTry missing")

	// Expiry is exclusive: at ExpiresAt it is expired.
	e := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, e), "create")
	IsKind(t, s.ConsumeChallenge(ctx, e.ID, e.ExpiresAt), roamsign.ErrExpired, "consume at expiry")
	noErr(t, s.ConsumeChallenge(ctx, e.ID, e.ExpiresAt.Add(-time.Microsecond)), "consume just before expiry")

	// MaxTries attempts, each taking its try before it is checked: the one
	// that took the last try may still consume; a further attempt gets no
	// try and changes nothing.
	l := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, l), "create")
	for i := 1; i <= l.MaxTries; i++ {
		n, err := s.TakeTry(ctx, l.ID)
		noErr(t, err, "TakeTry")
		if n != i {
			t.Fatalf("TakeTry = %d, want %d", n, i)
		}
	}
	_, err = s.TakeTry(ctx, l.ID)
	IsKind(t, err, roamsign.ErrLocked, "TakeTry beyond MaxTries")
	got, _ = s.GetChallenge(ctx, l.ID)
	if got.Tries != l.MaxTries {
		t.Fatalf("Tries = %d after a refused TakeTry, want %d", got.Tries, l.MaxTries)
	}
	noErr(t, s.ConsumeChallenge(ctx, l.ID, now), "consume by the attempt that took the last try")

	// Undeliverable challenges can never be consumed.
	u := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, u), "create")
	noErr(t, s.MarkUndeliverable(ctx, u.ID), "MarkUndeliverable")
	IsKind(t, s.ConsumeChallenge(ctx, u.ID, now), roamsign.ErrForbidden, "consume undeliverable")
	got, _ = s.GetChallenge(ctx, u.ID)
	if !got.Undeliverable || got.Consumed {
		t.Fatalf("undeliverable challenge state: %+v", got)
	}
}

func testChallengeInvalid(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	bad := map[string]func(*roamsign.ChallengeRecord){
		"no id":        func(c *roamsign.ChallengeRecord) { c.ID = "" },
		"long id":      func(c *roamsign.ChallengeRecord) { c.ID = strings.Repeat("a", store.MaxIDLen+1) },
		"no user":      func(c *roamsign.ChallengeRecord) { c.User = "" },
		"no host":      func(c *roamsign.ChallengeRecord) { c.Host = "" },
		"no expiry":    func(c *roamsign.ChallengeRecord) { c.ExpiresAt = time.Time{} },
		"no max tries": func(c *roamsign.ChallengeRecord) { c.MaxTries = 0 },
		"tries over":   func(c *roamsign.ChallengeRecord) { c.Tries = c.MaxTries + 1 },
		"huge header":  func(c *roamsign.ChallengeRecord) { c.DataHeader = strings.Repeat("x", store.MaxTextLen+1) },
		"bad channel":  func(c *roamsign.ChallengeRecord) { c.Channel = "fax" },
	}
	for name, mut := range bad {
		c := NewChallenge("u1", "hr")
		mut(c)
		IsKind(t, s.CreateChallenge(ctx, c), roamsign.ErrInvalidInput, name)
		if c.ID != "" {
			_, err := s.GetChallenge(ctx, c.ID)
			IsKind(t, err, roamsign.ErrNotFound, name+": nothing stored")
		}
	}
	IsKind(t, s.CreateChallenge(ctx, nil), roamsign.ErrInvalidInput, "nil challenge")
}

func testChallengePurge(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	mk := func(at time.Time) *roamsign.ChallengeRecord {
		c := NewChallenge("u1", "hr")
		c.CreatedAt, c.ExpiresAt = at, at.Add(5*time.Minute)
		noErr(t, s.CreateChallenge(ctx, c), "create")
		return c
	}
	old := mk(Base.Add(-time.Hour))
	kept := []*roamsign.ChallengeRecord{mk(Base), mk(Base.Add(time.Second))}
	n, err := s.PurgeChallenges(ctx, Base)
	noErr(t, err, "PurgeChallenges")
	if n != 1 {
		t.Fatalf("PurgeChallenges deleted %d, want 1", n)
	}
	_, err = s.GetChallenge(ctx, old.ID)
	IsKind(t, err, roamsign.ErrNotFound, "purged challenge")
	for _, c := range kept {
		_, err := s.GetChallenge(ctx, c.ID)
		noErr(t, err, "challenge not yet expired")
	}
}

// testIssueLimits walks IssueChallenge through each scope's limit and
// checks the wait each refusal carries: until the limit-th newest
// challenge of the full scope leaves the window.
func testIssueLimits(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	lim := roamsign.IssueLimits{Window: 15 * time.Minute, PerUser: 3, PerUserHost: 2, PerHost: 4}
	base := store.NormTime(Base)
	issue := func(user roamsign.UserID, host roamsign.HostID, at time.Duration) (*roamsign.ChallengeRecord, error) {
		c := NewChallenge(user, host)
		c.CreatedAt, c.ExpiresAt = base.Add(at), base.Add(at+5*time.Minute)
		return c, s.IssueChallenge(ctx, c, lim)
	}
	ok := func(user roamsign.UserID, host roamsign.HostID, at time.Duration) {
		t.Helper()
		_, err := issue(user, host, at)
		noErr(t, err, fmt.Sprintf("issue %s/%s at +%v", user, host, at))
	}
	refused := func(user roamsign.UserID, host roamsign.HostID, at, wait time.Duration) {
		t.Helper()
		c, err := issue(user, host, at)
		IsKind(t, err, roamsign.ErrRateLimited, fmt.Sprintf("issue %s/%s at +%v", user, host, at))
		if got, has := roamsign.RetryAfterOf(err); !has || got != wait {
			t.Fatalf("issue %s/%s at +%v: retry after %v (%v), want %v", user, host, at, got, has, wait)
		}
		_, err = s.GetChallenge(ctx, c.ID)
		IsKind(t, err, roamsign.ErrNotFound, "refused challenge stored")
	}
	ok("u1", "hr", 0)
	ok("u1", "hr", time.Minute)
	refused("u1", "hr", 2*time.Minute, 13*time.Minute) // user and host full: 2 since +0
	ok("u1", "finance", 2*time.Minute)
	refused("u1", "other", 3*time.Minute, 12*time.Minute) // user full: 3 since +0
	ok("u2", "hr", 3*time.Minute)
	ok("u3", "hr", 4*time.Minute)
	refused("u4", "hr", 5*time.Minute, 10*time.Minute)                                     // host full: 4 since +0
	refused("u1", "hr", 14*time.Minute, time.Minute)                                       // every scope waits for +0 to leave
	ok("u1", "hr", 15*time.Minute+time.Microsecond)                                        // +0 left: u1/hr +1m; u1 +1m, +2m; hr +1m, +3m, +4m
	refused("u1", "hr", 15*time.Minute+2*time.Microsecond, time.Minute-2*time.Microsecond) // full again until +1m leaves
	// Without limits IssueChallenge is CreateChallenge.
	_, err := issue("u1", "hr", 16*time.Minute)
	IsKind(t, err, roamsign.ErrRateLimited, "still limited")
	c := NewChallenge("u1", "hr")
	noErr(t, s.IssueChallenge(ctx, c, roamsign.IssueLimits{}), "no limits")
	IsKind(t, s.IssueChallenge(ctx, NewChallengeWithID(c.ID), roamsign.IssueLimits{}), roamsign.ErrConflict, "duplicate id")
	IsKind(t, s.IssueChallenge(ctx, NewChallenge("u1", "hr"), roamsign.IssueLimits{PerUser: 1}), roamsign.ErrInvalidInput, "limit without a window")
	z := NewChallenge("u1", "hr")
	z.CreatedAt = time.Time{}
	IsKind(t, s.IssueChallenge(ctx, z, lim), roamsign.ErrInvalidInput, "limit without a creation time")
}

// IssueRace issues n challenges for one user and host at once over the
// given stores with a per-user limit of limit (and as much again per
// user and host) and fails unless exactly limit are stored and the others
// were refused with a wait.
func IssueRace(t *testing.T, n, limit int, stores ...store.Store) {
	ctx := ctxT(t)
	user := roamsign.UserID("race-" + RandID())
	lim := roamsign.IssueLimits{Window: 15 * time.Minute, PerUser: limit, PerUserHost: limit}
	cs := make([]*roamsign.ChallengeRecord, n)
	for i := range cs {
		cs[i] = NewChallenge(user, "hr")
		cs[i].CreatedAt = Base.Add(time.Duration(i) * time.Microsecond)
	}
	errs := parallel(n, func(i int) error { return stores[i%len(stores)].IssueChallenge(ctx, cs[i], lim) })
	issued, limited := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			issued++
			_, gerr := stores[0].GetChallenge(ctx, cs[i].ID)
			noErr(t, gerr, "issued challenge")
		case errors.Is(err, roamsign.ErrRateLimited):
			limited++
			if d, ok := roamsign.RetryAfterOf(err); !ok || d <= 0 {
				t.Fatalf("rate-limit refusal without a wait: %v", err)
			}
		default:
			t.Fatalf("IssueChallenge: %v", err)
		}
	}
	if issued != limit || limited != n-limit {
		t.Fatalf("%d parallel issues with a limit of %d: %d issued, %d refused", n, limit, issued, limited)
	}
}

func testIssueRace(t *testing.T, s store.Store) { IssueRace(t, 20, 5, s) }

// ConsumeRace makes n goroutines consume one challenge, spread over the
// given stores, and fails unless exactly one wins and every other gets
// ErrUsed.
func ConsumeRace(t *testing.T, n int, stores ...store.Store) {
	ctx := ctxT(t)
	c := NewChallenge("u1", "hr")
	noErr(t, stores[0].CreateChallenge(ctx, c), "create")
	errs := parallel(n, func(i int) error {
		return stores[i%len(stores)].ConsumeChallenge(ctx, c.ID, Base.Add(time.Second))
	})
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, roamsign.ErrUsed):
		default:
			t.Fatalf("concurrent consume: unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d goroutines consumed one challenge: %d won, want exactly 1", n, wins)
	}
}

func testConsumeRace(t *testing.T, s store.Store) { ConsumeRace(t, 100, s) }

func testTakeTryCount(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	c := NewChallenge("u1", "hr")
	c.MaxTries = 1000
	noErr(t, s.CreateChallenge(ctx, c), "create")
	const n = 50
	res := parallel(n, func(int) [2]any {
		k, err := s.TakeTry(ctx, c.ID)
		return [2]any{k, err}
	})
	seen := map[int]bool{}
	for _, r := range res {
		if r[1] != nil {
			t.Fatalf("TakeTry: %v", r[1])
		}
		seen[r[0].(int)] = true
	}
	for i := 1; i <= n; i++ {
		if !seen[i] {
			t.Fatalf("concurrent TakeTry counts are not 1..%d: missing %d", n, i)
		}
	}
	got, _ := s.GetChallenge(ctx, c.ID)
	if got.Tries != n {
		t.Fatalf("Tries = %d, want %d", got.Tries, n)
	}
}

// TakeTryRace makes n goroutines take a try of one challenge of three
// tries over the given stores and fails unless exactly three get one and
// the rest get ErrLocked: parallel guesses never check more than MaxTries.
func TakeTryRace(t *testing.T, n int, stores ...store.Store) {
	ctx := ctxT(t)
	c := NewChallenge("u1", "hr")
	noErr(t, stores[0].CreateChallenge(ctx, c), "create")
	errs := parallel(n, func(i int) error {
		_, err := stores[i%len(stores)].TakeTry(ctx, c.ID)
		return err
	})
	took := 0
	for _, err := range errs {
		switch {
		case err == nil:
			took++
		case errors.Is(err, roamsign.ErrLocked):
		default:
			t.Fatalf("TakeTry: %v", err)
		}
	}
	got, _ := stores[0].GetChallenge(ctx, c.ID)
	if took != c.MaxTries || got.Tries != c.MaxTries {
		t.Fatalf("%d parallel TakeTry on %d tries: %d took one, Tries = %d", n, c.MaxTries, took, got.Tries)
	}
}

func testTakeTryRace(t *testing.T, s store.Store) { TakeTryRace(t, 50, s) }
