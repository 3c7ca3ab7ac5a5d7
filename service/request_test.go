package service_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/service"
)

// TestRequestOTPRefusesInvisibleHeader: the service refuses data headers
// with bidirectional or invisible format characters, not only C0/C1
// controls, before a challenge is issued.
func TestRequestOTPRefusesInvisibleHeader(t *testing.T) {
	d := apitest.NewMemDeployment(t, service.Config{})
	e := d.Env()
	u := e.Enrol(t, apitest.HostA)
	for _, h := range []string{"PV2026/\u202e321000", "PV\u2067x", "PV\u200e1", "PV\u00ad1", "PV\u2028"} {
		_, err := e.API(apitest.HostA).RequestOTP(context.Background(), roamsign.OTPRequest{User: u.ID, Hashes: apitest.Hashes(1), DataHeader: h})
		require.ErrorIs(t, err, roamsign.ErrInvalidInput, "%+q", h)
	}
	require.Empty(t, d.Challenges.LastOTP(u.ID), "an OTP was issued for a refused header")
}
