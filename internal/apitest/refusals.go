package apitest

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
)

// testUnauthenticated: a caller that names no host gets nothing.
func testUnauthenticated(t *testing.T, s *suite) {
	ctx := context.Background()
	u := s.Enrol(t, HostA)
	_, err := s.API("").RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: Hashes(1)})
	wantKind(t, err, roamsign.ErrUnauthenticated, "RequestOTP without host")
	_, err = s.API("").Medium(ctx, roamsign.MediumRequest{User: u.ID})
	wantKind(t, err, roamsign.ErrUnauthenticated, "Medium without host")
}

// testSignWithoutChallenge: a challenge id that was never issued.
func testSignWithoutChallenge(t *testing.T, s *suite) {
	s.Enrol(t, HostA)
	_, err := s.API(HostA).Sign(context.Background(), roamsign.SignRequest{ChallengeID: "bm8tc3VjaC1jaGFsbGVuZ2U", Nonce: make([]byte, 16),
		PIN: PIN, OTP: "123456", Hashes: Hashes(1), RequestID: roamsign.NewRequestID()})
	wantKind(t, err, roamsign.ErrNotFound, "Sign without challenge")
}

// testAnotherUsersChallenge: one user's OTP does not open another user's
// challenge, nor does another challenge's nonce; the owner still can.
func testAnotherUsersChallenge(t *testing.T, s *suite) {
	ctx := context.Background()
	u1 := s.Enrol(t, HostA)
	u2 := s.Enrol(t, HostA)
	hs := Hashes(2)
	ch1, otp1 := s.Challenge(t, HostA, u1.ID, hs)
	ch2, otp2 := s.Challenge(t, HostA, u2.ID, hs)
	s.secrets.add(otp1, otp2)
	// u1's OTP and PIN against u2's challenge (same hashes).
	_, err := s.API(HostA).Sign(ctx, signReq(ch2, otp1, PIN, hs))
	wantKind(t, err, roamsign.ErrAuthorization, "u1's OTP on u2's challenge")
	// u1's challenge id with u2's nonce.
	req := signReq(ch1, otp1, PIN, hs)
	req.Nonce = ch2.Nonce
	_, err = s.API(HostA).Sign(ctx, req)
	wantKind(t, err, roamsign.ErrAuthorization, "nonce of another challenge")
	res, err := s.API(HostA).Sign(ctx, signReq(ch1, otp1, PIN, hs))
	require.NoError(t, err, "own challenge after failures")
	s.checkSigs(t, roamsign.FormRaw, u1.Chain, hs, res)
}

// testAnotherHostsCredentials: another host sees none of host A's users,
// challenges or transactions.
func testAnotherHostsCredentials(t *testing.T, s *suite) {
	ctx := context.Background()
	a := s.newApproval(t, 1)
	_, err := s.API(HostB).Sign(ctx, a.req(PIN))
	wantKind(t, err, roamsign.ErrNotFound, "host B signing host A's challenge")
	_, err = s.API(HostB).RequestOTP(ctx, roamsign.OTPRequest{User: a.user.ID, Hashes: a.hashes})
	wantKind(t, err, roamsign.ErrNotFound, "host B requesting OTP for host A's user")
	_, err = s.API(HostB).Medium(ctx, roamsign.MediumRequest{User: a.user.ID})
	wantKind(t, err, roamsign.ErrNotFound, "host B Medium for host A's user")
	res, err := s.API(HostA).Sign(ctx, a.req(PIN))
	require.NoError(t, err, "host A after host B's attempt")
	_, err = s.API(HostB).Status(ctx, roamsign.StatusRequest{TransactionID: res.TransactionID})
	wantKind(t, err, roamsign.ErrNotFound, "host B Status of host A's transaction")
}

// testHashesNotInChallenge: only the exact bound hash list signs; each
// other list is a failed try.
func testHashesNotInChallenge(t *testing.T, s *suite) {
	ctx := context.Background()
	a := s.newApproval(t, 3)
	hs := a.hashes
	for _, c := range []struct {
		name   string
		hashes []roamsign.Hash
	}{
		{"other", Hashes(3)},
		{"subset", hs[:2]},
		{"reordered", []roamsign.Hash{hs[1], hs[0], hs[2]}},
	} {
		_, err := s.API(HostA).Sign(ctx, signReq(a.ch, a.otp, PIN, c.hashes))
		wantKind(t, err, roamsign.ErrAuthorization, "hashes "+c.name)
	}
	_, err := s.API(HostA).Sign(ctx, a.req(PIN))
	wantKind(t, err, roamsign.ErrExpired, "challenge after 3 failed tries")
}

// testWrongPINLocks: MaxPINFailures wrong PINs lock the user whatever the
// new OTPs; only an administrator's reset unlocks.
func testWrongPINLocks(t *testing.T, s *suite) {
	ctx := context.Background()
	u := s.Enrol(t, HostA)
	hs := Hashes(1)
	var spare *roamsign.OTPResponse
	var spareOTP roamsign.Secret
	for i := 1; i <= s.MaxPINFailures; i++ {
		// A new OTP every time: it must not reset the count.
		ch, otp := s.Challenge(t, HostA, u.ID, hs)
		if i == 1 {
			spare, spareOTP = s.Challenge(t, HostA, u.ID, hs)
		}
		wrong := "Wr0ng-PIN-" + roamsign.Secret(strconv.Itoa(i))
		s.secrets.add(otp, wrong)
		_, err := s.API(HostA).Sign(ctx, signReq(ch, otp, wrong, hs))
		if i < s.MaxPINFailures {
			wantKind(t, err, roamsign.ErrAuthorization, fmt.Sprintf("wrong PIN %d", i))
		} else {
			wantKind(t, err, roamsign.ErrLocked, "wrong PIN at the limit")
		}
	}
	s.secrets.add(spareOTP, "N3w-Secret!")
	_, err := s.API(HostA).Sign(ctx, signReq(spare, spareOTP, PIN, hs))
	wantKind(t, err, roamsign.ErrLocked, "correct PIN after lock")
	_, err = s.API(HostA).RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hs})
	wantKind(t, err, roamsign.ErrLocked, "RequestOTP after lock")
	err = s.Admin.SetPIN(ctx, roamsign.SetPINRequest{User: u.ID, Old: PIN, New: "N3w-Secret!"})
	wantKind(t, err, roamsign.ErrLocked, "SetPIN while locked")
	require.NoError(t, s.Admin.ResetPIN(ctx, roamsign.ResetPINRequest{User: u.ID, New: PIN}), "ResetPIN")
	ch, otp := s.Challenge(t, HostA, u.ID, hs)
	s.secrets.add(otp)
	_, err = s.API(HostA).Sign(ctx, signReq(ch, otp, PIN, hs))
	require.NoError(t, err, "Sign after reset")
}

// testFailuresLookAlike: a wrong OTP, a wrong PIN and wrong hashes give
// the same error, so a caller cannot tell which factor failed.
func testFailuresLookAlike(t *testing.T, s *suite) {
	ctx := context.Background()
	a := s.newApproval(t, 1)
	n, err := strconv.Atoi(a.otp.Reveal())
	require.NoError(t, err, "the OTP is not a number")
	wrongOTP := roamsign.Secret(fmt.Sprintf("%06d", (n+1)%1000000))
	s.secrets.add(wrongOTP, "Wr0ng-PIN-x")
	_, errOTP := s.API(HostA).Sign(ctx, signReq(a.ch, wrongOTP, PIN, a.hashes))
	_, errPIN := s.API(HostA).Sign(ctx, a.req("Wr0ng-PIN-x"))
	_, errHash := s.API(HostA).Sign(ctx, signReq(a.ch, a.otp, PIN, Hashes(1)))
	wantKind(t, errOTP, roamsign.ErrAuthorization, "wrong OTP")
	wantKind(t, errPIN, roamsign.ErrAuthorization, "wrong PIN")
	wantKind(t, errHash, roamsign.ErrAuthorization, "wrong hashes")
	require.Equal(t, errOTP.Error(), errPIN.Error(), "wrong OTP and wrong PIN answers differ")
	require.Equal(t, errPIN.Error(), errHash.Error(), "wrong PIN and wrong hashes answers differ")
}

// testBadInput: malformed requests and PINs that break the rules are
// refused with typed errors.
func testBadInput(t *testing.T, s *suite) {
	ctx := context.Background()
	u := s.Enrol(t, HostA)
	api := s.API(HostA)
	_, err := api.RequestOTP(ctx, roamsign.OTPRequest{User: u.ID})
	wantKind(t, err, roamsign.ErrInvalidInput, "RequestOTP without hashes")
	_, err = api.RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: []roamsign.Hash{{Algorithm: roamsign.SHA256, Value: []byte{1, 2}}}})
	wantKind(t, err, roamsign.ErrInvalidInput, "short digest")
	_, err = api.Status(ctx, roamsign.StatusRequest{TransactionID: "nope"})
	wantKind(t, err, roamsign.ErrNotFound, "unknown transaction")
	for _, p := range []roamsign.Secret{"12345", "111111", "123456789", "987654", roamsign.Secret(u.ID[:8]), "x" + roamsign.Secret(u.ID[2:9]), "aaaaaaaaaaaaaaaaa"} {
		err := s.Admin.ResetPIN(ctx, roamsign.ResetPINRequest{User: u.ID, New: p})
		wantKind(t, err, roamsign.ErrInvalidInput, "PIN rule")
	}
	s.secrets.add("Wr0ng-PIN-x", "N3w-Secret!")
	err = s.Admin.SetPIN(ctx, roamsign.SetPINRequest{User: u.ID, Old: "Wr0ng-PIN-x", New: "N3w-Secret!"})
	wantKind(t, err, roamsign.ErrAuthorization, "SetPIN with wrong old PIN")
	err = s.Admin.ImportChain(ctx, roamsign.ImportChainRequest{User: u.ID, Chain: [][]byte{s.CA.Cert.Raw}})
	wantKind(t, err, roamsign.ErrInvalidInput, "chain for another key")
}
