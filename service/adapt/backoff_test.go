package adapt_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/otp/otptest"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/store/memory"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// otherOTP returns a well-formed OTP that is not otp.
func otherOTP(otp roamsign.Secret, i int) roamsign.Secret {
	s := roamsign.Secret(fmt.Sprintf("%06d", i))
	if s == otp {
		s = roamsign.Secret(fmt.Sprintf("%06d", i+1))
	}
	return s
}

// TestHostCannotLockOutAnother is the attack of issue 15: host B, with
// neither PIN nor OTP, asks for challenges and sends wrong OTPs. Only host
// B is held back, for a time; host A still signs with the right PIN and
// OTP, and host B cannot spend host A's share of the OTP quota either.
func TestHostCannotLockOutAnother(t *testing.T) {
	r := newRealParts(t, memory.New(memory.Options{}), 1, service.Config{}, nil, func(c *otp.Config) {
		c.UserRate, c.UserHostRate = 0, 0 // the defaults: 20 per user, 5 per user from one host
	})
	e := r.env()
	u := e.Enrol(t, apitest.HostA, apitest.HostB)
	ctx := context.Background()
	b := e.API(apitest.HostB)
	hs := apitest.Hashes(1)

	var lastErr, signErr error
	for i := 0; i < 10; i++ {
		ch, err := b.RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hs})
		if err != nil {
			lastErr = err
			break
		}
		for j := 0; j < 3; j++ {
			_, lastErr = b.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: "Wr0ng-PIN-b",
				OTP: otherOTP(roamsign.Secret(r.mailOTP(t, u.ID, ch)), i*3+j), Hashes: hs, RequestID: roamsign.NewRequestID()})
			if roamsign.KindOf(lastErr) == roamsign.ErrRateLimited {
				signErr = lastErr
				break
			}
		}
	}
	// Host B waits: a time-bounded back-off, not a lock, and the answer
	// does not say which factor failed.
	require.ErrorIs(t, lastErr, roamsign.ErrRateLimited)
	require.ErrorIs(t, signErr, roamsign.ErrRateLimited)
	wait, ok := roamsign.RetryAfterOf(signErr)
	require.True(t, ok, "back-off without a wait: %v", signErr)
	assert.Greater(t, wait, time.Duration(0))
	assert.LessOrEqual(t, wait, time.Hour)
	_, err := b.RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hs})
	require.ErrorIs(t, err, roamsign.ErrRateLimited, "host B gets no OTP while it waits")
	for _, err := range []error{signErr, err} {
		shown := strings.ToLower(httpapi.PublicDetail(err))
		for _, factor := range []string{"pin", "otp", "nonce", "hash"} {
			assert.NotContains(t, shown, factor, "the answer a host sees names a factor")
		}
	}

	// Host A is untouched.
	ch, code := e.Challenge(t, apitest.HostA, u.ID, hs)
	res, err := e.API(apitest.HostA).Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN,
		OTP: code, Hashes: hs, RequestID: roamsign.NewRequestID()})
	require.NoError(t, err, "host A after host B's wrong OTPs")
	assert.Len(t, res.Items, 1)
	rec, err := r.st.GetUser(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, rec.Locked)
	assert.Zero(t, rec.PINFailures, "wrong PINs without the right OTP were counted")

	// Host B's share of the issuance quota is its own: after the wait it
	// can ask for OTPs up to its own limit, and host A still can after that.
	require.NoError(t, e.Admin.ClearOTPBackoff(ctx, roamsign.ClearOTPBackoffRequest{User: u.ID, Host: apitest.HostB}))
	var issued int
	for ; issued < 10; issued++ {
		if _, err := b.RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: hs}); err != nil {
			require.ErrorIs(t, err, roamsign.ErrRateLimited)
			break
		}
	}
	assert.Less(t, issued, 5, "host B issued beyond its share")
	e.Challenge(t, apitest.HostA, u.ID, hs)
}

// TestClearOTPBackoff: an administrator clears a host's OTP back-off
// without touching the PIN, and the back-off and its clearing are both in
// the audit log.
func TestClearOTPBackoff(t *testing.T) {
	r := newRealParts(t, memory.New(memory.Options{}), 1, service.Config{}, nil, func(c *otp.Config) { c.Backoff.After = 2 })
	e := r.env()
	u := e.Enrol(t, apitest.HostA)
	ctx := context.Background()
	api := e.API(apitest.HostA)
	hs := apitest.Hashes(1)
	before, err := r.st.GetUser(ctx, u.ID)
	require.NoError(t, err)

	ch, code := e.Challenge(t, apitest.HostA, u.ID, hs)
	req := roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN, Hashes: apitest.Hashes(1)}
	req.Hashes = hs
	for i := 0; i < 2; i++ {
		req.OTP, req.RequestID = otherOTP(code, i), roamsign.NewRequestID()
		_, err := api.Sign(ctx, req)
		require.ErrorIs(t, err, roamsign.ErrAuthorization)
	}
	req.OTP, req.RequestID = code, roamsign.NewRequestID()
	_, err = api.Sign(ctx, req)
	require.ErrorIs(t, err, roamsign.ErrRateLimited, "the right OTP during the wait")

	require.NoError(t, e.Admin.ClearOTPBackoff(ctx, roamsign.ClearOTPBackoffRequest{User: u.ID}))
	ch, code = e.Challenge(t, apitest.HostA, u.ID, hs)
	_, err = api.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN, OTP: code, Hashes: hs, RequestID: roamsign.NewRequestID()})
	require.NoError(t, err, "signing after the clearing, with the same PIN")
	after, err := r.st.GetUser(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, before.PINVerifier, after.PINVerifier, "clearing the OTP back-off changed the PIN")

	events := map[roamsign.AuditEvent][]string{}
	require.NoError(t, r.st.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		if a.User == u.ID {
			events[a.Event] = append(events[a.Event], string(a.Host)+" "+a.Detail)
		}
		return nil
	}))
	assert.Equal(t, []string{string(apitest.HostA) + " failures=2 wait=1m0s"}, events[roamsign.AuditOTPBackoff])
	assert.Equal(t, []string{string(apitest.HostA) + " failures=2"}, events[roamsign.AuditOTPCleared])
	require.ErrorIs(t, e.Admin.ClearOTPBackoff(ctx, roamsign.ClearOTPBackoffRequest{User: "123"}), roamsign.ErrInvalidInput)
}

// TestOTPBackoffAcrossReplicasSQL: wrong OTPs from one host sent at once
// to two replicas (two OTP managers over one database) are compared
// exactly as often as the back-off allows, because each attempt is counted
// before it is compared in one atomic step of the store.
func TestOTPBackoffAcrossReplicasSQL(t *testing.T) {
	for name, open := range sqlBackends() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			key := make([]byte, 32)
			_, _ = rand.Read(key)
			mail := &otptest.Capture{}
			replicas := make([]*otp.Manager, 2)
			for i := range replicas {
				k, _ := otp.NewHMACKey(key)
				m, err := otp.New(otp.Config{Store: st, Key: k, Delivery: &otp.Delivery{App: mail}, UserRate: -1, UserHostRate: -1, HostRate: -1})
				require.NoError(t, err)
				replicas[i] = m
			}
			user := apitest.NewUserID()
			require.NoError(t, st.CreateUser(ctx, &roamsign.UserRecord{ID: user, Hosts: []roamsign.HostID{apitest.HostA}, Devices: []string{"d1"}}))
			const challenges = 6
			hs := apitest.Hashes(1)
			type attempt struct {
				id    string
				nonce []byte
				code  roamsign.Secret
			}
			var attempts []attempt
			for i := range challenges {
				c, err := replicas[0].Issue(ctx, otp.IssueRequest{User: user, Host: apitest.HostA, Hashes: hs})
				require.NoError(t, err)
				m, _ := mail.For(c.ID)
				for j := range 3 {
					attempts = append(attempts, attempt{c.ID, c.Nonce, otherOTP(m.OTP, i*3+j)})
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, len(attempts))
			for i, a := range attempts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = replicas[i%2].Check(ctx, otp.VerifyRequest{ID: a.id, Nonce: a.nonce, OTP: a.code, Hashes: hs})
				}()
			}
			wg.Wait()
			compared := 0
			for _, err := range errs {
				if roamsign.KindOf(err) == roamsign.ErrAuthorization {
					compared++
					continue
				}
				require.ErrorIs(t, err, otp.ErrBackoff)
			}
			require.Equal(t, roamsign.OTPBackoff{}.WithDefaults().After, compared, "wrong OTPs compared across replicas")
		})
	}
}
