package adapt_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/internal/pgtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/postgres"
	"github.com/roamsign/roamsign/store/sqlite"
	"github.com/roamsign/roamsign/store/storetest"
)

// A user row put back, with raw SQL, from an older copy sealed before the
// user was locked carries a valid seal; the service still refuses to sign
// for it, because the audit log's latest word on the user is the lock.
func TestRestoredUserRowRefused(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "roamsign.db")
		st, err := sqlite.Open(context.Background(), path, sqlite.Options{Sealer: storetest.NewSealer(t)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		db, err := sql.Open("sqlite", "file:"+path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		restoredUserRow(t, st, func(q string, args ...any) error {
			_, err := db.Exec(q, args...)
			return err
		})
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		dsn := pgtest.NewDatabase(t)
		st, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 4, Sealer: storetest.NewSealer(t)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		conn, err := pgx.Connect(context.Background(), dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close(context.Background()) })
		restoredUserRow(t, st, func(q string, args ...any) error {
			_, err := conn.Exec(context.Background(), storetest.Dollar(q), args...)
			return err
		})
	})
}

func restoredUserRow(t *testing.T, st store.Store, exec storetest.Exec) {
	ctx := context.Background()
	chal := apitest.NewMemChallenger(st)
	svc, err := service.New(service.Config{PIN: apitest.FastPIN, MaxPINFailures: 3}, service.Deps{
		Store: st, Keys: apitest.NewSoftKeys(), Challenges: chal,
	})
	require.NoError(t, err)
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	ca, err := root.NewIntermediate(testpki.Options{})
	require.NoError(t, err)
	e := &apitest.Env{
		API:   func(h roamsign.HostID) roamsign.API { return apitest.AsHost(svc, h) },
		Admin: svc,
		OTP:   func(_ testing.TB, u roamsign.UserID, _ *roamsign.OTPResponse) string { return chal.LastOTP(u) },
		CA:    ca,
	}
	u := e.Enrol(t, apitest.HostA)
	sign := func(pin roamsign.Secret) error {
		hs := apitest.Hashes(1)
		ch, otp := e.Challenge(t, apitest.HostA, u.ID, hs)
		_, err := e.API(apitest.HostA).Sign(ctx, roamsign.SignRequest{
			ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, OTP: otp, PIN: pin, Hashes: hs, RequestID: roamsign.NewRequestID(),
		})
		return err
	}
	// The writer keeps a copy of the row, sealed while the user was not
	// locked.
	require.NoError(t, exec(`CREATE TABLE saved AS SELECT * FROM users WHERE 1 = 0`))
	require.NoError(t, exec(`INSERT INTO saved SELECT * FROM users WHERE id = ?`, u.ID))
	var err2 error
	for range 3 {
		err2 = sign("Wr0ng#PIN1")
	}
	require.ErrorIs(t, err2, roamsign.ErrLocked, "three wrong PINs lock")
	_, err = e.API(apitest.HostA).RequestOTP(ctx, roamsign.OTPRequest{User: u.ID, Hashes: apitest.Hashes(1)})
	require.ErrorIs(t, err, roamsign.ErrLocked, "locked")

	require.NoError(t, exec(`DELETE FROM users WHERE id = ?`, u.ID))
	require.NoError(t, exec(`INSERT INTO users SELECT * FROM saved`))
	got, err := st.GetUser(ctx, u.ID)
	require.NoError(t, err, "the restored copy carries a valid seal")
	require.False(t, got.Locked)

	err = sign(apitest.PIN)
	require.ErrorIs(t, err, roamsign.ErrUnavailable, "signed for a user row restored from before the lock")
	found := false
	require.NoError(t, st.ScanAudit(ctx, 1, func(a *roamsign.AuditRecord) error {
		found = found || (a.Event == roamsign.AuditTampered && a.User == u.ID)
		return nil
	}))
	require.True(t, found, "no audit record of the refusal")

	// An administrator's reset is the way back.
	require.NoError(t, svc.ResetPIN(ctx, roamsign.ResetPINRequest{User: u.ID, New: apitest.PIN}))
	require.NoError(t, sign(apitest.PIN), "signing after the reset")
}
