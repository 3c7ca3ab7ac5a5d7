package csc_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/internal/pgtest"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/postgres"
	"github.com/roamsign/roamsign/store/sqlite"
	"github.com/roamsign/roamsign/transport/csc"
	"github.com/roamsign/roamsign/transport/httpapi"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// sqlStores opens a fresh SQLite and a fresh PostgreSQL store.
func sqlStores() map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"SQLite": func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roamsign.db"), sqlite.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
		"Postgres": func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
	}
}

// TestReplicasShareSAD: two service instances, each with its own CSC
// handler, on one database (the shared state of replicas behind a load
// balancer). The OTP is asked on one, authorize runs on the other, and
// 100 concurrent signHash calls with the one SAD, spread over both,
// release each hash exactly once.
func TestReplicasShareSAD(t *testing.T) {
	for name, open := range sqlStores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			d := apitest.NewMemDeployment(t, service.Config{})
			chal := apitest.NewMemChallenger(st)
			chal.OTPOnly = true
			keys := &httpapi.APIKeys{}
			key, _ := httpapi.NewAPIKey()
			require.NoError(t, keys.Add(apitest.HostA, key))
			var clients [2]*csc.Client
			var svcs [2]*service.Service
			for i := range 2 {
				svc, err := service.New(service.Config{PIN: apitest.FastPIN}, service.Deps{
					Store: st, Keys: d.Keys, Challenges: chal, Logger: d.Logs.Logger()})
				require.NoError(t, err)
				svcs[i] = svc
				srv := httptest.NewTLSServer(csc.Handler(svc, csc.Options{Auth: &httpapi.HostAuth{Keys: keys}, State: st,
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
				t.Cleanup(srv.Close)
				clients[i], err = csc.NewClient(srv.URL+"/csc/v2", csc.ClientOptions{HTTPClient: srv.Client(), AccessToken: key})
				require.NoError(t, err)
			}
			d.Service = svcs[0]
			env := d.Env()
			u := env.Enrol(t, apitest.HostA)
			ctx := context.Background()
			hs := apitest.Hashes(100)
			oid := hs[0].Algorithm.OID().String()
			credID := csc.CredentialID(u.ID)
			_, err := clients[0].GetChallenge(ctx, csc.GetChallengeRequest{CredentialID: credID, AuthObjectID: "OTP",
				Hashes: csc.Hashes(hs), HashAlgorithmOID: oid})
			require.NoError(t, err)
			res, err := clients[1].Authorize(ctx, csc.AuthorizeRequest{CredentialID: credID, NumSignatures: len(hs),
				Hashes: csc.Hashes(hs), HashAlgorithmOID: oid,
				AuthData: []csc.AuthData{{ID: "PIN", Value: apitest.PIN.Reveal()}, {ID: "OTP", Value: chal.LastOTP(u.ID)}}})
			require.NoError(t, err)

			// 100 calls, two per hash for half of the hashes, over both
			// replicas: each of those hashes once, and nothing twice.
			var ok atomic.Int32
			got := make([]atomic.Int32, len(hs))
			var wg sync.WaitGroup
			for i := range 100 {
				wg.Go(func() {
					j := i % 50
					sigs, err := clients[i%2].SignHash(ctx, signReq(u, res.SAD, hs[j:j+1]))
					if err != nil {
						if ce, isCSC := csc.IsCSCError(err); !isCSC || ce.Code != "invalid_request" {
							t.Errorf("call %d: %v", i, err)
						}
						return
					}
					apitest.CheckRaw(t, u.Chain, hs[j], sigs[0])
					ok.Add(1)
					got[j].Add(1)
				})
			}
			wg.Wait()
			require.Equal(t, int32(50), ok.Load())
			for j := range 50 {
				require.Equal(t, int32(1), got[j].Load(), "hash %d", j)
			}
			// The other half, concurrently from both replicas, then the SAD
			// is spent everywhere.
			errs := make([]error, 50)
			for j := 50; j < 100; j++ {
				wg.Go(func() {
					_, errs[j-50] = clients[j%2].SignHash(ctx, signReq(u, res.SAD, hs[j:j+1]))
				})
			}
			wg.Wait()
			for j, err := range errs {
				require.NoError(t, err, "hash %d", 50+j)
			}
			for i := range 2 {
				_, err = clients[i].SignHash(ctx, signReq(u, res.SAD, hs[:1]))
				wantCSC(t, err, badRequest, "invalid_request")
			}
			signed := 0
			require.NoError(t, st.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
				if a.Event == roamsign.AuditSigned && a.User == u.ID {
					signed++
				}
				return nil
			}))
			require.Equal(t, 1, signed, "one approval, one transaction")
		})
	}
}
