package otp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestTimesReadTheMalaysianWay: the OTP message states its expiry day
// first, on a 24-hour clock, in MYT; FormatTime is the one format.
func TestTimesReadTheMalaysianWay(t *testing.T) {
	exp := time.Date(2026, 12, 6, 13, 15, 0, 0, time.UTC) // 21:15 in Malaysia
	assert.Equal(t, "06/12/2026 21:15 MYT", FormatTime(exp, nil))
	assert.Equal(t, "06/12/2026", FormatDate(exp, nil))
	assert.Equal(t, "06/12/2026 13:15 UTC", FormatTime(exp, time.UTC))
	m := &Message{OTP: "123456", VerificationCode: "AB12", Count: 1, ExpiresAt: exp}
	_, body := m.Text(exp.Add(-5*time.Minute), nil)
	assert.Contains(t, body, "Sah sehingga: 06/12/2026 21:15 MYT (5 minit)")
	assert.Contains(t, body, "Valid until: 06/12/2026 21:15 MYT (5 minutes)")
}
