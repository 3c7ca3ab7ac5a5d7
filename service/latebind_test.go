package service_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/service"
)

// lateService is a service over r's parts with LateBinding as given.
func lateService(t *testing.T, r *rig, late bool) *service.Service {
	t.Helper()
	svc, err := service.New(service.Config{PIN: apitest.FastPIN, LateBinding: late}, service.Deps{
		Store: r.d.Store, Keys: r.d.Keys, Challenges: r.d.Challenges, Logger: r.d.Logs.Logger(), Now: r.clk.Now,
	})
	require.NoError(t, err)
	return svc
}

func auditDetails(t *testing.T, r *rig, tx string) map[roamsign.AuditEvent]string {
	t.Helper()
	out := map[roamsign.AuditEvent]string{}
	require.NoError(t, r.d.Store.ScanAudit(context.Background(), 1, func(a *roamsign.AuditRecord) error {
		if a.TransactionID == tx {
			out[a.Event] = a.Detail
		}
		return nil
	}))
	return out
}

func TestLateBinding(t *testing.T) {
	r := newRig(t, nil)
	u := r.env.Enrol(t, apitest.HostA)
	ctx := roamsign.WithHost(context.Background(), apitest.HostA)
	strict, late := lateService(t, r, false), lateService(t, r, true)
	req := roamsign.OTPRequest{User: u.ID, DataHeader: "CSC demo"}

	_, err := strict.RequestOTPLateBound(ctx, req)
	require.ErrorIs(t, err, roamsign.ErrForbidden, "late binding off")
	_, err = late.RequestOTPLateBound(ctx, roamsign.OTPRequest{User: u.ID, Hashes: apitest.Hashes(1)})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput, "late-bound challenge naming hashes")

	ch, err := late.RequestOTPLateBound(ctx, req)
	require.NoError(t, err)
	otp := roamsign.Secret(r.env.OTP(t, u.ID, ch))
	hs := apitest.Hashes(3)
	sign := func(svc *service.Service, nonce []byte, hs []roamsign.Hash) (*roamsign.SignResponse, error) {
		return svc.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: nonce, PIN: apitest.PIN, OTP: otp,
			Hashes: hs, RequestID: roamsign.NewRequestID()})
	}
	// A service whose policy no longer allows late binding holds the
	// challenge to what it bound: no document hash matches.
	_, err = sign(strict, ch.Nonce, hs)
	require.ErrorIs(t, err, roamsign.ErrAuthorization, "late-bound challenge on a strict service")
	wrongNonce := append([]byte(nil), ch.Nonce...)
	wrongNonce[0] ^= 1
	_, err = sign(late, wrongNonce, hs)
	require.ErrorIs(t, err, roamsign.ErrAuthorization, "wrong nonce")

	res, err := sign(late, ch.Nonce, hs)
	require.NoError(t, err)
	require.Len(t, res.Items, 3)
	d := auditDetails(t, r, res.TransactionID)
	require.Equal(t, service.DetailLateBound, d[roamsign.AuditAuthorised], "authorisation audit")
	require.Equal(t, service.DetailLateBound, d[roamsign.AuditSigned], "signature audit")

	_, err = sign(late, ch.Nonce, apitest.Hashes(1))
	require.ErrorIs(t, err, roamsign.ErrUsed, "second Sign of a late-bound challenge")

	// An ordinary challenge is not late-bound on a late-binding service.
	ch2, otp2 := r.env.Challenge(t, apitest.HostA, u.ID, hs)
	_, err = late.Sign(ctx, roamsign.SignRequest{ChallengeID: ch2.ChallengeID, Nonce: ch2.Nonce, PIN: apitest.PIN, OTP: otp2,
		Hashes: apitest.Hashes(3), RequestID: roamsign.NewRequestID()})
	require.ErrorIs(t, err, roamsign.ErrAuthorization, "bound challenge with other hashes")
	res, err = late.Sign(ctx, roamsign.SignRequest{ChallengeID: ch2.ChallengeID, Nonce: ch2.Nonce, PIN: apitest.PIN, OTP: otp2,
		Hashes: hs, RequestID: roamsign.NewRequestID()})
	require.NoError(t, err)
	require.Empty(t, auditDetails(t, r, res.TransactionID)[roamsign.AuditSigned], "bound challenge audit")
}
