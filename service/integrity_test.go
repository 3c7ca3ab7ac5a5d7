package service_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/store/memory"
)

// hmacPepper is an in-memory pepper for tests.
type hmacPepper []byte

func (p hmacPepper) MAC(_ context.Context, data []byte) ([]byte, error) {
	m := hmac.New(sha256.New, p)
	m.Write(data)
	return m.Sum(nil), nil
}

// tamperedAudit reports whether the audit log holds a record of a refused
// row or credential for user.
func tamperedAudit(t *testing.T, st *memory.Store, user roamsign.UserID) bool {
	t.Helper()
	found := false
	require.NoError(t, st.ScanAudit(context.Background(), 1, func(a *roamsign.AuditRecord) error {
		found = found || (a.Event == roamsign.AuditTampered && a.User == user)
		return nil
	}))
	return found
}

// signAs asks for an OTP for user and signs with it and pin.
func signAs(t *testing.T, e *apitest.Env, user roamsign.UserID, pin roamsign.Secret) (*roamsign.SignResponse, error) {
	t.Helper()
	hs := apitest.Hashes(2)
	ch, otp := e.Challenge(t, apitest.HostA, user, hs)
	return e.API(apitest.HostA).Sign(context.Background(), roamsign.SignRequest{
		ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, OTP: otp, PIN: pin, Hashes: hs, RequestID: roamsign.NewRequestID(),
	})
}

// A user whose key reference (and chain) a database writer replaced with
// another user's signs nothing: the key used must be the one the user's
// certificate certifies, and the certificate must name the user.
func TestSignRefusesAnotherUsersKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chain bool // the victim's chain is copied too
	}{{"KeyOnly", false}, {"KeyAndChain", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			d := apitest.NewMemDeployment(t, service.Config{})
			e := d.Env()
			victim := e.Enrol(t, apitest.HostA)
			attacker := e.Enrol(t, apitest.HostA)
			v, err := d.Store.GetUser(ctx, victim.ID)
			require.NoError(t, err)
			require.NoError(t, d.Store.UpdateUser(ctx, attacker.ID, func(u *roamsign.UserRecord) error {
				u.KeyRef = v.KeyRef
				if tc.chain {
					u.Chain = v.Chain
				}
				return nil
			}))
			_, err = signAs(t, e, attacker.ID, apitest.PIN)
			require.ErrorIs(t, err, roamsign.ErrUnavailable, "signed with another user's key")
			require.True(t, tamperedAudit(t, d.Store, attacker.ID), "no audit record of the refusal")
			require.Contains(t, d.Logs.String(), "ALARM")
		})
	}
}

// Once a pepper is configured, a PIN verifier made without it (which a
// database writer can compute for a PIN of their choice) is refused.
func TestSignRefusesUnpepperedVerifier(t *testing.T) {
	ctx := context.Background()
	st := memory.New(memory.Options{})
	keys := apitest.NewSoftKeys()
	chal := apitest.NewMemChallenger(st)
	logs := &apitest.LogBuffer{}
	peppered, err := service.New(service.Config{PIN: apitest.FastPIN}, service.Deps{
		Store: st, Keys: keys, Challenges: chal, Pepper: hmacPepper("a pepper key of thirty-two bytes"), Logger: logs.Logger(),
	})
	require.NoError(t, err)
	// The writer's own verifier: made as a service without the pepper
	// makes it, offline.
	writer, err := service.New(service.Config{PIN: apitest.FastPIN}, service.Deps{Store: st, Keys: keys, Challenges: chal})
	require.NoError(t, err)
	d := apitest.NewMemDeployment(t, service.Config{})
	e := &apitest.Env{
		API:   func(h roamsign.HostID) roamsign.API { return apitest.AsHost(peppered, h) },
		Admin: peppered,
		OTP:   func(_ testing.TB, u roamsign.UserID, _ *roamsign.OTPResponse) string { return chal.LastOTP(u) },
		CA:    d.CA,
	}
	u := e.Enrol(t, apitest.HostA)
	_, err = signAs(t, e, u.ID, apitest.PIN)
	require.NoError(t, err, "signing with the peppered PIN")

	const chosen roamsign.Secret = "Ch0sen#PIN9"
	require.NoError(t, writer.ResetPIN(ctx, roamsign.ResetPINRequest{User: u.ID, New: chosen}))
	_, err = signAs(t, e, u.ID, chosen)
	require.ErrorIs(t, err, roamsign.ErrUnavailable, "signed with a PIN verifier made without the pepper")
	require.True(t, tamperedAudit(t, st, u.ID), "no audit record of the refusal")
	require.Contains(t, logs.String(), "ALARM")
}

// A challenge issued before the user's key reference changed signs
// nothing: it was bound to the key it was issued for.
func TestSignRefusesChallengeForAnotherKey(t *testing.T) {
	ctx := context.Background()
	d := apitest.NewMemDeployment(t, service.Config{})
	e := d.Env()
	victim := e.Enrol(t, apitest.HostA)
	attacker := e.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(2)
	ch, otp := e.Challenge(t, apitest.HostA, attacker.ID, hs)
	v, err := d.Store.GetUser(ctx, victim.ID)
	require.NoError(t, err)
	require.NoError(t, d.Store.UpdateUser(ctx, attacker.ID, func(u *roamsign.UserRecord) error {
		u.KeyRef, u.Chain = v.KeyRef, v.Chain
		return nil
	}))
	_, err = e.API(apitest.HostA).Sign(ctx, roamsign.SignRequest{
		ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, OTP: otp, PIN: apitest.PIN, Hashes: hs, RequestID: roamsign.NewRequestID(),
	})
	require.ErrorIs(t, err, roamsign.ErrForbidden, "signed with a key the challenge was not issued for")
}
