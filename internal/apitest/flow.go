package apitest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
)

// testFullFlow: Medium, RequestOTP, Sign in every offered form, Status.
func testFullFlow(t *testing.T, s *suite) {
	ctx := context.Background()
	u := s.Enrol(t, HostA)
	api := s.API(HostA)
	m, err := api.Medium(ctx, roamsign.MediumRequest{User: u.ID})
	require.NoError(t, err, "Medium")
	require.Equal(t, roamsign.MediumRoamingOTP, m.Use, "Medium: %+v", m)
	require.NotNil(t, m.Certificate, "Medium: %+v", m)
	require.Contains(t, m.Certificate.Subject, "MY")
	hs := Hashes(5)
	ch, otp := s.Challenge(t, HostA, u.ID, hs)
	s.secrets.add(otp)
	assert.NotEmpty(t, ch.ChallengeID, "challenge id")
	assert.GreaterOrEqual(t, len(ch.Nonce), 16, "nonce length")
	assert.NotEmpty(t, ch.VerificationCode, "verification code")
	assert.True(t, ch.ExpiresAt.After(time.Now()), "expiry %v", ch.ExpiresAt)
	assert.NotEmpty(t, ch.SentTo, "sent to")
	forms := s.Forms
	if len(forms) == 0 {
		forms = []roamsign.OutputForm{roamsign.FormRaw}
	}
	req := signReq(ch, otp, PIN, hs)
	req.Form = forms[0]
	res, err := api.Sign(ctx, req)
	require.NoError(t, err, "Sign")
	s.checkSigs(t, forms[0], u.Chain, hs, res)
	st, err := api.Status(ctx, roamsign.StatusRequest{TransactionID: res.TransactionID})
	require.NoError(t, err, "Status")
	assert.Equal(t, roamsign.TxSigned, st.State)
	assert.Equal(t, u.ID, st.User)
	assert.Len(t, st.Items, len(hs))
	for _, f := range forms[1:] {
		ch, otp := s.Challenge(t, HostA, u.ID, hs)
		s.secrets.add(otp)
		req := signReq(ch, otp, PIN, hs)
		req.Form = f
		res, err := api.Sign(ctx, req)
		require.NoError(t, err, "Sign %s", f)
		require.Equal(t, f, res.Form)
		s.checkSigs(t, f, u.Chain, hs, res)
	}
}

// testReplayRequestID: a retried request id returns the first result, a
// request id reused for other hashes conflicts, and the used challenge
// cannot sign again under a new request id.
func testReplayRequestID(t *testing.T, s *suite) {
	ctx := context.Background()
	a := s.newApproval(t, 4)
	req := a.req(PIN)
	first, err := s.API(HostA).Sign(ctx, req)
	require.NoError(t, err, "Sign")
	again, err := s.API(HostA).Sign(ctx, req)
	require.NoError(t, err, "replayed Sign")
	require.Equal(t, first.TransactionID, again.TransactionID, "replay returned another transaction")
	require.Equal(t, first.Items[0].Signature, again.Items[0].Signature, "replay returned another signature")
	other := req
	other.Hashes = Hashes(4)
	_, err = s.API(HostA).Sign(ctx, other)
	wantKind(t, err, roamsign.ErrConflict, "same request id, other hashes")
	fresh := req
	fresh.RequestID = roamsign.NewRequestID()
	_, err = s.API(HostA).Sign(ctx, fresh)
	wantKind(t, err, roamsign.ErrUsed, "used challenge, new request id")
}

// testDisabled: a disabled user can neither sign nor get an OTP.
func testDisabled(t *testing.T, s *suite) {
	ctx := context.Background()
	a := s.newApproval(t, 1)
	require.NoError(t, s.Admin.Disable(ctx, roamsign.DisableRequest{User: a.user.ID, Reason: "left the agency"}), "Disable")
	_, err := s.API(HostA).Sign(ctx, a.req(PIN))
	wantKind(t, err, roamsign.ErrForbidden, "Sign when disabled")
	_, err = s.API(HostA).RequestOTP(ctx, roamsign.OTPRequest{User: a.user.ID, Hashes: a.hashes})
	wantKind(t, err, roamsign.ErrForbidden, "RequestOTP when disabled")
}
