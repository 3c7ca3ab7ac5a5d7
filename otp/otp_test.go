package otp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/leakcheck"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/otp/otptest"
)

const testUser roamsign.UserID = "900101145678"

var testKey = bytes.Repeat([]byte{0x42}, 32)

type env struct {
	m     *otp.Manager
	store *otptest.Store
	app   *otptest.Capture
	email *otptest.Capture
	clock *otptest.Clock
	logs  *leakcheck.Buffer
	errs  []error // every error returned, for the no-OTP-in-errors check
	otps  []string
}

func newEnv(t testing.TB, mod func(*otp.Config)) *env {
	t.Helper()
	e := &env{
		store: otptest.NewStore(&roamsign.UserRecord{
			ID: testUser, Name: "Aminah", Hosts: []roamsign.HostID{"hr"},
			Email: "aminah@agency.gov.my", Devices: []string{"dev-1234567"},
		}),
		app:   &otptest.Capture{Ch: roamsign.ChannelApp},
		email: &otptest.Capture{Ch: roamsign.ChannelEmail},
		clock: otptest.NewClock(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)),
		logs:  &leakcheck.Buffer{},
	}
	key, err := otp.NewHMACKey(testKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := otp.Config{
		Store:    e.store,
		Key:      key,
		Delivery: &otp.Delivery{App: e.app, Email: e.email, Logger: e.logs.TextLogger()},
		Now:      e.clock.Now,
		Logger:   e.logs.Logger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	e.m, err = otp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func hashes(s ...string) []roamsign.Hash {
	var hs []roamsign.Hash
	for _, x := range s {
		hs = append(hs, roamsign.NewHash(roamsign.SHA256, []byte(x)))
	}
	return hs
}

// issue issues a challenge and returns it with the delivered OTP.
func (e *env) issue(t testing.TB, hs []roamsign.Hash) (*otp.Challenge, string) {
	t.Helper()
	c, err := e.m.Issue(context.Background(), otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs, DataHeader: "DOC-1/900101145678"})
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	msg, ok := e.app.Last()
	if !ok || msg.ChallengeID != c.ID {
		t.Fatal("no message captured")
	}
	code := msg.OTP.Reveal()
	e.otps = append(e.otps, code)
	return c, code
}

func (e *env) verify(c *otp.Challenge, nonce []byte, code string, hs []roamsign.Hash) error {
	_, err := e.m.Verify(context.Background(), otp.VerifyRequest{ID: c.ID, Nonce: nonce, OTP: roamsign.Secret(code), Hashes: hs})
	if err != nil {
		e.errs = append(e.errs, err)
	}
	return err
}

// wrong returns a 6-digit OTP different from code.
func wrong(code string, i int) string {
	for {
		g := fmt.Sprintf("%06d", i%1_000_000)
		if g != code {
			return g
		}
		i++
	}
}

func TestIssueAndVerify(t *testing.T) {
	e := newEnv(t, nil)
	hs := hashes("a", "b")
	c, code := e.issue(t, hs)
	if len(c.ID) < 22 || len(c.Nonce) < 16 || len(code) != 6 || len(c.VerificationCode) != 4 {
		t.Fatalf("bad challenge %+v", c)
	}
	if c.Channel != roamsign.ChannelApp || c.SentTo == "" {
		t.Fatalf("channel %q sentTo %q", c.Channel, c.SentTo)
	}
	if !c.ExpiresAt.Equal(e.clock.Now().Add(otp.DefaultTTL)) {
		t.Fatalf("expiry %v", c.ExpiresAt)
	}
	rec, _ := e.store.GetChallenge(context.Background(), c.ID)
	if bytes.Contains(rec.MAC, []byte(code)) || rec.Channel != roamsign.ChannelApp {
		t.Fatalf("stored record %+v", rec)
	}
	if err := e.verify(c, c.Nonce, code, hs); err != nil {
		t.Fatalf("verify: %v", err)
	}
	// Reused OTP.
	err := e.verify(c, c.Nonce, code, hs)
	if !errors.Is(err, otp.ErrAlreadyUsed) || !errors.Is(err, roamsign.ErrUsed) {
		t.Fatalf("reuse: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	hsA, hsB := hashes("A"), hashes("B")
	cases := []struct {
		name  string
		run   func(e *env, c *otp.Challenge, code string) error
		want  error
		kind  roamsign.Kind
		after error // what the correct submission gets afterwards (nil: success)
	}{
		{"hash A used for hash B", func(e *env, c *otp.Challenge, code string) error {
			return e.verify(c, c.Nonce, code, hsB)
		}, otp.ErrHashMismatch, roamsign.ErrAuthorization, nil},
		{"hash order swapped", func(e *env, c *otp.Challenge, code string) error {
			return e.verify(c, c.Nonce, code, append(hashes("x"), hsA...))
		}, otp.ErrHashMismatch, roamsign.ErrAuthorization, nil},
		{"wrong nonce", func(e *env, c *otp.Challenge, code string) error {
			n := bytes.Clone(c.Nonce)
			n[0] ^= 1
			return e.verify(c, n, code, hsA)
		}, otp.ErrWrongNonce, roamsign.ErrAuthorization, nil},
		{"nonce of another challenge", func(e *env, c *otp.Challenge, code string) error {
			e.clock.Advance(time.Second)
			c2, _ := e.issue(t, hsA)
			return e.verify(c, c2.Nonce, code, hsA)
		}, otp.ErrWrongNonce, roamsign.ErrAuthorization, nil},
		{"wrong otp", func(e *env, c *otp.Challenge, code string) error {
			return e.verify(c, c.Nonce, wrong(code, 123456), hsA)
		}, otp.ErrWrongOTP, roamsign.ErrAuthorization, nil},
		{"expired", func(e *env, c *otp.Challenge, code string) error {
			e.clock.Advance(otp.DefaultTTL)
			return e.verify(c, c.Nonce, code, hsA)
		}, otp.ErrExpired, roamsign.ErrExpired, otp.ErrExpired},
		{"too many tries", func(e *env, c *otp.Challenge, code string) error {
			for i := 0; i < otp.DefaultMaxTries; i++ {
				if err := e.verify(c, c.Nonce, wrong(code, i), hsA); !errors.Is(err, otp.ErrWrongOTP) {
					t.Fatalf("try %d: %v", i, err)
				}
			}
			return e.verify(c, c.Nonce, code, hsA)
		}, otp.ErrTooManyTries, roamsign.ErrExpired, otp.ErrTooManyTries},
		{"unknown challenge", func(e *env, c *otp.Challenge, code string) error {
			_, err := e.m.Verify(ctx, otp.VerifyRequest{ID: "nope", Nonce: c.Nonce, OTP: roamsign.Secret(code), Hashes: hsA})
			return err
		}, roamsign.ErrNotFound, roamsign.ErrNotFound, nil},
		{"otp not digits", func(e *env, c *otp.Challenge, code string) error {
			return e.verify(c, c.Nonce, "12a456", hsA)
		}, roamsign.ErrInvalidInput, roamsign.ErrInvalidInput, nil},
		{"replayed after success", func(e *env, c *otp.Challenge, code string) error {
			if err := e.verify(c, c.Nonce, code, hsA); err != nil {
				t.Fatal(err)
			}
			return e.verify(c, c.Nonce, code, hsA)
		}, otp.ErrAlreadyUsed, roamsign.ErrUsed, otp.ErrAlreadyUsed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			c, code := e.issue(t, hsA)
			err := tc.run(e, c, code)
			if !errors.Is(err, tc.want) || !errors.Is(err, tc.kind) || roamsign.KindOf(err) != tc.kind {
				t.Fatalf("got %v (kind %v), want %v / %v", err, roamsign.KindOf(err), tc.want, tc.kind)
			}
			err = e.verify(c, c.Nonce, code, hsA)
			if tc.after == nil && err != nil {
				t.Fatalf("correct submission afterwards: %v", err)
			}
			if tc.after != nil && !errors.Is(err, tc.after) {
				t.Fatalf("correct submission afterwards: %v, want %v", err, tc.after)
			}
			noOTPLeak(t, e)
		})
	}
}

// noOTPLeak checks that no OTP issued in e appears in a log line or an
// error string (as a whole token: see package leakcheck).
func noOTPLeak(t *testing.T, e *env) {
	t.Helper()
	logs := e.logs.String()
	if logs == "" {
		t.Fatal("no logs captured")
	}
	leakcheck.Check(t, "the logs", logs, e.otps...)
	for _, err := range e.errs {
		leakcheck.Check(t, "an error", fmt.Sprintf("%v\n%+v\n%#v", err, err, err), e.otps...)
	}
}

func TestParallelCorrectSubmissions(t *testing.T) {
	e := newEnv(t, nil)
	hs := hashes("doc")
	c, code := e.issue(t, hs)
	var ok, used atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.m.Verify(context.Background(), otp.VerifyRequest{ID: c.ID, Nonce: c.Nonce, OTP: roamsign.Secret(code), Hashes: hs})
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, otp.ErrAlreadyUsed), errors.Is(err, otp.ErrTooManyTries):
				// Losers see the challenge consumed, or find every attempt
				// ticket taken by submissions still in flight.
				used.Add(1)
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 1 || used.Load() != 99 {
		t.Fatalf("successes %d, refused %d; want 1 and 99", ok.Load(), used.Load())
	}
	_, err := e.store.GetOTPBackoff(context.Background(), testUser, "hr")
	require.ErrorIs(t, err, roamsign.ErrNotFound, "correct submissions left a failure count")
}

// TestParallelGuesses fires 100 wrong guesses at one challenge at once: no
// more than MaxTries of them may be compared, so at most MaxTries count as
// wrong OTPs and the rest are refused as too many tries.
func TestParallelGuesses(t *testing.T) {
	e := newEnv(t, func(c *otp.Config) { c.Backoff.After = 1000 })
	hs := hashes("doc")
	c, code := e.issue(t, hs)
	var wrongOTP, tooMany atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.m.Verify(context.Background(), otp.VerifyRequest{ID: c.ID, Nonce: c.Nonce, OTP: roamsign.Secret(wrong(code, i)), Hashes: hs})
			switch {
			case errors.Is(err, otp.ErrWrongOTP):
				wrongOTP.Add(1)
			case errors.Is(err, otp.ErrTooManyTries):
				tooMany.Add(1)
			default:
				t.Errorf("unexpected: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wrongOTP.Load() != otp.DefaultMaxTries || tooMany.Load() != 100-otp.DefaultMaxTries {
		t.Fatalf("compared %d guesses (want %d), refused %d", wrongOTP.Load(), otp.DefaultMaxTries, tooMany.Load())
	}
	if err := e.verify(c, c.Nonce, code, hs); !errors.Is(err, otp.ErrTooManyTries) {
		t.Fatalf("correct OTP after the tries: %v", err)
	}
}

// TestBruteForce: a host guessing one user's OTPs as fast as the limits
// allow for a day compares a few dozen guesses, ever more slowly, and is
// never locked out for good: after waiting, the right OTP works.
func TestBruteForce(t *testing.T) {
	e := newEnv(t, nil)
	hs := hashes("doc")
	c, code := e.issue(t, hs)
	end := e.clock.Now().Add(24 * time.Hour)
	compared, waits := 0, 0
	for i := 0; e.clock.Now().Before(end); i++ {
		err := e.verify(c, c.Nonce, wrong(code, i), hs)
		if d, ok := roamsign.RetryAfterOf(err); ok {
			// Backing off, or no OTP to be had yet: wait as told.
			require.ErrorIs(t, err, roamsign.ErrRateLimited)
			e.clock.Advance(d)
			waits++
			continue
		}
		switch {
		case errors.Is(err, otp.ErrWrongOTP):
			compared++
		case errors.Is(err, otp.ErrTooManyTries), errors.Is(err, otp.ErrExpired):
			nc, err := e.m.Issue(context.Background(), otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs})
			if d, ok := roamsign.RetryAfterOf(err); ok {
				e.clock.Advance(d)
				continue
			}
			require.NoError(t, err)
			m, _ := e.app.Last()
			c, code = nc, m.OTP.Reveal()
			e.otps = append(e.otps, code)
		default:
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	// 5 free, then waits of 1, 2, 4, …, 32 minutes and hourly ones.
	require.Greater(t, waits, 0)
	require.GreaterOrEqual(t, compared, 5+6+20, "guesses stopped: a lock, not a back-off")
	require.LessOrEqual(t, compared, 5+6+24, "guesses compared in a day")
	b, err := e.store.GetOTPBackoff(context.Background(), testUser, "hr")
	require.NoError(t, err)
	e.clock.Advance(b.Until.Sub(e.clock.Now()))
	e.clock.Advance(otp.DefaultRateWindow)
	c, code = e.issue(t, hs)
	require.NoError(t, e.verify(c, c.Nonce, code, hs), "the right OTP after the wait")
	noOTPLeak(t, e)
}

// TestFailuresSurviveNewChallengeAndResetOnSuccess: the count of a user's
// wrong OTPs from a host is not reset by a new challenge, only by a right
// OTP.
func TestFailuresSurviveNewChallengeAndResetOnSuccess(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	hs := hashes("doc")
	c, code := e.issue(t, hs)
	require.Error(t, e.verify(c, c.Nonce, wrong(code, 1), hs))
	require.Error(t, e.verify(c, c.Nonce, wrong(code, 2), hs))
	c2, code2 := e.issue(t, hs)
	b, err := e.store.GetOTPBackoff(ctx, testUser, "hr")
	require.NoError(t, err)
	require.Equal(t, 2, b.Failures, "failures after a new challenge")
	require.NoError(t, e.verify(c2, c2.Nonce, code2, hs))
	_, err = e.store.GetOTPBackoff(ctx, testUser, "hr")
	require.ErrorIs(t, err, roamsign.ErrNotFound, "failures after success")
}

// TestBindingFailuresCountTriesNotUser: a wrong nonce or other hashes use
// up the challenge's attempts but are not OTP guesses, so they do not count
// against the user; a wrong OTP counts against both.
func TestBindingFailuresCountTriesNotUser(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	hs := hashes("doc")
	c, code := e.issue(t, hs)
	bad := bytes.Clone(c.Nonce)
	bad[3] ^= 0x80
	if err := e.verify(c, bad, code, hs); err == nil {
		t.Fatal("wrong nonce accepted")
	}
	if err := e.verify(c, c.Nonce, code, hashes("other")); err == nil {
		t.Fatal("other hashes accepted")
	}
	rec, _ := e.store.GetChallenge(ctx, c.ID)
	require.Equal(t, 2, rec.Tries)
	_, err := e.store.GetOTPBackoff(ctx, testUser, "hr")
	require.ErrorIs(t, err, roamsign.ErrNotFound, "binding failures counted as OTP failures")
	require.Error(t, e.verify(c, c.Nonce, wrong(code, 5), hs), "wrong OTP accepted")
	b, err := e.store.GetOTPBackoff(ctx, testUser, "hr")
	require.NoError(t, err)
	require.Equal(t, 1, b.Failures)
	if err := e.verify(c, c.Nonce, code, hs); !errors.Is(err, otp.ErrTooManyTries) {
		t.Fatalf("fourth attempt: %v", err)
	}
	noOTPLeak(t, e)
}

func TestRateLimits(t *testing.T) {
	e := newEnv(t, func(c *otp.Config) { c.UserRate = 3 })
	hs := hashes("doc")
	for i := 0; i < 3; i++ {
		e.issue(t, hs)
	}
	_, err := e.m.Issue(context.Background(), otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs})
	if !errors.Is(err, otp.ErrRateLimited) || !errors.Is(err, roamsign.ErrRateLimited) {
		t.Fatalf("fourth issue: %v", err)
	}
	e.clock.Advance(otp.DefaultRateWindow + time.Second)
	e.issue(t, hs)

	h := newEnv(t, func(c *otp.Config) { c.HostRate = 2; c.UserRate = -1 })
	h.issue(t, hs)
	h.issue(t, hs)
	if _, err := h.m.Issue(context.Background(), otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs}); !errors.Is(err, otp.ErrRateLimited) {
		t.Fatalf("host limit: %v", err)
	}
}

// TestRateLimitPerUserHost: one host spends only its own share of a
// user's issuance quota, the user's total still bounds all hosts, and each
// refusal carries the real time until a slot frees.
func TestRateLimitPerUserHost(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *otp.Config) { c.UserRate = 7 })
	e.store.PutUser(&roamsign.UserRecord{ID: testUser, Hosts: []roamsign.HostID{"hr", "finance"}, Email: "aminah@agency.gov.my"})
	issue := func(host roamsign.HostID) error {
		_, err := e.m.Issue(ctx, otp.IssueRequest{User: testUser, Host: host, Hashes: hashes("doc")})
		e.clock.Advance(time.Minute)
		return err
	}
	for range otp.DefaultUserHostRate {
		require.NoError(t, issue("hr"))
	}
	err := issue("hr") // at +5m; the oldest of hr's five leaves the window at +15m
	require.ErrorIs(t, err, otp.ErrRateLimited)
	wait, ok := roamsign.RetryAfterOf(err)
	require.True(t, ok, "no wait in %v", err)
	require.Equal(t, otp.DefaultRateWindow-5*time.Minute, wait)
	require.NoError(t, issue("finance"), "host finance refused because host hr spent its quota")
	require.NoError(t, issue("finance"))
	err = issue("finance") // the user's seventh in the window
	require.ErrorIs(t, err, roamsign.ErrRateLimited)
	wait, _ = roamsign.RetryAfterOf(err)
	require.Equal(t, otp.DefaultRateWindow-8*time.Minute, wait)
	require.Equal(t, 7, e.email.Count())
}

// TestIssueRace: parallel requests cannot overshoot the limit, because
// the store counts and inserts in one step.
func TestIssueRace(t *testing.T) {
	e := newEnv(t, func(c *otp.Config) { c.UserRate = 5 })
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.m.Issue(context.Background(), otp.IssueRequest{User: testUser, Host: "hr", Hashes: hashes("doc")})
		}()
	}
	wg.Wait()
	limited := 0
	for _, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, otp.ErrRateLimited)
			limited++
		}
	}
	require.Equal(t, n-5, limited)
	require.Equal(t, 5, e.app.Count(), "OTPs sent")
	require.Len(t, e.store.Challenges(), 5)
}

func TestDeliveryPolicy(t *testing.T) {
	ctx := context.Background()
	hs := hashes("doc")
	t.Run("push fails, e-mail fallback", func(t *testing.T) {
		e := newEnv(t, nil)
		e.app.SetFail(errors.New("gateway down"))
		c, err := e.m.Issue(ctx, otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs})
		if err != nil || c.Channel != roamsign.ChannelEmail || e.email.Count() != 1 {
			t.Fatalf("%v %+v", err, c)
		}
		rec, _ := e.store.GetChallenge(ctx, c.ID)
		if rec.Channel != roamsign.ChannelEmail || rec.SentTo != c.SentTo {
			t.Fatalf("stored channel %q", rec.Channel)
		}
	})
	t.Run("no device, e-mail", func(t *testing.T) {
		e := newEnv(t, nil)
		u, _ := e.store.GetUser(ctx, testUser)
		u.Devices = nil
		e.store.PutUser(u)
		c, err := e.m.Issue(ctx, otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs})
		if err != nil || c.Channel != roamsign.ChannelEmail || e.app.Count() != 0 {
			t.Fatalf("%v %+v", err, c)
		}
	})
	t.Run("e-mail forbidden, push fails: undeliverable", func(t *testing.T) {
		e := newEnv(t, func(c *otp.Config) { c.Delivery.ForbidEmail = true })
		e.app.SetFail(errors.New("gateway down"))
		_, err := e.m.Issue(ctx, otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs})
		if !errors.Is(err, roamsign.ErrDelivery) || !errors.Is(err, otp.ErrUndeliverable) || e.email.Count() != 0 {
			t.Fatalf("%v", err)
		}
		// The stored challenge is marked and can never be consumed.
		cs := e.store.Challenges()
		if len(cs) != 1 || !cs[0].Undeliverable || cs[0].Channel != "" {
			t.Fatalf("stored challenges %+v", cs)
		}
		if err := e.store.ConsumeChallenge(ctx, cs[0].ID, e.clock.Now()); !errors.Is(err, roamsign.ErrForbidden) {
			t.Fatalf("consume undeliverable: %v", err)
		}
	})
	t.Run("prefer e-mail", func(t *testing.T) {
		e := newEnv(t, nil)
		c, err := e.m.Issue(ctx, otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs, Channel: roamsign.ChannelEmail})
		if err != nil || c.Channel != roamsign.ChannelEmail {
			t.Fatalf("%v %+v", err, c)
		}
	})
}

func TestUndeliverableCannotBeUsed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	hs := hashes("doc")
	c, code := e.issue(t, hs)
	if err := e.store.MarkUndeliverable(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.verify(c, c.Nonce, code, hs); !errors.Is(err, otp.ErrUndeliverable) || !errors.Is(err, roamsign.ErrDelivery) {
		t.Fatalf("%v", err)
	}
}

func TestCheckDoesNotConsume(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	hs := hashes("doc")
	c, code := e.issue(t, hs)
	req := otp.VerifyRequest{ID: c.ID, Nonce: c.Nonce, OTP: roamsign.Secret(code), Hashes: hs}
	for i := 0; i < 2; i++ {
		if _, err := e.m.Check(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	// The caller consumes it in its own transaction.
	if err := e.store.ConsumeChallenge(ctx, c.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Check(ctx, req); !errors.Is(err, otp.ErrAlreadyUsed) {
		t.Fatalf("%v", err)
	}
	req.OTP = roamsign.Secret(wrong(code, 7))
	e2 := newEnv(t, nil)
	c2, _ := e2.issue(t, hs)
	req.ID, req.Nonce = c2.ID, c2.Nonce
	if _, err := e2.m.Check(ctx, req); !errors.Is(err, otp.ErrWrongOTP) {
		t.Fatalf("%v", err)
	}
	rec, _ := e2.store.GetChallenge(ctx, c2.ID)
	if rec.Tries != 1 {
		t.Fatalf("Check did not count the failure: tries %d", rec.Tries)
	}
}

func TestIssueValidation(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	good := otp.IssueRequest{User: testUser, Host: "hr", Hashes: hashes("x")}
	bad := []func(r *otp.IssueRequest){
		func(r *otp.IssueRequest) { r.User = "123" },
		func(r *otp.IssueRequest) { r.Host = "" },
		func(r *otp.IssueRequest) { r.Hashes = nil },
		func(r *otp.IssueRequest) { r.Hashes = []roamsign.Hash{{Algorithm: roamsign.SHA256, Value: []byte{1}}} },
		func(r *otp.IssueRequest) { r.DataHeader = "a\r\nBcc: x@y" },
		func(r *otp.IssueRequest) { r.DataHeader = strings.Repeat("x", 257) },
		func(r *otp.IssueRequest) { r.Channel = "sms" },
	}
	for i, mod := range bad {
		r := good
		mod(&r)
		if _, err := e.m.Issue(ctx, r); !errors.Is(err, roamsign.ErrInvalidInput) && !errors.Is(err, roamsign.ErrTooLarge) {
			t.Errorf("case %d: %v", i, err)
		}
	}
	if e.app.Count() != 0 {
		t.Fatal("bad input delivered an OTP")
	}
	r := good
	r.Host = "other"
	if _, err := e.m.Issue(ctx, r); !errors.Is(err, roamsign.ErrForbidden) {
		t.Fatalf("host not enrolled: %v", err)
	}
	r = good
	r.User = "850505105555"
	if _, err := e.m.Issue(ctx, r); !errors.Is(err, roamsign.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestConfig(t *testing.T) {
	key, _ := otp.NewHMACKey(testKey)
	st := otptest.NewStore()
	if _, err := otp.New(otp.Config{Store: st, Key: key, TTL: 11 * time.Minute}); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("TTL above max: %v", err)
	}
	if _, err := otp.New(otp.Config{Key: key}); err == nil {
		t.Fatal("missing store accepted")
	}
	if _, err := otp.NewHMACKey(make([]byte, 16)); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestVerificationCode(t *testing.T) {
	d1 := roamsign.HashListDigest(hashes("a"))
	d2 := roamsign.HashListDigest(hashes("b"))
	n := []byte("0123456789abcdef")
	a, b := otp.VerificationCode(n, d1), otp.VerificationCode(n, d2)
	if len(a) != 4 || a != otp.VerificationCode(n, d1) {
		t.Fatalf("code %q", a)
	}
	// Different hashes almost always give a different code; over many
	// nonces they must differ most of the time.
	same := 0
	for i := 0; i < 1000; i++ {
		n := []byte(fmt.Sprintf("nonce-%d", i))
		if otp.VerificationCode(n, d1) == otp.VerificationCode(n, d2) {
			same++
		}
	}
	if same > 5 {
		t.Fatalf("%d of 1000 codes collide (%s %s)", same, a, b)
	}
}

func TestSentinelKinds(t *testing.T) {
	for err, kind := range map[error]roamsign.Kind{
		otp.ErrWrongNonce: roamsign.ErrAuthorization, otp.ErrHashMismatch: roamsign.ErrAuthorization,
		otp.ErrWrongOTP: roamsign.ErrAuthorization, otp.ErrExpired: roamsign.ErrExpired,
		otp.ErrAlreadyUsed: roamsign.ErrUsed, otp.ErrTooManyTries: roamsign.ErrExpired,
		otp.ErrBackoff: roamsign.ErrRateLimited, otp.ErrUndeliverable: roamsign.ErrDelivery,
		otp.ErrRateLimited: roamsign.ErrRateLimited, otp.ErrReplay: roamsign.ErrUsed,
	} {
		if !errors.Is(err, kind) {
			t.Errorf("%v does not match %v", err, kind)
		}
	}
}

// TestIssueNeedsEnrolment: a user with no hosts is enrolled for none, so a
// host using the manager directly cannot issue for them (the enrolment rule
// of roamsign.UserRecord.EnrolledFor).
func TestIssueNeedsEnrolment(t *testing.T) {
	e := newEnv(t, nil)
	for name, hosts := range map[string][]roamsign.HostID{"no hosts": nil, "another host": {"finance"}} {
		e.store.PutUser(&roamsign.UserRecord{ID: testUser, Hosts: hosts, Email: "aminah@agency.gov.my"})
		_, err := e.m.Issue(context.Background(), otp.IssueRequest{User: testUser, Host: "hr", Hashes: hashes("a")})
		require.ErrorIs(t, err, roamsign.ErrForbidden, name)
	}
	_, ok := e.email.Last()
	require.False(t, ok, "an OTP went out for a host the user is not enrolled for")
}

// TestIssueRefusesInvisibleHeader: a data header that would display as
// something else in the OTP message is refused before anything is stored
// or sent.
func TestIssueRefusesInvisibleHeader(t *testing.T) {
	e := newEnv(t, nil)
	for _, h := range []string{"PV2026/\u202e321000", "PV\u2066x\u2069", "PV\u200f1"} {
		_, err := e.m.Issue(context.Background(), otp.IssueRequest{User: testUser, Host: "hr", Hashes: hashes("a"), DataHeader: h})
		require.ErrorIs(t, err, roamsign.ErrInvalidInput, "%+q", h)
	}
	require.Empty(t, e.store.Challenges())
	_, ok := e.app.Last()
	require.False(t, ok)
}

// TestCheckTried: a caller that takes the attempt's try itself (the
// service) gets the same checks without a second try being spent, and a
// challenge whose MaxTries is the number of attempts allowed.
func TestCheckTried(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	hs := hashes("doc")
	c, code := e.issue(t, hs)
	rec, err := e.store.GetChallenge(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, otp.DefaultMaxTries, rec.MaxTries, "stored MaxTries is the attempts allowed")
	req := otp.VerifyRequest{ID: c.ID, Nonce: c.Nonce, OTP: roamsign.Secret(code), Hashes: hs}
	_, err = e.m.CheckTried(ctx, req)
	require.ErrorIs(t, err, roamsign.ErrInternal, "no try taken")
	for i := 1; i <= otp.DefaultMaxTries; i++ {
		n, err := e.store.TakeTry(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, i, n)
	}
	got, err := e.m.CheckTried(ctx, req)
	require.NoError(t, err, "the attempt that took the last try")
	require.Equal(t, otp.DefaultMaxTries, got.Tries)
	require.NoError(t, e.store.ConsumeChallenge(ctx, c.ID, e.clock.Now()))
}

// TestBackoffPerHost: wrong OTPs from one host make that host wait, with
// waits that double and expire on their own, each recorded in the audit
// log; another host of the same user is not held back, and a right OTP
// clears the count.
func TestBackoffPerHost(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.store.PutUser(&roamsign.UserRecord{ID: testUser, Hosts: []roamsign.HostID{"hr", "finance"}, Devices: []string{"dev-1234567"}})
	issue := func(host roamsign.HostID) (*otp.Challenge, string) {
		t.Helper()
		c, err := e.m.Issue(ctx, otp.IssueRequest{User: testUser, Host: host, Hashes: hashes("doc")})
		require.NoError(t, err)
		m, _ := e.app.Last()
		e.otps = append(e.otps, m.OTP.Reveal())
		return c, m.OTP.Reveal()
	}
	hs := hashes("doc")
	var c *otp.Challenge
	var code string
	for i := range 5 {
		if i%3 == 0 {
			c, code = issue("hr")
		}
		require.ErrorIs(t, e.verify(c, c.Nonce, wrong(code, i), hs), otp.ErrWrongOTP)
	}
	// The fifth failure started a wait of a minute: the next attempt, even
	// the right OTP, and a new OTP wait for it.
	err := e.verify(c, c.Nonce, code, hs)
	require.ErrorIs(t, err, otp.ErrBackoff)
	require.ErrorIs(t, err, roamsign.ErrRateLimited)
	wait, ok := roamsign.RetryAfterOf(err)
	require.True(t, ok)
	require.Equal(t, time.Minute, wait)
	_, err = e.m.Issue(ctx, otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs})
	require.ErrorIs(t, err, otp.ErrBackoff, "a new OTP during the wait")

	// Host finance signs meanwhile.
	fc, fcode := issue("finance")
	require.NoError(t, e.verify(fc, fc.Nonce, fcode, hs), "another host held back")

	e.clock.Advance(time.Minute)
	c, code = issue("hr")
	require.ErrorIs(t, e.verify(c, c.Nonce, wrong(code, 7), hs), otp.ErrWrongOTP)
	err = e.verify(c, c.Nonce, code, hs)
	wait, _ = roamsign.RetryAfterOf(err)
	require.Equal(t, 2*time.Minute, wait, "the wait doubles")
	e.clock.Advance(2 * time.Minute)
	require.NoError(t, e.verify(c, c.Nonce, code, hs), "the right OTP after the wait")
	_, err = e.store.GetOTPBackoff(ctx, testUser, "hr")
	require.ErrorIs(t, err, roamsign.ErrNotFound, "a right OTP clears the count")

	var backoffs []roamsign.AuditRecord
	require.NoError(t, e.store.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		if a.Event == roamsign.AuditOTPBackoff {
			backoffs = append(backoffs, roamsign.AuditRecord{User: a.User, Host: a.Host, Outcome: a.Outcome, Detail: a.Detail})
		}
		return nil
	}))
	require.Len(t, backoffs, 2)
	for i, a := range backoffs {
		assert.Equal(t, testUser, a.User)
		assert.Equal(t, roamsign.HostID("hr"), a.Host)
		assert.Equal(t, roamsign.ErrRateLimited.Code(), a.Outcome)
		assert.Equal(t, []string{"failures=5 wait=1m0s", "failures=6 wait=2m0s"}[i], a.Detail)
	}
	noOTPLeak(t, e)
}
