package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
		require.NoError(t, err, "RequestOTP")
		require.WithinRange(t, clk.Now().Add(ttl), ch.ExpiresAt.Add(-time.Second), ch.ExpiresAt.Add(5*time.Second),
			"challenge lifetime by the injected clock, want %s", ttl)
		code, err := d.mail.OTP(ctx, u.ID, ch)
		require.NoError(t, err)
		return ch, code, hs
	}
	sign := func(ch *roamsign.OTPResponse, code roamsign.Secret, hs []roamsign.Hash) (*roamsign.SignResponse, error) {
		return d.client.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: u.PIN, OTP: code, Hashes: hs, RequestID: roamsign.NewRequestID()})
	}

	// Skewed past the lifetime: expired, typed, nothing signed.
	ch, code, hs := challenge()
	clk.Advance(ttl + time.Second)
	_, err := sign(ch, code, hs)
	require.ErrorIs(t, err, roamsign.ErrExpired, "Sign after the lifetime")
	// A far jump (a badly set clock) is expired too.
	ch, code, hs = challenge()
	clk.Advance(24 * time.Hour)
	_, err = sign(ch, code, hs)
	require.ErrorIs(t, err, roamsign.ErrExpired, "Sign a day later")

	// Skewed forward but inside the lifetime: signs once, then is used.
	ch, code, hs = challenge()
	clk.Advance(ttl - 10*time.Second)
	res, err := sign(ch, code, hs)
	require.NoError(t, err, "Sign inside the lifetime")
	require.NoError(t, bench.CheckRaw(res, hs))
	clk.Advance(-time.Hour) // the clock stepping back does not revive it
	_, err = sign(ch, code, hs)
	require.ErrorIs(t, err, roamsign.ErrUsed, "challenge used twice after the clock stepped back")
	st, err := d.client.Status(ctx, roamsign.StatusRequest{TransactionID: res.TransactionID})
	require.NoError(t, err, "Status")
	require.Equal(t, roamsign.TxSigned, st.State)
	d.auditIntact(t)
}
