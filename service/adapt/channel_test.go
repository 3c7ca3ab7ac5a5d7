package adapt_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/store/memory"
)

// The challenge response says which channel delivered the OTP, in process
// and over HTTP: the app while the push gateway accepts, e-mail once it
// fails and the OTP falls back.
func TestOTPResponseNamesDeliveringChannel(t *testing.T) {
	var down atomic.Bool
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer gw.Close()
	push, err := otp.NewPushSender(otp.PushConfig{URL: gw.URL, AllowHTTP: true, Key: make([]byte, 32), Attempts: 1,
		Timeout: 5 * time.Second})
	require.NoError(t, err)
	r := newRealParts(t, memory.New(memory.Options{}), 2, service.Config{}, nil, func(c *otp.Config) {
		c.Delivery = &otp.Delivery{App: push, Email: c.Delivery.Email, Logger: c.Logger}
	})
	h := apitest.ServeHTTP(t, r.svc, r.svc, r.logs.Logger())
	for name, e := range map[string]*apitest.Env{"InProcess": r.env(), "HTTP": h.Env(t, r.env())} {
		t.Run(name, func(t *testing.T) {
			u := e.Enrol(t, apitest.HostA)
			require.NoError(t, e.Admin.RegisterDevice(context.Background(), roamsign.RegisterDeviceRequest{User: u.ID, DeviceID: "phone-1"}))
			down.Store(false)
			ch, err := e.API(apitest.HostA).RequestOTP(context.Background(), roamsign.OTPRequest{User: u.ID, Hashes: apitest.Hashes(1)})
			require.NoError(t, err)
			require.Equal(t, roamsign.ChannelApp, ch.Channel, "push delivered")
			down.Store(true)
			ch, err = e.API(apitest.HostA).RequestOTP(context.Background(), roamsign.OTPRequest{User: u.ID, Hashes: apitest.Hashes(1)})
			require.NoError(t, err)
			require.Equal(t, roamsign.ChannelEmail, ch.Channel, "e-mail delivered after the push failed")
		})
	}
}
