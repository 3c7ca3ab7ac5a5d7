package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/storetest"
)

func open(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "roamsign.db"), Options{Sealer: storetest.NewSealer(t)})
	})
}

// Two stores on one file (two processes, in effect) behave as one.
func TestReplicas(t *testing.T) {
	storetest.RunReplicas(t, func(t *testing.T) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "roamsign.db")
		k := storetest.NewSealer(t)
		return open(t, path, Options{Sealer: k}), open(t, path, Options{Sealer: k})
	})
}

// raw opens a second, unrestricted connection to the file, as an attacker
// with file access would.
func raw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAuditTamper(t *testing.T) {
	cases := []struct {
		name   string
		sql    []string
		seq    int64
		reason store.BreakReason
	}{
		{"edit detail", []string{`UPDATE audit SET detail = 'nothing happened' WHERE seq = 3`}, 3, store.BreakEdited},
		{"edit outcome", []string{`UPDATE audit SET outcome = 'forbidden' WHERE seq = 1`}, 1, store.BreakEdited},
		{"edit time", []string{`UPDATE audit SET time = time + 1 WHERE seq = 4`}, 4, store.BreakEdited},
		{"delete middle", []string{`DELETE FROM audit WHERE seq = 2`}, 2, store.BreakDeleted},
		{"delete first", []string{`DELETE FROM audit WHERE seq = 1`}, 1, store.BreakDeleted},
		{"delete last", []string{`DELETE FROM audit WHERE seq = 5`}, 5, store.BreakTruncated},
		{"delete last and head", []string{`DELETE FROM audit WHERE seq = 5`, `UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit WHERE seq = 4)`}, 0, ""},
		{"delete and renumber", []string{`DELETE FROM audit WHERE seq = 3`, `UPDATE audit SET seq = seq - 1 WHERE seq > 3`}, 3, store.BreakEdited},
		{"swap", []string{`UPDATE audit SET seq = 100 WHERE seq = 2`, `UPDATE audit SET seq = 2 WHERE seq = 3`, `UPDATE audit SET seq = 3 WHERE seq = 100`}, 2, store.BreakEdited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "roamsign.db")
			s := open(t, path, Options{})
			defer s.Close()
			storetest.SeedAudit(t, s, 5)
			db := raw(t, path)
			// The triggers refuse edits through SQL...
			if _, err := db.Exec(tc.sql[0]); err == nil {
				t.Fatal("append-only trigger did not refuse the edit")
			}
			// ...but someone with the file can drop them.
			for _, q := range []string{`DROP TRIGGER audit_no_update`, `DROP TRIGGER audit_no_delete`} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			for _, q := range tc.sql {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if tc.reason == "" {
				// Deleting the tail and rewinding the head is only caught
				// by an external anchor (ExpectHead or a checkpoint copy).
				_, err := store.VerifyAudit(context.Background(), s, store.VerifyOptions{ExpectHead: 5})
				var brk *store.ChainBreakError
				if !errors.As(err, &brk) || brk.Reason != store.BreakTruncated {
					t.Fatalf("truncated log with rewound head: %v", err)
				}
				return
			}
			storetest.ExpectBreak(t, s, tc.seq, tc.reason)
		})
	}
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roamsign.db")
	open(t, path, Options{}).Close()
	if _, err := raw(t, path).Exec(`UPDATE schema_version SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err := Open(context.Background(), path, Options{ReadOnly: ro})
		if !errors.Is(err, store.ErrSchemaTooNew) || !errors.Is(err, roamsign.ErrUnsupported) {
			t.Fatalf("read-only %v: open of a newer schema: %v", ro, err)
		}
	}
}

func TestCorruptFile(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte("this is not an SQLite database, just some text long enough to have a header........"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), garbage, Options{})
	if !errors.Is(err, store.ErrCorrupt) || !errors.Is(err, roamsign.ErrInternal) {
		t.Fatalf("open of a non-database: %v", err)
	}

	// A real database with damaged pages is caught by the integrity check.
	path := filepath.Join(dir, "damaged.db")
	s := open(t, path, Options{})
	storetest.SeedAudit(t, s, 300)
	s.Close()
	raw(t, path).Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 5*4096 {
		t.Fatalf("database unexpectedly small: %d bytes", len(b))
	}
	for i := 2 * 4096; i < len(b); i += 3 {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), path, Options{IntegrityCheck: true})
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("open of a damaged database with IntegrityCheck: %v", err)
	}
}

func TestUnavailable(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "missing-dir", "x.db"), Options{})
	if !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("open in a missing directory: %v", err)
	}
	_, err = Open(context.Background(), filepath.Join(t.TempDir(), "absent.db"), Options{ReadOnly: true})
	if !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("read-only open of a missing file: %v", err)
	}
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=memory"} {
		_, err := Open(context.Background(), p, Options{})
		if !errors.Is(err, roamsign.ErrInvalidInput) {
			t.Fatalf("Open(%q): %v", p, err)
		}
	}
}

// A read-only store reads and verifies, refuses every write with
// ErrUnavailable and changes nothing.
func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roamsign.db")
	s := open(t, path, Options{})
	c := storetest.NewChallenge("u1", "hr")
	if err := s.CreateChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	storetest.SeedAudit(t, s, 3)
	s.Close()

	ro := open(t, path, Options{ReadOnly: true})
	defer ro.Close()
	if _, err := store.VerifyAudit(ctx, ro, store.VerifyOptions{}); err != nil {
		t.Fatalf("VerifyAudit read-only: %v", err)
	}
	storetest.IsKind(t, ro.ConsumeChallenge(ctx, c.ID, storetest.Base), roamsign.ErrUnavailable, "consume on read-only store")
	storetest.IsKind(t, ro.AppendAudit(ctx, storetest.NewAudit(roamsign.AuditSigned, "u1", "")), roamsign.ErrUnavailable, "append on read-only store")
	storetest.ExpectUntouched(t, ro, "read-only store", c.ID, "", 3)
}

// A store whose file becomes read-only underneath it (the read-only
// connection stands in for a read-only mount) reports ErrUnavailable and
// leaves nothing half-done.
func TestWriteFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roamsign.db")
	s := open(t, path, Options{})
	defer s.Close()
	c := storetest.NewChallenge("u1", "hr")
	if err := s.CreateChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	// Make the writer connection read-only, as a remount would.
	if _, err := s.w.Exec(`PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	tx := storetest.NewTx(c)
	err := s.BeginTransaction(ctx, c.ID, storetest.Base, tx, storetest.NewAudit(roamsign.AuditAuthorised, "u1", tx.ID))
	storetest.IsKind(t, err, roamsign.ErrUnavailable, "BeginTransaction on a read-only database")
	if _, err := s.w.Exec(`PRAGMA query_only = 0`); err != nil {
		t.Fatal(err)
	}
	storetest.ExpectUntouched(t, s, "failed BeginTransaction", c.ID, tx.ID, 0)
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roamsign.db")
	s := open(t, path, Options{})
	storetest.SeedAudit(t, s, 2)
	s.Close()
	s = open(t, path, Options{})
	defer s.Close()
	var v int
	var mode, fk string
	if err := s.w.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("schema version %d, %v", v, err)
	}
	if err := s.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q, %v", mode, err)
	}
	if err := s.w.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != "1" {
		t.Fatalf("foreign keys %q, %v", fk, err)
	}
	var sync int
	if err := s.w.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Fatalf("synchronous = %d (want 2, FULL), %v", sync, err)
	}
	for _, f := range []string{path, path + "-wal"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	if seq, _, _ := s.AuditHead(context.Background()); seq != 2 {
		t.Fatalf("audit head after reopen = %d", seq)
	}
}

// A database at the first version is migrated forward on open, keeping
// its data: the audit chain, users (losing the per-user OTP failure
// count of version 1) and challenges (whose MaxTries migration 3 brings
// to the attempts allowed, where earlier versions stored one more).
func TestMigrateUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roamsign.db")
	s := open(t, path, Options{migrateTo: 1})
	storetest.SeedAudit(t, s, 2)
	c := storetest.NewChallenge("u1", "hr")
	s.Close()
	db := raw(t, path)
	_, err := db.Exec(`INSERT INTO challenges (id, user_id, host, nonce, mac, hash_list, count, data_header, channel, sent_to,
		created_at, expires_at, tries, max_tries, consumed, consumed_at, undeliverable)
		VALUES (?, 'u1', 'hr', ?, ?, ?, 3, '', '', '', NULL, ?, 0, 4, 0, NULL, 0)`, c.ID, c.Nonce, c.MAC, c.HashList[:], c.ExpiresAt.UnixMicro())
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO users (id, name, hosts, media, email, devices, key_ref, chain, disabled, pin_verifier,
		pin_failures, locked, locked_at, otp_failures, created_at, updated_at)
		VALUES ('u1', 'Aminah', '["hr"]', '[]', '', '[]', 'k1', '[]', 0, NULL, 2, 0, NULL, 7, NULL, NULL)`)
	require.NoError(t, err)
	// Read-only opens refuse a schema that needs migrating.
	_, err = Open(ctx, path, Options{ReadOnly: true})
	require.ErrorIs(t, err, store.ErrSchemaTooOld, "read-only open of an old schema")

	s = open(t, path, Options{})
	defer s.Close()
	ok, err := s.AdvanceStep(ctx, "u1", 1)
	require.NoError(t, err)
	require.True(t, ok, "AdvanceStep after upgrade")
	_, err = store.VerifyAudit(ctx, s, store.VerifyOptions{})
	require.NoError(t, err, "audit after upgrade")
	got, err := s.GetChallenge(ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, 3, got.MaxTries)
	u, err := s.GetUser(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, []roamsign.HostID{"hr"}, u.Hosts)
	require.Equal(t, 2, u.PINFailures)
	_, err = s.AddOTPFailure(ctx, "u1", "hr", storetest.Base, roamsign.OTPBackoff{}.WithDefaults())
	require.NoError(t, err, "OTP failures after upgrade")
}

// Rows changed with raw SQL by a database writer without the row key are
// refused and recorded.
func TestRowTamper(t *testing.T) {
	storetest.RunTamper(t, func(t *testing.T) (store.Store, storetest.Exec) {
		path := filepath.Join(t.TempDir(), "roamsign.db")
		s := open(t, path, Options{Sealer: storetest.NewSealer(t)})
		db := raw(t, path)
		return s, func(q string, args ...any) error {
			_, err := db.Exec(q, args...)
			return err
		}
	})
}

// A database written before rows were sealed is refused by a store with a
// row key until the operator seals it.
func TestRowSealUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roamsign.db")
	unsealed := open(t, path, Options{})
	defer unsealed.Close()
	sealed := open(t, path, Options{Sealer: storetest.NewSealer(t)})
	defer sealed.Close()
	storetest.RunUpgrade(t, unsealed, sealed)
}
