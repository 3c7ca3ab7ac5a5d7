package devmailbox_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/devmailbox"
	"github.com/roamsign/roamsign/otp"
)

// TestClientReadsTheServersMessages: the client finds the OTP of a
// challenge by its verification code among messages in the form the
// server writes (otp.Message's text), the newest when a code repeats, and
// gives up when the Wait ends.
func TestClientReadsTheServersMessages(t *testing.T) {
	now := time.Now()
	msg := func(code, vcode string, at time.Time) devmailbox.Message {
		subject, body := (&otp.Message{OTP: roamsign.Secret(code), VerificationCode: vcode, DataHeader: "PV2026/000123", Count: 1, ExpiresAt: at.Add(5 * time.Minute)}).Text(at, nil)
		return devmailbox.Message{Time: at, To: "a@agensi.gov.my", Subject: subject, Body: body}
	}
	msgs := []devmailbox.Message{msg("111111", "4321", now.Add(-time.Minute)), msg("222222", "8765", now), msg("333333", "4321", now)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(msgs)
	}))
	defer srv.Close()
	c := &devmailbox.Client{URL: srv.URL, Wait: 300 * time.Millisecond}
	got, err := c.OTP(context.Background(), "", &roamsign.OTPResponse{VerificationCode: "4321"})
	require.NoError(t, err)
	assert.Equal(t, "333333", got.Reveal(), "the newest message with the code")
	_, err = c.OTP(context.Background(), "", &roamsign.OTPResponse{VerificationCode: "0000"})
	assert.ErrorIs(t, err, roamsign.ErrUnavailable)
}
