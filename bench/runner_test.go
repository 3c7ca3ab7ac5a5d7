package bench_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
)

func TestMailboxFindsTheChallengesOTP(t *testing.T) {
	msgs := []map[string]string{
		{"time": "2026-01-01T10:00:01Z", "to": "a@x", "body": "Your digital signature OTP: 111111\nVerification code: 4242\n"},
		// An older message with the same (short) verification code.
		{"time": "2026-01-01T09:59:00Z", "to": "c@x", "body": "Your digital signature OTP: 222222\nVerification code: 4242\n"},
		// Its OTP contains the other challenge's code: must not match.
		{"time": "2026-01-01T10:00:02Z", "to": "b@x", "body": "Your digital signature OTP: 942420\nVerification code: 7777\n"},
	}
	reversed := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		out := append([]map[string]string(nil), msgs...)
		if reversed {
			for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
				out[i], out[j] = out[j], out[i]
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()
	mb := &bench.Mailbox{URL: srv.URL, Wait: 300 * time.Millisecond}
	for _, reversed = range []bool{false, true} {
		code, err := mb.OTP(context.Background(), "", &roamsign.OTPResponse{ChallengeID: "c1", VerificationCode: "4242"})
		require.NoError(t, err)
		require.Equal(t, "111111", code.Reveal(), "the newest message with the code (mailbox reversed: %v)", reversed)
	}
	_, err := mb.OTP(context.Background(), "", &roamsign.OTPResponse{ChallengeID: "c2", VerificationCode: "0000"})
	require.Error(t, err, "an OTP was found for a verification code no message carries")
}

func TestPercentile(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond
	}
	require.Equal(t, bench.Latency{N: 100, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}, bench.Summarise(ds))
	require.Equal(t, bench.Latency{}, bench.Summarise(nil), "empty summary")
}
