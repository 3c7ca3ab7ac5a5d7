//go:build cgo

package hsm_test

import (
	"context"
	"crypto"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/softhsmtest"
)

// A token that goes away for 2 s (its SoftHSM2 directory moved away, which
// takes it away for root too) and comes back: while it is away every
// signature and MAC fails with ErrUnavailable and the readiness check
// reports not ready; once it is back the store re-initialises the module
// by itself, and the same keys sign and MAC again. Nothing in the test
// re-initialises the module. Sequential: the store finalises the library
// that the other tests of the process share.
func TestPKCS11TokenLostAndBack(t *testing.T) {
	ctx := context.Background()
	tok := softhsmtest.New(t)
	ks := openPKCS11(t, tok, 2)
	user := generate(t, ks, hsm.GenerateRequest{ID: "user", Algorithm: roamsign.ECP256})
	otpKey, err := ks.GenerateMAC(ctx, "otp-mac")
	require.NoError(t, err)
	_, err = ks.GenerateMAC(ctx, "pin-pepper")
	require.NoError(t, err)
	ready := hsm.ReadinessCheck(ks, "otp-mac", "pin-pepper")

	d := digestOf(crypto.SHA256, "before")
	_, err = user.SignContext(ctx, d, crypto.SHA256)
	require.NoError(t, err)
	macBefore, err := otpKey.MAC(ctx, []byte("challenge"))
	require.NoError(t, err)
	require.NoError(t, ready(ctx), "ready before the token goes away")

	bringBack := tok.TakeAway(t)
	away := 0
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); away++ {
		sig, err := user.SignContext(ctx, d, crypto.SHA256)
		require.ErrorIs(t, err, roamsign.ErrUnavailable, "signing while the token is away")
		require.Nil(t, sig)
		_, err = otpKey.MAC(ctx, []byte("challenge"))
		require.ErrorIs(t, err, roamsign.ErrUnavailable, "MAC while the token is away")
		require.ErrorIs(t, ready(ctx), roamsign.ErrUnavailable, "readiness while the token is away")
		time.Sleep(50 * time.Millisecond)
	}
	bringBack()

	// Readiness drives the recovery, as a load balancer's probe would.
	back := time.Now()
	deadline := back.Add(30 * time.Second)
	for ready(ctx) != nil {
		require.True(t, time.Now().Before(deadline), "still not ready 30 s after the token came back: %v", ready(ctx))
		time.Sleep(50 * time.Millisecond)
	}
	since := time.Since(back)
	d = digestOf(crypto.SHA256, "after")
	sig, err := user.SignContext(ctx, d, crypto.SHA256)
	require.NoError(t, err)
	verify(t, user.Public(), crypto.SHA256, d, sig, crypto.SHA256)
	macAfter, err := otpKey.MAC(ctx, []byte("challenge"))
	require.NoError(t, err)
	assert.Equal(t, macBefore, macAfter, "the same MAC key after recovery")
	t.Logf("%d rounds refused while the token was away; ready again %s after it came back", away, since.Round(time.Millisecond))
}

// The readiness check finds missing keys: a MAC key never made, and the
// last signing key destroyed by another handle of the token.
func TestPKCS11ReadinessMissingKeys(t *testing.T) {
	ctx := context.Background()
	tok := softhsmtest.New(t)
	ks := openPKCS11(t, tok, 1)
	_, err := ks.GenerateMAC(ctx, "otp-mac")
	require.NoError(t, err)
	require.NoError(t, hsm.ReadinessCheck(ks, "otp-mac")(ctx))
	require.ErrorIs(t, hsm.ReadinessCheck(ks, "otp-mac", "no-such-mac")(ctx), roamsign.ErrUnavailable)

	user := generate(t, ks, hsm.GenerateRequest{ID: "user", Algorithm: roamsign.ECP256})
	_, err = user.SignContext(ctx, digestOf(crypto.SHA256, "x"), crypto.SHA256)
	require.NoError(t, err)
	require.NoError(t, hsm.ReadinessCheck(ks, "otp-mac")(ctx))
	other, err := hsm.OpenPKCS11(ctx, hsm.PKCS11Config{URI: tok.URI(), Sessions: 1, Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, other.Delete(ctx, "user"))
	require.NoError(t, other.Close())
	require.ErrorIs(t, hsm.ReadinessCheck(ks, "otp-mac")(ctx), roamsign.ErrUnavailable, "the user key was destroyed elsewhere")
}
