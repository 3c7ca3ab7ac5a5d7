package csc_test

import (
	"context"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/transport/csc"
)

// BenchmarkSignHash100 signs batches of 100 hashes with one approval:
// "native" through the in-process service (RequestOTP, Sign), "csc"
// through the CSC face over HTTPS (getChallenge, authorize, one signHash
// of all 100 hashes with the SAD), on the same service, RSA-2048 key.
// Compare the two ns/op figures of one run:
//
//	go test -run '^$' -bench SignHash100 -benchtime 20x ./transport/csc
func BenchmarkSignHash100(b *testing.B) {
	e := newBenchEnv(b)
	ctx := context.Background()
	u := e.suite.Enrol(b, apitest.HostA)
	api := apitest.AsHost(e.d.Service, apitest.HostA)
	b.Run("native", func(b *testing.B) {
		for range b.N {
			hs := apitest.Hashes(100)
			ch, err := api.RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hs, DataHeader: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			res, err := api.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN,
				OTP: roamsign.Secret(e.d.Challenges.LastOTP(u.ID)), Hashes: hs, RequestID: roamsign.NewRequestID()})
			if err != nil || len(res.Items) != 100 {
				b.Fatal(err)
			}
		}
	})
	b.Run("csc", func(b *testing.B) {
		credID := csc.CredentialID(u.ID)
		for range b.N {
			hs := apitest.Hashes(100)
			enc := csc.Hashes(hs)
			if _, err := e.a.GetChallenge(ctx, csc.GetChallengeRequest{CredentialID: credID, AuthObjectID: "OTP", Hashes: enc,
				HashAlgorithmOID: "2.16.840.1.101.3.4.2.1", Description: "bench"}); err != nil {
				b.Fatal(err)
			}
			ar, err := e.a.Authorize(ctx, csc.AuthorizeRequest{CredentialID: credID, NumSignatures: 100, Hashes: enc,
				HashAlgorithmOID: "2.16.840.1.101.3.4.2.1",
				AuthData:         []csc.AuthData{{ID: "PIN", Value: apitest.PIN.Reveal()}, {ID: "OTP", Value: e.d.Challenges.LastOTP(u.ID)}}})
			if err != nil {
				b.Fatal(err)
			}
			sigs, err := e.a.SignHash(ctx, csc.SignHashRequest{CredentialID: credID, SAD: ar.SAD, Hashes: enc,
				HashAlgorithmOID: "2.16.840.1.101.3.4.2.1", SignAlgo: csc.OIDRSA})
			if err != nil || len(sigs) != 100 {
				b.Fatal(err)
			}
		}
	})
}
