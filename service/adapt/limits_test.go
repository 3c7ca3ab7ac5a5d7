package adapt_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/internal/pgtest"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/store/postgres"
	"github.com/roamsign/roamsign/store/sqlite"
)

// sqlBackends opens a fresh SQLite and a fresh PostgreSQL store for a test
// run against both.
func sqlBackends() map[string]func(t *testing.T) auditStore {
	return map[string]func(t *testing.T) auditStore{
		"SQLite": func(t *testing.T) auditStore {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roamsign.db"), sqlite.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
		"Postgres": func(t *testing.T) auditStore {
			st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
	}
}

// TestRequestOTPRaceSQL: 20 parallel RequestOTP for one user with a limit
// of 5 issue exactly 5 challenges and send exactly 5 OTPs, because the
// store counts and inserts in one atomic step.
func TestRequestOTPRaceSQL(t *testing.T) {
	for name, open := range sqlBackends() {
		t.Run(name, func(t *testing.T) {
			r := newRealParts(t, open(t), 1, service.Config{}, nil, func(c *otp.Config) { c.UserRate = 5 })
			e := r.env()
			u := e.Enrol(t, apitest.HostA)
			const n = 20
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = e.API(apitest.HostA).RequestOTP(context.Background(), roamsign.OTPRequest{User: u.ID, Hashes: apitest.Hashes(1)})
				}()
			}
			wg.Wait()
			issued := 0
			for _, err := range errs {
				if err == nil {
					issued++
					continue
				}
				require.ErrorIs(t, err, roamsign.ErrRateLimited)
			}
			require.Equal(t, 5, issued)
			require.Equal(t, 5, r.mail.Count(), "OTPs sent")
		})
	}
}
