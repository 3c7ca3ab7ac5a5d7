package bench_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
)

func TestMailboxFindsTheChallengesOTP(t *testing.T) {
	msgs := []map[string]string{
		{"to": "a@x", "body": "Your digital signature OTP: 111111\nVerification code: 4242\n"},
		// Its OTP contains the other challenge's code: must not match.
		{"to": "b@x", "body": "Your digital signature OTP: 942420\nVerification code: 7777\n"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(msgs)
	}))
	defer srv.Close()
	mb := &bench.Mailbox{URL: srv.URL, Wait: 300 * time.Millisecond}
	code, err := mb.OTP(context.Background(), "", &roamsign.OTPResponse{ChallengeID: "c1", VerificationCode: "4242"})
	if err != nil || code.Reveal() != "111111" {
		t.Fatalf("OTP = %q, %v; want 111111", code.Reveal(), err)
	}
	if _, err := mb.OTP(context.Background(), "", &roamsign.OTPResponse{ChallengeID: "c2", VerificationCode: "0000"}); err == nil {
		t.Fatal("an OTP was found for a verification code no message carries")
	}
}

func TestPercentile(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond
	}
	l := bench.Summarise(ds)
	if l.N != 100 || l.P50 != 50*time.Millisecond || l.P99 != 99*time.Millisecond || l.Max != 100*time.Millisecond {
		t.Fatalf("Summarise = %+v", l)
	}
	if bench.Summarise(nil) != (bench.Latency{}) {
		t.Fatal("empty summary")
	}
}
