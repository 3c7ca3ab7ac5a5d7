package adapt_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/store/memory"
)

// A late-bound OTP (CSC getChallenge or v1 sendOTP without hashes) is sent
// before the documents are named, so its message states no number of
// documents; a bound OTP states the real count.
func TestOTPMessageCountOfLateBoundChallenge(t *testing.T) {
	r := newRealParts(t, memory.New(memory.Options{}), 1, service.Config{LateBinding: true}, nil)
	u := r.env().Enrol(t, apitest.HostA)
	ctx := roamsign.WithHost(context.Background(), apitest.HostA)

	body := func(ch *roamsign.OTPResponse) string {
		m, ok := r.mail.For(ch.ChallengeID)
		require.True(t, ok, "message delivered")
		_, b := m.Text(time.Now(), nil)
		return b
	}

	ch, err := r.svc.RequestOTPLateBound(ctx, roamsign.OTPRequest{User: u.ID, DataHeader: "CSC"})
	require.NoError(t, err)
	late := body(ch)
	require.NotContains(t, late, "Number of documents: 1")
	require.Contains(t, late, "Number of documents: set by the signing application when it uses this code")
	require.Contains(t, late, "Bilangan dokumen: ditentukan oleh aplikasi semasa kod ini digunakan")
	m, _ := r.mail.For(ch.ChallengeID)
	require.Zero(t, m.Count, "no count is known yet")
	require.True(t, m.HashesLater)

	ch, err = r.svc.RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: apitest.Hashes(3)})
	require.NoError(t, err)
	bound := body(ch)
	require.Contains(t, bound, "Number of documents: 3")
	require.Contains(t, bound, "Bilangan dokumen: 3")
}
