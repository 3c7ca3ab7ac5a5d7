package bench_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
)

// TestChallengeExpiryUnderSkewedClock runs the service over HTTPS with an
// injected clock shared by service, OTP manager and store. A clock that
// jumps past the challenge lifetime gets a typed ErrExpired and signs
// nothing; a clock still inside the lifetime (even skewed forward) signs,
// once.
func TestChallengeExpiryUnderSkewedClock(t *testing.T) {
	clk := &fakeClock{}
	ttl := 2 * time.Minute
	d := newDeployment(t, deployOpts{Now: clk.Now, TTL: ttl})
	u := d.enrol(t, roamsign.ECP256, 1)[0]
	ctx := context.Background()
	challenge := func() (*roamsign.OTPResponse, roamsign.Secret, []roamsign.Hash) {
		hs := bench.RandomHashes(3)
		ch, err := d.client.RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hs})
		if err != nil {
			t.Fatalf("RequestOTP: %v", err)
		}
		if got := ch.ExpiresAt.Sub(clk.Now()); got > ttl+time.Second || got < ttl-5*time.Second {
			t.Fatalf("challenge lifetime %s by the injected clock, want %s", got, ttl)
		}
		code, err := d.mail.OTP(ctx, u.ID, ch)
		if err != nil {
			t.Fatal(err)
		}
		return ch, code, hs
	}
	sign := func(ch *roamsign.OTPResponse, code roamsign.Secret, hs []roamsign.Hash) (*roamsign.SignResponse, error) {
		return d.client.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: u.PIN, OTP: code, Hashes: hs, RequestID: bench.RequestID()})
	}

	// Skewed past the lifetime: expired, typed, nothing signed.
	ch, code, hs := challenge()
	clk.Advance(ttl + time.Second)
	if res, err := sign(ch, code, hs); !errors.Is(err, roamsign.ErrExpired) {
		t.Fatalf("Sign after the lifetime: %v, %+v; want ErrExpired", err, res)
	}
	// A far jump (a badly set clock) is expired too.
	ch, code, hs = challenge()
	clk.Advance(24 * time.Hour)
	if _, err := sign(ch, code, hs); !errors.Is(err, roamsign.ErrExpired) {
		t.Fatalf("Sign a day later: %v; want ErrExpired", err)
	}

	// Skewed forward but inside the lifetime: signs once, then is used.
	ch, code, hs = challenge()
	clk.Advance(ttl - 10*time.Second)
	res, err := sign(ch, code, hs)
	if err != nil {
		t.Fatalf("Sign inside the lifetime: %v", err)
	}
	if err := bench.CheckRaw(res, hs); err != nil {
		t.Fatal(err)
	}
	clk.Advance(-time.Hour) // the clock stepping back does not revive it
	if _, err := sign(ch, code, hs); err == nil {
		t.Fatal("challenge used twice after the clock stepped back")
	}
	st, err := d.client.Status(ctx, roamsign.StatusRequest{TransactionID: res.TransactionID})
	if err != nil || st.State != roamsign.TxSigned {
		t.Fatalf("Status: %v %+v", err, st)
	}
	d.auditIntact(t)
}
