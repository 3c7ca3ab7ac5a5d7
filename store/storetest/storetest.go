package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
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
		{"LastUserEvent", testLastUserEvent},
		{"AuditInvalid", testAuditInvalid},
		{"AuditAppendRace", testAuditAppendRace},
		{"AuditCheckpoint", testAuditCheckpoint},
		{"AuditNoSecrets", testAuditNoSecrets},
		{"OTPSteps", testOTPSteps},
		{"OTPStepRace", testOTPStepRace},
		{"Sessions", testSessions},
		{"SessionUpdateRace", testSessionUpdateRace},
		{"Lock", testLock},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

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
	t.Run("SessionUpdateRace", func(t *testing.T) { a, b := open(t); SessionUpdateRace(t, 40, a, b) })
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
