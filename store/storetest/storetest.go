package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// Factory returns a fresh, empty store for one test. The suite closes it.
type Factory func(t *testing.T) store.Store

// ReplicaFactory returns two stores backed by the same database (two
// replicas); the suite closes both.
type ReplicaFactory func(t *testing.T) (a, b store.Store)

// Base is the reference time of the suite: a local time with nanoseconds,
// so that normalisation to UTC microseconds is exercised.
var Base = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.FixedZone("MYT", 8*3600))

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// RandID returns a random URL-safe id.
func RandID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewChallenge returns a valid challenge for user and host, created at Base
// and expiring five minutes later.
func NewChallenge(user roamsign.UserID, host roamsign.HostID) *roamsign.ChallengeRecord {
	c := &roamsign.ChallengeRecord{
		ID:         RandID(),
		User:       user,
		Host:       host,
		Nonce:      make([]byte, 16),
		MAC:        make([]byte, 32),
		Count:      3,
		DataHeader: "INV-2026-0042",
		CreatedAt:  Base,
		ExpiresAt:  Base.Add(5 * time.Minute),
		MaxTries:   3,
	}
	_, _ = rand.Read(c.Nonce)
	_, _ = rand.Read(c.MAC)
	_, _ = rand.Read(c.HashList[:])
	return c
}

// NewUser returns a valid user record.
func NewUser(id roamsign.UserID) *roamsign.UserRecord {
	return &roamsign.UserRecord{
		ID:          id,
		Name:        "Siti Aminah binti Abdullah",
		Hosts:       []roamsign.HostID{"hr", "finance"},
		Media:       []roamsign.MediumKind{roamsign.MediumRoamingOTP},
		Email:       "siti@example.my",
		Devices:     []string{"dev-1"},
		KeyRef:      "0a1b2c",
		Chain:       [][]byte{{0x30, 0x82, 0x01}, {0x30, 0x82, 0x02}},
		PINVerifier: []byte("$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$dGFn"),
		CreatedAt:   Base,
		UpdatedAt:   Base,
	}
}

// NewTx returns a valid pending transaction bound to challenge c.
func NewTx(c *roamsign.ChallengeRecord) *roamsign.TransactionRecord {
	return &roamsign.TransactionRecord{
		ID:          RandID(),
		User:        c.User,
		Host:        c.Host,
		RequestID:   "req-" + RandID(),
		ChallengeID: c.ID,
		HashList:    c.HashList,
		Count:       c.Count,
		Form:        roamsign.OutputForm("raw"),
		State:       roamsign.TxPending,
		CreatedAt:   Base,
		UpdatedAt:   Base,
	}
}

// NewAudit returns an audit record for an event.
func NewAudit(ev roamsign.AuditEvent, user roamsign.UserID, txID string) *roamsign.AuditRecord {
	return &roamsign.AuditRecord{
		Time:          Base,
		Event:         ev,
		User:          user,
		Host:          "hr",
		DataHeader:    "INV-2026-0042",
		HashList:      bytes.Repeat([]byte{0xab}, 32),
		Count:         3,
		CertSerial:    "1f2e3d",
		Channel:       roamsign.ChannelEmail,
		Outcome:       "ok",
		TransactionID: txID,
		Detail:        "batch of 3 hashes",
	}
}

// IsKind fails the test unless err has the given kind.
func IsKind(t testing.TB, err error, k roamsign.Kind, what string) {
	t.Helper()
	if !errors.Is(err, k) {
		t.Fatalf("%s: got error %v (kind %v), want kind %v", what, err, roamsign.KindOf(err), k)
	}
}

func noErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eqTime(t testing.TB, what string, got, want time.Time) {
	t.Helper()
	w := store.NormTime(want)
	if !got.Equal(w) {
		t.Fatalf("%s: got %v, want %v", what, got, w)
	}
	if !got.IsZero() && got.Location() != time.UTC {
		t.Fatalf("%s: got location %v, want UTC", what, got.Location())
	}
}

// Run runs the conformance suite against stores from newStore.
func Run(t *testing.T, newStore Factory) {
	open := func(t *testing.T) store.Store {
		s := newStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"ChallengeRoundTrip", testChallengeRoundTrip},
		{"ChallengeConsume", testChallengeConsume},
		{"ChallengeInvalid", testChallengeInvalid},
		{"ChallengePurge", testChallengePurge},
		{"IssueLimits", testIssueLimits},
		{"IssueRace", testIssueRace},
		{"ConsumeRace", testConsumeRace},
		{"TakeTryCount", testTakeTryCount},
		{"TakeTryRace", testTakeTryRace},
		{"UserRoundTrip", testUserRoundTrip},
		{"UserUpdate", testUserUpdate},
		{"UserUpdateRace", testUserUpdateRace},
		{"UserList", testUserList},
		{"PINFailures", testPINFailures},
		{"PINFailureRace", testPINFailureRace},
		{"OTPBackoff", testOTPBackoff},
		{"OTPBackoffRace", testOTPBackoffRace},
		{"OTPBackoffResetRace", testOTPBackoffResetRace},
		{"TransactionLifecycle", testTransactionLifecycle},
		{"TransactionAtomicity", testTransactionAtomicity},
		{"TransactionExpire", testTransactionExpire},
		{"AuditChain", testAuditChain},
		{"AuditInvalid", testAuditInvalid},
		{"AuditAppendRace", testAuditAppendRace},
		{"AuditCheckpoint", testAuditCheckpoint},
		{"AuditNoSecrets", testAuditNoSecrets},
		{"OTPSteps", testOTPSteps},
		{"OTPStepRace", testOTPStepRace},
		{"Lock", testLock},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

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

// parallel runs fn n times concurrently, released together, and returns
// the results in completion order.
func parallel[T any](n int, fn func(i int) T) []T {
	var wg sync.WaitGroup
	start := make(chan struct{})
	out := make([]T, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

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

func eqTx(t testing.TB, got, want *roamsign.TransactionRecord) {
	t.Helper()
	eqTime(t, "tx CreatedAt", got.CreatedAt, want.CreatedAt)
	eqTime(t, "tx UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	g, w := *got, *want
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	for _, r := range []*roamsign.TransactionRecord{&g, &w} {
		if len(r.Items) == 0 {
			r.Items = nil
		}
		if len(r.Chain) == 0 {
			r.Chain = nil
		}
	}
	if fmt.Sprintf("%#v", g) != fmt.Sprintf("%#v", w) {
		t.Fatalf("transaction round trip:\n got %#v\nwant %#v", g, w)
	}
}

func auditCount(t testing.TB, s store.Store) int64 {
	t.Helper()
	seq, _, err := s.AuditHead(ctxT(t))
	noErr(t, err, "AuditHead")
	return seq
}

// ExpectUntouched fails unless a refused write left no trace: challenge
// challengeID is not consumed, the audit head is still at seq and, when
// txID is set, no transaction txID is stored.
func ExpectUntouched(t testing.TB, s store.Store, what, challengeID, txID string, seq int64) {
	t.Helper()
	ctx := ctxT(t)
	got, err := s.GetChallenge(ctx, challengeID)
	noErr(t, err, what+": GetChallenge")
	if got.Consumed {
		t.Fatalf("%s: challenge consumed by a refused write", what)
	}
	if txID != "" {
		_, err := s.GetTransaction(ctx, txID)
		IsKind(t, err, roamsign.ErrNotFound, what+": transaction stored")
	}
	if n := auditCount(t, s); n != seq {
		t.Fatalf("%s: audit head moved from %d to %d", what, seq, n)
	}
}

func testTransactionLifecycle(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	c := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, c), "create")
	tx := NewTx(c)
	want := store.CloneTransaction(tx)
	a := NewAudit(roamsign.AuditAuthorised, c.User, tx.ID)
	noErr(t, s.BeginTransaction(ctx, c.ID, Base.Add(time.Second), tx, a), "BeginTransaction")
	if a.Seq != 1 || len(a.Hash) != store.HashSize {
		t.Fatalf("BeginTransaction audit not chained: seq %d", a.Seq)
	}
	ch, _ := s.GetChallenge(ctx, c.ID)
	if !ch.Consumed {
		t.Fatal("BeginTransaction did not consume the challenge")
	}
	got, err := s.GetTransaction(ctx, tx.ID)
	noErr(t, err, "GetTransaction")
	eqTx(t, got, want)
	got, err = s.GetTransactionByRequest(ctx, tx.Host, tx.RequestID)
	noErr(t, err, "GetTransactionByRequest")
	eqTx(t, got, want)
	_, err = s.GetTransaction(ctx, "missing")
	IsKind(t, err, roamsign.ErrNotFound, "GetTransaction missing")
	_, err = s.GetTransactionByRequest(ctx, "other-host", tx.RequestID)
	IsKind(t, err, roamsign.ErrNotFound, "GetTransactionByRequest other host")

	fin := store.CloneTransaction(tx)
	fin.State = roamsign.TxSigned
	fin.Items = []roamsign.SignedItem{
		{Index: 0, Status: roamsign.ItemSigned, Signature: []byte{1, 2, 3}},
		{Index: 1, Status: roamsign.ItemFailed, Error: "invalid_input"},
	}
	fin.Chain = [][]byte{{0x30, 1}, {0x30, 2}}
	fin.SigAlg = "ECDSA-SHA256"
	fin.UpdatedAt = Base.Add(2 * time.Second)
	want = store.CloneTransaction(fin)
	noErr(t, s.FinishTransaction(ctx, fin, NewAudit(roamsign.AuditSigned, c.User, tx.ID)), "FinishTransaction")
	got, _ = s.GetTransaction(ctx, tx.ID)
	eqTx(t, got, want)
	IsKind(t, s.FinishTransaction(ctx, fin, NewAudit(roamsign.AuditSigned, c.User, tx.ID)), roamsign.ErrConflict, "finish twice")
	if n := auditCount(t, s); n != 2 {
		t.Fatalf("audit records = %d, want 2 (the failed finish must not append)", n)
	}
	missing := store.CloneTransaction(fin)
	missing.ID = "missing"
	IsKind(t, s.FinishTransaction(ctx, missing, NewAudit(roamsign.AuditSigned, c.User, "missing")), roamsign.ErrNotFound, "finish missing")
	pend := store.CloneTransaction(fin)
	pend.State = roamsign.TxPending
	IsKind(t, s.FinishTransaction(ctx, pend, NewAudit(roamsign.AuditSigned, c.User, tx.ID)), roamsign.ErrInvalidInput, "finish to pending")
	if _, err := store.VerifyAudit(ctx, s, store.VerifyOptions{}); err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
}

// testTransactionAtomicity proves that a BeginTransaction failing in the
// middle leaves nothing behind: the challenge unconsumed, no transaction and
// no audit record.
func testTransactionAtomicity(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	now := Base.Add(time.Second)
	c1 := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, c1), "create")
	tx1 := NewTx(c1)
	noErr(t, s.BeginTransaction(ctx, c1.ID, now, tx1, NewAudit(roamsign.AuditAuthorised, "u1", tx1.ID)), "first BeginTransaction")
	before := auditCount(t, s)

	check := func(what string, c *roamsign.ChallengeRecord, txID string) {
		t.Helper()
		ExpectUntouched(t, s, what, c.ID, txID, before)
	}

	// Duplicate (host, request id): the consume step has already happened
	// inside the database transaction when the insert fails.
	c2 := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, c2), "create")
	tx2 := NewTx(c2)
	tx2.RequestID = tx1.RequestID
	IsKind(t, s.BeginTransaction(ctx, c2.ID, now, tx2, NewAudit(roamsign.AuditAuthorised, "u1", tx2.ID)), roamsign.ErrConflict, "duplicate request id")
	check("duplicate request id", c2, tx2.ID)

	// Same request id on another host is fine.
	tx2b := NewTx(c2)
	tx2b.Host, tx2b.RequestID = "finance", tx1.RequestID
	c3 := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, c3), "create")

	// Duplicate transaction id.
	tx3 := NewTx(c3)
	tx3.ID = tx1.ID
	IsKind(t, s.BeginTransaction(ctx, c3.ID, now, tx3, NewAudit(roamsign.AuditAuthorised, "u1", tx3.ID)), roamsign.ErrConflict, "duplicate transaction id")
	check("duplicate transaction id", c3, "")

	// Invalid audit record: rejected before anything is written.
	tx4 := NewTx(c3)
	bad := NewAudit("", "u1", tx4.ID)
	IsKind(t, s.BeginTransaction(ctx, c3.ID, now, tx4, bad), roamsign.ErrInvalidInput, "invalid audit")
	check("invalid audit", c3, tx4.ID)

	// A used, expired or unknown challenge: no transaction, no audit.
	tx5 := NewTx(c1)
	IsKind(t, s.BeginTransaction(ctx, c1.ID, now, tx5, NewAudit(roamsign.AuditAuthorised, "u1", tx5.ID)), roamsign.ErrUsed, "used challenge")
	_, err := s.GetTransaction(ctx, tx5.ID)
	IsKind(t, err, roamsign.ErrNotFound, "tx for used challenge")
	tx5b := NewTx(c3)
	IsKind(t, s.BeginTransaction(ctx, c3.ID, c3.ExpiresAt, tx5b, NewAudit(roamsign.AuditAuthorised, "u1", tx5b.ID)), roamsign.ErrExpired, "expired challenge")
	check("expired challenge", c3, tx5b.ID)
	tx6 := NewTx(c3)
	IsKind(t, s.BeginTransaction(ctx, "missing", now, tx6, NewAudit(roamsign.AuditAuthorised, "u1", tx6.ID)), roamsign.ErrInvalidInput, "challenge id mismatch")
	tx6.ChallengeID = "missing"
	IsKind(t, s.BeginTransaction(ctx, "missing", now, tx6, NewAudit(roamsign.AuditAuthorised, "u1", tx6.ID)), roamsign.ErrNotFound, "unknown challenge")
	check("unknown challenge", c3, tx6.ID)

	noErr(t, s.BeginTransaction(ctx, c2.ID, now, tx2b, NewAudit(roamsign.AuditAuthorised, "u1", tx2b.ID)), "same request id on another host")
	if _, err := store.VerifyAudit(ctx, s, store.VerifyOptions{}); err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
}

func testTransactionExpire(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	mk := func(created time.Time) *roamsign.TransactionRecord {
		c := NewChallenge("u1", "hr")
		noErr(t, s.CreateChallenge(ctx, c), "create")
		tx := NewTx(c)
		tx.CreatedAt, tx.UpdatedAt = created, created
		noErr(t, s.BeginTransaction(ctx, c.ID, Base, tx, NewAudit(roamsign.AuditAuthorised, "u1", tx.ID)), "BeginTransaction")
		return tx
	}
	oldPending := mk(Base.Add(-time.Hour))
	newPending := mk(Base)
	oldDone := mk(Base.Add(-48 * time.Hour))
	oldDone.State, oldDone.UpdatedAt = roamsign.TxSigned, Base.Add(-47*time.Hour)
	noErr(t, s.FinishTransaction(ctx, oldDone, NewAudit(roamsign.AuditSigned, "u1", oldDone.ID)), "finish")
	newDone := mk(Base.Add(-time.Minute))
	newDone.State, newDone.UpdatedAt = roamsign.TxFailed, Base
	newDone.Error = "unavailable"
	noErr(t, s.FinishTransaction(ctx, newDone, NewAudit(roamsign.AuditSignFailed, "u1", newDone.ID)), "finish")

	failed, deleted, err := s.ExpireTransactions(ctx, Base.Add(-time.Minute), Base.Add(-24*time.Hour))
	noErr(t, err, "ExpireTransactions")
	if failed != 1 || deleted != 1 {
		t.Fatalf("ExpireTransactions = %d failed, %d deleted; want 1, 1", failed, deleted)
	}
	got, _ := s.GetTransaction(ctx, oldPending.ID)
	if got.State != roamsign.TxFailed || got.Error != roamsign.ErrExpired.Code() {
		t.Fatalf("expired pending tx: state %q error %q", got.State, got.Error)
	}
	got, _ = s.GetTransaction(ctx, newPending.ID)
	if got.State != roamsign.TxPending {
		t.Fatalf("recent pending tx changed to %q", got.State)
	}
	_, err = s.GetTransaction(ctx, oldDone.ID)
	IsKind(t, err, roamsign.ErrNotFound, "retention-deleted tx")
	_, err = s.GetTransactionByRequest(ctx, oldDone.Host, oldDone.RequestID)
	IsKind(t, err, roamsign.ErrNotFound, "retention-deleted tx by request")
	if _, err := s.GetTransaction(ctx, newDone.ID); err != nil {
		t.Fatalf("recent finished tx deleted: %v", err)
	}
	// The expired transaction has its terminal audit record, in a chain
	// that still verifies; the one still pending has none.
	var closing []*roamsign.AuditRecord
	noErr(t, s.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		if a.Event == roamsign.AuditSignFailed && a.Outcome == roamsign.ErrExpired.Code() {
			c := *a
			closing = append(closing, &c)
		}
		return nil
	}), "ScanAudit")
	if len(closing) != 1 || closing[0].TransactionID != oldPending.ID || closing[0].User != oldPending.User ||
		closing[0].Host != oldPending.Host || closing[0].Count != oldPending.Count || !bytes.Equal(closing[0].HashList, oldPending.HashList[:]) {
		t.Fatalf("terminal audit records of expired transactions: %+v", closing)
	}
	if _, err := store.VerifyAudit(ctx, s, store.VerifyOptions{}); err != nil {
		t.Fatalf("VerifyAudit after ExpireTransactions: %v", err)
	}
}

// SeedAudit appends n audit records and returns them as appended.
func SeedAudit(t testing.TB, s store.Store, n int) []*roamsign.AuditRecord {
	t.Helper()
	ctx := ctxT(t)
	out := make([]*roamsign.AuditRecord, 0, n)
	for i := range n {
		a := NewAudit(roamsign.AuditOTPRequested, "u1", fmt.Sprintf("tx-%d", i))
		a.Time = Base.Add(time.Duration(i) * time.Millisecond)
		noErr(t, s.AppendAudit(ctx, a), "AppendAudit")
		out = append(out, a)
	}
	return out
}

// ExpectBreak fails unless VerifyAudit reports a break at seq with reason.
func ExpectBreak(t testing.TB, s store.AuditScanner, seq int64, reason store.BreakReason) {
	t.Helper()
	_, err := store.VerifyAudit(ctxT(t), s, store.VerifyOptions{})
	var brk *store.ChainBreakError
	if !errors.As(err, &brk) {
		t.Fatalf("VerifyAudit after tampering: got %v, want a chain break at seq %d (%s)", err, seq, reason)
	}
	if !errors.Is(err, roamsign.ErrInvalidSignature) {
		t.Fatalf("chain break is not ErrInvalidSignature: %v", err)
	}
	if brk.Seq != seq || brk.Reason != reason {
		t.Fatalf("VerifyAudit break = seq %d (%s), want seq %d (%s): %v", brk.Seq, brk.Reason, seq, reason, err)
	}
}

func testAuditChain(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	res, err := store.VerifyAudit(ctx, s, store.VerifyOptions{})
	noErr(t, err, "VerifyAudit empty")
	if res.Records != 0 {
		t.Fatalf("empty log has %d records", res.Records)
	}
	recs := SeedAudit(t, s, 5)
	for i, a := range recs {
		if a.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d", i, a.Seq)
		}
		prev := store.ZeroHash()
		if i > 0 {
			prev = recs[i-1].Hash
		}
		if !bytes.Equal(a.PrevHash, prev) || !bytes.Equal(a.Hash, store.AuditHash(a)) {
			t.Fatalf("record %d not chained", i)
		}
	}
	// The time was normalised before hashing and reads back equal.
	var got []*roamsign.AuditRecord
	noErr(t, s.ScanAudit(ctx, 3, func(a *roamsign.AuditRecord) error {
		got = append(got, store.CloneAudit(a))
		return nil
	}), "ScanAudit")
	if len(got) != 3 || got[0].Seq != 3 || got[2].Seq != 5 {
		t.Fatalf("ScanAudit from 3 returned %d records", len(got))
	}
	for i, g := range got {
		w := recs[i+2]
		eqTime(t, "audit Time", g.Time, w.Time)
		g.Time, w.Time = time.Time{}, time.Time{}
		if fmt.Sprintf("%#v", *g) != fmt.Sprintf("%#v", *w) {
			t.Fatalf("audit round trip:\n got %#v\nwant %#v", *g, *w)
		}
	}
	stop := errors.New("stop")
	n := 0
	err = s.ScanAudit(ctx, 1, func(*roamsign.AuditRecord) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("ScanAudit did not stop on error: %v after %d", err, n)
	}
	res, err = store.VerifyAudit(ctx, s, store.VerifyOptions{})
	noErr(t, err, "VerifyAudit")
	if res.Records != 5 || res.HeadSeq != 5 || !bytes.Equal(res.HeadHash, recs[4].Hash) {
		t.Fatalf("VerifyAudit = %+v", res)
	}
	_, err = store.VerifyAudit(ctx, s, store.VerifyOptions{ExpectHead: 6})
	var brk *store.ChainBreakError
	if !errors.As(err, &brk) || brk.Reason != store.BreakTruncated {
		t.Fatalf("VerifyAudit ExpectHead beyond the log: %v", err)
	}
	// A zero time takes the store's clock.
	a := NewAudit(roamsign.AuditPINSet, "u1", "")
	a.Time = time.Time{}
	noErr(t, s.AppendAudit(ctx, a), "AppendAudit zero time")
	if a.Time.IsZero() || a.Time.Location() != time.UTC {
		t.Fatalf("zero audit time not filled: %v", a.Time)
	}
}

func testAuditInvalid(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	for name, a := range map[string]*roamsign.AuditRecord{
		"nil":         nil,
		"no event":    {Time: Base},
		"long detail": {Time: Base, Event: roamsign.AuditSigned, Detail: strings.Repeat("d", store.MaxAuditDetail+1)},
		"long digest": {Time: Base, Event: roamsign.AuditSigned, HashList: make([]byte, store.MaxAuditHash+1)},
	} {
		IsKind(t, s.AppendAudit(ctx, a), roamsign.ErrInvalidInput, name)
	}
	if n := auditCount(t, s); n != 0 {
		t.Fatalf("rejected audit records were stored: %d", n)
	}
}

// AuditAppendRace appends concurrently from the given stores and verifies
// the chain is gap-free and valid.
func AuditAppendRace(t *testing.T, workers, each int, stores ...store.Store) {
	ctx := ctxT(t)
	errs := parallel(workers, func(w int) error {
		s := stores[w%len(stores)]
		for i := range each {
			if err := s.AppendAudit(ctx, NewAudit(roamsign.AuditSigned, "u1", fmt.Sprintf("w%d-%d", w, i))); err != nil {
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		noErr(t, err, "concurrent AppendAudit")
	}
	for _, s := range stores {
		res, err := store.VerifyAudit(ctx, s, store.VerifyOptions{})
		noErr(t, err, "VerifyAudit after concurrent appends")
		if res.Records != int64(workers*each) {
			t.Fatalf("VerifyAudit saw %d records, want %d", res.Records, workers*each)
		}
	}
}

func testAuditAppendRace(t *testing.T, s store.Store) { AuditAppendRace(t, 8, 25, s) }

func testAuditCheckpoint(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	keys := TestKeys(t)
	cp, err := s.AppendCheckpoint(ctx, store.Checkpoint{Signer: keys[0], KeyID: "audit-1"})
	noErr(t, err, "AppendCheckpoint on empty log")
	if cp.Seq != 1 || cp.Event != roamsign.AuditCheckpoint {
		t.Fatalf("checkpoint record: %+v", cp)
	}
	for _, k := range keys {
		SeedAudit(t, s, 3)
		_, err := s.AppendCheckpoint(ctx, store.Checkpoint{Signer: k, Time: Base})
		noErr(t, err, "AppendCheckpoint")
	}
	for i, k := range keys {
		if i == 0 {
			continue
		}
		// Only one key signed all checkpoints here: the others fail.
		_, err := store.VerifyAudit(ctx, s, store.VerifyOptions{CheckpointKey: k.Public()})
		var brk *store.ChainBreakError
		if !errors.As(err, &brk) || brk.Reason != store.BreakCheckpoint {
			t.Fatalf("checkpoint under another key: %v", err)
		}
	}
	_, err = s.AppendCheckpoint(ctx, store.Checkpoint{})
	IsKind(t, err, roamsign.ErrInvalidInput, "checkpoint without signer")
	one := keys[0]
	var seqs []int64
	noErr(t, s.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		if a.Event == roamsign.AuditCheckpoint {
			seqs = append(seqs, a.Seq)
			err := store.VerifyCheckpoint(a, one.Public())
			signedByOne := a.Seq == 1 || a.Seq == 5
			if (err == nil) != signedByOne {
				t.Errorf("checkpoint seq %d under key 0: %v", a.Seq, err)
			}
		}
		return nil
	}), "ScanAudit")
	if len(seqs) != 1+len(keys) {
		t.Fatalf("checkpoints at %v", seqs)
	}
	res, err := store.VerifyAudit(ctx, s, store.VerifyOptions{})
	noErr(t, err, "VerifyAudit without key")
	if res.Checkpoints != len(seqs) {
		t.Fatalf("VerifyAudit counted %d checkpoints, want %d", res.Checkpoints, len(seqs))
	}
}

// testAuditNoSecrets drives a full sign flow and checks no audit field
// carries the challenge's nonce or MAC in any common encoding.
func testAuditNoSecrets(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	c := NewChallenge("u1", "hr")
	noErr(t, s.CreateChallenge(ctx, c), "create")
	tx := NewTx(c)
	noErr(t, s.BeginTransaction(ctx, c.ID, Base, tx, NewAudit(roamsign.AuditAuthorised, "u1", tx.ID)), "BeginTransaction")
	tx.State = roamsign.TxSigned
	noErr(t, s.FinishTransaction(ctx, tx, NewAudit(roamsign.AuditSigned, "u1", tx.ID)), "FinishTransaction")
	var secrets []string
	for _, b := range [][]byte{c.MAC, c.Nonce} {
		secrets = append(secrets, string(b), hex.EncodeToString(b), base64.StdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b))
	}
	var n atomic.Int64
	noErr(t, s.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		n.Add(1)
		blob := fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%s|%s|%s", a.Event, a.User, a.Host, a.DataHeader, a.HashList, a.CertSerial, a.Channel, a.Outcome, a.TransactionID, a.Detail)
		for _, sec := range secrets {
			if strings.Contains(blob, sec) {
				t.Errorf("audit record %d carries a challenge secret", a.Seq)
			}
		}
		return nil
	}), "ScanAudit")
	if n.Load() != 2 {
		t.Fatalf("audit records = %d, want 2", n.Load())
	}
}

func testClose(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	noErr(t, s.Ping(ctx), "Ping")
	noErr(t, s.Close(), "Close")
	noErr(t, s.Close(), "second Close")
	IsKind(t, s.Ping(ctx), roamsign.ErrClosed, "Ping after Close")
	IsKind(t, s.CreateChallenge(ctx, NewChallenge("u1", "hr")), roamsign.ErrClosed, "CreateChallenge after Close")
	_, err := s.GetUser(ctx, "u1")
	IsKind(t, err, roamsign.ErrClosed, "GetUser after Close")
	IsKind(t, s.AppendAudit(ctx, NewAudit(roamsign.AuditSigned, "u1", "")), roamsign.ErrClosed, "AppendAudit after Close")
	IsKind(t, s.ScanAudit(ctx, 1, func(*roamsign.AuditRecord) error { return nil }), roamsign.ErrClosed, "ScanAudit after Close")
}

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

// RunReplicas runs the multi-replica part of the suite: two stores on one
// database must behave as one.
func RunReplicas(t *testing.T, newPair ReplicaFactory) {
	open := func(t *testing.T) (store.Store, store.Store) {
		a, b := newPair(t)
		t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
		return a, b
	}
	t.Run("ConsumeRace", func(t *testing.T) { a, b := open(t); ConsumeRace(t, 100, a, b) })
	t.Run("PINFailureRace", func(t *testing.T) { a, b := open(t); PINFailureRace(t, 40, 7, a, b) })
	t.Run("AuditAppendRace", func(t *testing.T) { a, b := open(t); AuditAppendRace(t, 8, 20, a, b) })
	t.Run("OTPStepRace", func(t *testing.T) { a, b := open(t); OTPStepRace(t, 50, a, b) })
	t.Run("IssueRace", func(t *testing.T) { a, b := open(t); IssueRace(t, 20, 5, a, b) })
	t.Run("TakeTryRace", func(t *testing.T) { a, b := open(t); TakeTryRace(t, 50, a, b) })
	t.Run("OTPBackoffRace", func(t *testing.T) { a, b := open(t); OTPBackoffRace(t, 20, 5, a, b) })
	t.Run("OTPBackoffResetRace", func(t *testing.T) { a, b := open(t); OTPBackoffResetRace(t, 16, a, b) })
	t.Run("LockTurns", func(t *testing.T) { a, b := open(t); LockTurns(t, 8, a, b) })
	t.Run("TransactionAcrossReplicas", func(t *testing.T) {
		a, b := open(t)
		ctx := ctxT(t)
		c := NewChallenge("u1", "hr")
		noErr(t, a.CreateChallenge(ctx, c), "create on a")
		tx := NewTx(c)
		// Both replicas try to begin a transaction on the same challenge.
		errs := parallel(2, func(i int) error {
			s := []store.Store{a, b}[i]
			t2 := store.CloneTransaction(tx)
			t2.ID = fmt.Sprintf("%s-%d", tx.ID, i)
			t2.RequestID = fmt.Sprintf("%s-%d", tx.RequestID, i)
			return s.BeginTransaction(ctx, c.ID, Base, t2, NewAudit(roamsign.AuditAuthorised, "u1", t2.ID))
		})
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else if !errors.Is(err, roamsign.ErrUsed) {
				t.Fatalf("BeginTransaction: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d replicas began a transaction on one challenge", wins)
		}
		if n := auditCount(t, b); n != 1 {
			t.Fatalf("audit records = %d, want 1", n)
		}
	})
}
