package otp_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/otp/otptest"
)

// BenchmarkIssueVerify measures one Issue plus one Verify of a challenge
// over 10 SHA-256 hashes with the in-memory store and a capturing sender.
// BenchmarkBaselineHMAC is the raw cost of the two HMAC-SHA-256 operations
// the pair needs, for comparison in the same run.
func BenchmarkIssueVerify(b *testing.B) {
	ctx := context.Background()
	var hs []roamsign.Hash
	for i := 0; i < 10; i++ {
		hs = append(hs, roamsign.NewHash(roamsign.SHA256, []byte(fmt.Sprint(i))))
	}
	store := otptest.NewStore(&roamsign.UserRecord{ID: testUser, Hosts: []roamsign.HostID{"hr"}, Devices: []string{"d"}})
	app := &otptest.Capture{}
	clock := otptest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	key, _ := otp.NewHMACKey(testKey)
	m, err := otp.New(otp.Config{Store: store, Key: key, Delivery: &otp.Delivery{App: app}, Now: clock.Now,
		UserRate: -1, UserHostRate: -1, HostRate: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := m.Issue(ctx, otp.IssueRequest{User: testUser, Host: "hr", Hashes: hs})
		if err != nil {
			b.Fatal(err)
		}
		msg, _ := app.Last()
		if _, err := m.Verify(ctx, otp.VerifyRequest{ID: c.ID, Nonce: c.Nonce, OTP: msg.OTP, Hashes: hs}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselineHMAC(b *testing.B) {
	msg := make([]byte, 96)
	b.ReportAllocs()
	for b.Loop() {
		for i := 0; i < 2; i++ {
			h := hmac.New(sha256.New, testKey)
			h.Write(msg)
			_ = h.Sum(nil)
		}
	}
}
