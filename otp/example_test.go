package otp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/otp/otptest"
)

// The whole flow: issue a challenge over two hashes, deliver the OTP (here
// to a capturing sender standing in for the app), and verify it once.
func ExampleManager() {
	ctx := context.Background()
	store := otptest.NewStore(&roamsign.UserRecord{ID: "900101145678", Hosts: []roamsign.HostID{"hr"}, Devices: []string{"phone-1"}})
	app := &otptest.Capture{Ch: roamsign.ChannelApp}
	key, _ := otp.NewHMACKey(bytes.Repeat([]byte{1}, 32)) // use a secret key, or an HSM-held MACKey
	m, _ := otp.New(otp.Config{
		Store: store, Key: key, Delivery: &otp.Delivery{App: app},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	hashes := []roamsign.Hash{roamsign.NewHash(roamsign.SHA256, []byte("page 1")), roamsign.NewHash(roamsign.SHA256, []byte("page 2"))}

	c, err := m.Issue(ctx, otp.IssueRequest{User: "900101145678", Host: "hr", Hashes: hashes, DataHeader: "SURAT/2026/42"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("channel:", c.Channel, "verification code digits:", len(c.VerificationCode))

	msg, _ := app.Last() // what the signer's app shows
	_, err = m.Verify(ctx, otp.VerifyRequest{ID: c.ID, Nonce: c.Nonce, OTP: msg.OTP, Hashes: hashes})
	fmt.Println("first use:", err)
	_, err = m.Verify(ctx, otp.VerifyRequest{ID: c.ID, Nonce: c.Nonce, OTP: msg.OTP, Hashes: hashes})
	fmt.Println("second use:", err)
	// Output:
	// channel: app verification code digits: 4
	// first use: <nil>
	// second use: otp.Verify: challenge already used
}

func ExampleVerificationCode() {
	nonce := []byte("0123456789abcdef")
	digest := roamsign.HashListDigest([]roamsign.Hash{roamsign.NewHash(roamsign.SHA256, []byte("doc"))})
	fmt.Println(len(otp.VerificationCode(nonce, digest)))
	// Output: 4
}

// RFC 6238 Appendix B, SHA-256 at T = 59 s.
func ExampleTOTP() {
	t := otp.TOTP{Hash: otp.HMACSHA256, Digits: 8}
	code, _ := t.At([]byte("12345678901234567890123456789012"), time.Unix(59, 0))
	fmt.Println(code)
	// Output: 46119246
}

// RFC 6287 Appendix C, one-way challenge-response.
func ExampleParseSuite() {
	s, _ := otp.ParseSuite("OCRA-1:HOTP-SHA1-6:QN08")
	r, _ := s.Compute([]byte("12345678901234567890"), otp.OCRAInput{Question: "00000000"})
	fmt.Println(r)
	// Output: 237653
}

// Development set-up: the OTP is printed, never in production.
func ExampleNewDevConsoleSender() {
	d := &otp.Delivery{Console: otp.NewDevConsoleSender(os.Stdout)}
	ch, sentTo, _ := d.Deliver(context.Background(), otp.Recipient{User: "900101145678"},
		&otp.Message{ChallengeID: "c1", OTP: "123456", VerificationCode: "0042", ExpiresAt: time.Date(2026, 1, 1, 9, 5, 0, 0, time.UTC)}, "")
	fmt.Println(ch, sentTo)
	// Output:
	// [DEV OTP] user 9001******78 challenge c1: OTP 123456, verification code 0042, document "", expires 2026-01-01 09:05:00Z
	// console console
}
