package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jackc/pgx/v5"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pgtest"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func rawConn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, pgtest.NewDatabase(t), Options{MaxConns: 8, Sealer: storetest.NewSealer(t)})
	})
}

// Two pools on one database, as two service replicas, behave as one.
func TestReplicas(t *testing.T) {
	storetest.RunReplicas(t, func(t *testing.T) (store.Store, store.Store) {
		dsn := pgtest.NewDatabase(t)
		k := storetest.NewSealer(t)
		return open(t, dsn, Options{MaxConns: 8, Sealer: k}), open(t, dsn, Options{MaxConns: 8, Sealer: k})
	})
}

// Replicas starting together on an empty database migrate it once.
func TestConcurrentMigrate(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	const openers = 8
	errs := make(chan error, openers)
	for range openers {
		go func() {
			s, err := Open(context.Background(), dsn, Options{MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range openers {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	var v int
	if err := rawConn(t, dsn).QueryRow(context.Background(), `SELECT version FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("schema version %d, %v", v, err)
	}
}

func TestAuditTamper(t *testing.T) {
	cases := []struct {
		name   string
		sql    []string
		seq    int64
		reason store.BreakReason
	}{
		{"edit detail", []string{`UPDATE audit SET detail = 'nothing happened' WHERE seq = 3`}, 3, store.BreakEdited},
		{"edit user", []string{`UPDATE audit SET user_id = 'someone-else' WHERE seq = 1`}, 1, store.BreakEdited},
		{"edit time", []string{`UPDATE audit SET time = time + interval '1 microsecond' WHERE seq = 4`}, 4, store.BreakEdited},
		{"delete middle", []string{`DELETE FROM audit WHERE seq = 2`}, 2, store.BreakDeleted},
		{"delete last", []string{`DELETE FROM audit WHERE seq = 5`}, 5, store.BreakTruncated},
		{"delete and renumber", []string{`DELETE FROM audit WHERE seq = 3`, `UPDATE audit SET seq = seq - 1 WHERE seq > 3`}, 3, store.BreakEdited},
		{"swap", []string{`UPDATE audit SET seq = 100 WHERE seq = 2`, `UPDATE audit SET seq = 2 WHERE seq = 3`, `UPDATE audit SET seq = 3 WHERE seq = 100`}, 2, store.BreakEdited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dsn := pgtest.NewDatabase(t)
			s := open(t, dsn, Options{})
			defer s.Close()
			storetest.SeedAudit(t, s, 5)
			conn := rawConn(t, dsn)
			for _, q := range tc.sql {
				if _, err := conn.Exec(context.Background(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			storetest.ExpectBreak(t, s, tc.seq, tc.reason)
		})
	}
}

func TestSchemaTooNew(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	open(t, dsn, Options{}).Close()
	if _, err := rawConn(t, dsn).Exec(context.Background(), `UPDATE schema_version SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	for _, skip := range []bool{false, true} {
		_, err := Open(context.Background(), dsn, Options{SkipMigrate: skip})
		if !errors.Is(err, store.ErrSchemaTooNew) || !errors.Is(err, roamsign.ErrUnsupported) {
			t.Fatalf("skip migrate %v: open of a newer schema: %v", skip, err)
		}
	}
}

func TestUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	_, err = Open(context.Background(), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable&connect_timeout=2", port), Options{})
	if !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("open of an unreachable server: %v", err)
	}
	_, err = Open(context.Background(), "postgres://%zz", Options{})
	if !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("open with a malformed DSN: %v", err)
	}
}

// A read-only database (as during a failover or maintenance) refuses
// writes with ErrUnavailable and nothing is half-done.
func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	s := open(t, dsn, Options{})
	c := storetest.NewChallenge("u1", "hr")
	if err := s.CreateChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var db string
	conn := rawConn(t, dsn)
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+db+` SET default_transaction_read_only = on`); err != nil {
		t.Fatal(err)
	}
	ro := open(t, dsn, Options{SkipMigrate: true})
	defer ro.Close()
	tx := storetest.NewTx(c)
	err := ro.BeginTransaction(ctx, c.ID, storetest.Base, tx, storetest.NewAudit(roamsign.AuditAuthorised, "u1", tx.ID))
	storetest.IsKind(t, err, roamsign.ErrUnavailable, "BeginTransaction on a read-only database")
	storetest.IsKind(t, ro.AppendAudit(ctx, storetest.NewAudit(roamsign.AuditSigned, "u1", "")), roamsign.ErrUnavailable, "AppendAudit read-only")
	storetest.ExpectUntouched(t, ro, "read-only database", c.ID, tx.ID, 0)
}

// Times keep microsecond precision and come back in UTC.
func TestTimePrecision(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.NewDatabase(t), Options{})
	defer s.Close()
	a := storetest.NewAudit(roamsign.AuditSigned, "u1", "")
	if err := s.AppendAudit(ctx, a); err != nil {
		t.Fatal(err)
	}
	if a.Time.Nanosecond()%1000 != 0 || a.Time.Nanosecond() == 0 {
		t.Fatalf("appended time %v not truncated to a non-zero microsecond", a.Time)
	}
	if _, err := store.VerifyAudit(ctx, s, store.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
}

// ScanAudit pages through the log; a page boundary changes nothing.
func TestScanPages(t *testing.T) {
	old := scanPage
	scanPage = 3
	defer func() { scanPage = old }()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	s := open(t, dsn, Options{})
	defer s.Close()
	storetest.SeedAudit(t, s, 10)
	res, err := store.VerifyAudit(ctx, s, store.VerifyOptions{})
	if err != nil || res.Records != 10 {
		t.Fatalf("VerifyAudit over pages: %+v %v", res, err)
	}
	if _, err := rawConn(t, dsn).Exec(ctx, `DELETE FROM audit WHERE seq = 7`); err != nil {
		t.Fatal(err)
	}
	storetest.ExpectBreak(t, s, 7, store.BreakDeleted)
}

// A database at the first version is migrated forward on open, keeping
// its data: users (losing the per-user OTP failure count of version 1)
// and challenges (whose MaxTries migration 3 brings to the attempts
// allowed, where earlier versions stored one more).
func TestMigrateUpgrade(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	s := open(t, dsn, Options{migrateTo: 1})
	c := storetest.NewChallenge("u1", "hr")
	s.Close()
	db := rawConn(t, dsn)
	_, err := db.Exec(ctx, `INSERT INTO challenges (id, user_id, host, nonce, mac, hash_list, count, data_header, channel, sent_to,
		created_at, expires_at, tries, max_tries, consumed, consumed_at, undeliverable)
		VALUES ($1, 'u1', 'hr', $2, $3, $4, 3, '', '', '', NULL, $5, 0, 4, false, NULL, false)`, c.ID, c.Nonce, c.MAC, c.HashList[:], c.ExpiresAt)
	require.NoError(t, err)
	_, err = db.Exec(ctx, `INSERT INTO users (id, name, hosts, media, email, devices, key_ref, chain, disabled, pin_verifier,
		pin_failures, locked, locked_at, otp_failures, created_at, updated_at)
		VALUES ('u1', 'Aminah', '["hr"]', '[]', '', '[]', 'k1', '[]', false, NULL, 2, false, NULL, 7, NULL, NULL)`)
	require.NoError(t, err)
	_, err = Open(ctx, dsn, Options{SkipMigrate: true})
	require.ErrorIs(t, err, store.ErrSchemaTooOld, "open without migrating an old schema")

	s = open(t, dsn, Options{})
	defer s.Close()
	got, err := s.GetChallenge(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, 3, got.MaxTries)
	u, err := s.GetUser(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, []roamsign.HostID{"hr"}, u.Hosts)
	require.Equal(t, 2, u.PINFailures)
	_, err = s.AddOTPFailure(ctx, "u1", "hr", storetest.Base, roamsign.OTPBackoff{}.WithDefaults())
	require.NoError(t, err, "OTP failures after upgrade")
	ok, err := s.AdvanceStep(ctx, "u1", 1)
	require.NoError(t, err)
	require.True(t, ok)
}

// Rows changed with raw SQL by a database writer without the row key are
// refused and recorded.
func TestRowTamper(t *testing.T) {
	storetest.RunTamper(t, func(t *testing.T) (store.Store, storetest.Exec) {
		dsn := pgtest.NewDatabase(t)
		s := open(t, dsn, Options{MaxConns: 4, Sealer: storetest.NewSealer(t)})
		db := rawConn(t, dsn)
		return s, func(q string, args ...any) error {
			_, err := db.Exec(context.Background(), storetest.Dollar(q), args...)
			return err
		}
	})
}

// A database written before rows were sealed is refused by a store with a
// row key until the operator seals it.
func TestRowSealUpgrade(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	unsealed := open(t, dsn, Options{MaxConns: 4})
	defer unsealed.Close()
	sealed := open(t, dsn, Options{MaxConns: 4, Sealer: storetest.NewSealer(t)})
	defer sealed.Close()
	storetest.RunUpgrade(t, unsealed, sealed)
}
