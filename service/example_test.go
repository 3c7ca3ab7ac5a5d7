package service_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/store/memory"
)

// Example assembles a service from its parts (here in-memory stand-ins for
// the store, key store and OTP challenger), enrols a user and runs the
// host flow in-process: Medium, RequestOTP, Sign.
func Example() {
	ctx := context.Background()
	st := memory.New(memory.Options{})
	otps := apitest.NewMemChallenger(st)
	svc, err := service.New(service.Config{PIN: service.PINParams{MemoryKiB: 1024, Time: 1}}, service.Deps{
		Store: st, Keys: apitest.NewSoftKeys(), Challenges: otps,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}

	// Administration: enrol, certify the key, set the PIN.
	user := roamsign.UserID("900101145678")
	enr, err := svc.Enrol(ctx, roamsign.EnrolRequest{User: user, Name: "AHMAD BIN ALI", Hosts: []roamsign.HostID{"epenyata"}, Algorithm: roamsign.ECP256})
	if err != nil {
		panic(err)
	}
	csr, _ := x509.ParseCertificateRequest(enr.CSR)
	ca, _ := testpki.NewRoot(testpki.Options{})
	leaf, _ := ca.IssueLeaf(csr.Subject.CommonName, string(user), csr.PublicKey, testpki.LeafOptions{})
	_ = svc.ImportChain(ctx, roamsign.ImportChainRequest{User: user, Chain: [][]byte{leaf.Raw, ca.Cert.Raw}})
	_ = svc.SetPIN(ctx, roamsign.SetPINRequest{User: user, New: "Tr0ub4dor&3"})

	// The host system's flow, authenticated as "epenyata".
	hctx := roamsign.WithHost(ctx, "epenyata")
	m, _ := svc.Medium(hctx, roamsign.MediumRequest{User: user})
	fmt.Println("medium:", m.Use)
	hashes := []roamsign.Hash{roamsign.NewHash(roamsign.SHA256, []byte("surat rasmi"))}
	ch, err := svc.RequestOTP(hctx, roamsign.OTPRequest{User: user, Hashes: hashes, DataHeader: "SURAT-2026/001"})
	if err != nil {
		panic(err)
	}
	otp := roamsign.Secret(otps.LastOTP(user)) // the signer reads it from the phone or mailbox
	res, err := svc.Sign(hctx, roamsign.SignRequest{
		ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: "Tr0ub4dor&3", OTP: otp,
		Hashes: hashes, RequestID: "SURAT-2026-001-a",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("signed:", len(res.Items), res.Items[0].Status, res.SignatureAlgorithm)
	// Output:
	// medium: roaming+otp
	// signed: 1 signed ECDSA-SHA-256
}
