package adapt_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/store/memory"
)

// TestOneTryPerFailedAttempt: with the real OTP manager, each failed Sign
// attempt spends exactly one of the challenge's three tries, whichever
// factor failed, and the stored MaxTries is the number of attempts
// allowed.
func TestOneTryPerFailedAttempt(t *testing.T) {
	r := newRealParts(t, memory.New(memory.Options{}), 1, service.Config{}, nil)
	e := r.env()
	u := e.Enrol(t, apitest.HostA)
	ctx := context.Background()
	api := e.API(apitest.HostA)
	otherOTP := func(otp roamsign.Secret) roamsign.Secret {
		if otp == "000000" {
			return "000001"
		}
		return "000000"
	}
	fails := map[string]func(req *roamsign.SignRequest){
		"PIN":       func(req *roamsign.SignRequest) { req.PIN = "Wr0ng-PIN-1" },
		"OTP":       func(req *roamsign.SignRequest) { req.OTP = otherOTP(req.OTP) },
		"bad OTP":   func(req *roamsign.SignRequest) { req.OTP = "12a" },
		"nonce":     func(req *roamsign.SignRequest) { req.Nonce = append([]byte{^req.Nonce[0]}, req.Nonce[1:]...) },
		"hashes":    func(req *roamsign.SignRequest) { req.Hashes = apitest.Hashes(1) },
		"PIN again": func(req *roamsign.SignRequest) { req.PIN = "Wr0ng-PIN-2" },
	}
	for name, spoil := range fails {
		t.Run(name, func(t *testing.T) {
			hs := apitest.Hashes(1)
			ch, otp := e.Challenge(t, apitest.HostA, u.ID, hs)
			rec, err := r.st.(*memory.Store).GetChallenge(ctx, ch.ChallengeID)
			require.NoError(t, err)
			require.Equal(t, 3, rec.MaxTries, "stored MaxTries")
			good := roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN, OTP: otp, Hashes: hs}
			for i := 1; i <= 2; i++ {
				bad := good
				bad.RequestID = roamsign.NewRequestID()
				spoil(&bad)
				_, err := api.Sign(ctx, bad)
				require.ErrorIs(t, err, roamsign.ErrAuthorization)
				rec, err := r.st.(*memory.Store).GetChallenge(ctx, ch.ChallengeID)
				require.NoError(t, err)
				require.Equal(t, i, rec.Tries, "tries after %d failed attempts", i)
			}
			good.RequestID = roamsign.NewRequestID()
			_, err = api.Sign(ctx, good)
			require.NoError(t, err, "the third attempt of three")
		})
	}
}
