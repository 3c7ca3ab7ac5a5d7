package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/internal/sqlcodec"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SchemaVersion is the schema version this build writes and understands.
var SchemaVersion = sqlcodec.MustCount(migrations)

// Options configure [Open]. The zero value is a read-write store with the
// default timeouts and clock.
type Options struct {
	// Now is the clock for audit records without a time and for
	// ExpireTransactions; time.Now when nil.
	Now func() time.Time
	// BusyTimeout is how long a connection waits for a lock held by another
	// connection or process before retrying; 5 s when zero.
	BusyTimeout time.Duration
	// ReadOnly opens the database read-only (for example to verify the
	// audit log); it must exist with the current schema. Writes fail with
	// ErrUnavailable.
	ReadOnly bool
	// IntegrityCheck runs PRAGMA quick_check on open, which reads the whole
	// file; a damaged file is then reported as [store.ErrCorrupt] at open
	// rather than when the damaged page is first read.
	IntegrityCheck bool
	// MaxReaders bounds the read connections; 4 when zero.
	MaxReaders int
	// Sealer, when set, seals the rows the store writes and refuses rows
	// whose seal is missing or wrong (see [store.Sealer]); also
	// [Store.SetSealer].
	Sealer *store.Sealer

	driver    string // "sqlite" (modernc); tests may swap in another driver
	migrateTo int    // when set, migrate no further than this version (tests build older schemas)
}

// Store is the SQLite [store.Store].
type Store struct {
	w, r   *sql.DB // one writer connection, a pool of readers
	now    func() time.Time
	ro     bool
	closed atomic.Bool
	seal   atomic.Pointer[store.Sealer]
}

var _ store.Store = (*Store)(nil)

// Open opens (creating it if needed) the SQLite database at path and
// applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	const op = "sqlite.Open"
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "path must name a database file")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.MaxReaders <= 0 {
		opts.MaxReaders = 4
	}
	if opts.driver == "" {
		opts.driver = "sqlite"
	}
	s := &Store{now: opts.Now, ro: opts.ReadOnly}
	s.seal.Store(opts.Sealer)
	var err error
	if !opts.ReadOnly {
		// The file holds PIN verifiers and OTP MACs: create it readable by
		// the owner only (SQLite gives the -wal and -shm files the same mode).
		if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
			f.Close()
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot create the database file")
		}
		s.w, err = sql.Open(opts.driver, dsn(opts, path, false))
		if err != nil {
			return nil, classify(op, err)
		}
		s.w.SetMaxOpenConns(1)
		s.w.SetMaxIdleConns(1)
		s.w.SetConnMaxIdleTime(0)
		s.w.SetConnMaxLifetime(0)
		if err := s.migrate(ctx, opts.migrateTo); err != nil {
			s.w.Close()
			return nil, err
		}
	}
	s.r, err = sql.Open(opts.driver, dsn(opts, path, true))
	if err != nil {
		s.closeDBs()
		return nil, classify(op, err)
	}
	s.r.SetMaxOpenConns(opts.MaxReaders)
	s.r.SetMaxIdleConns(opts.MaxReaders)
	if opts.ReadOnly {
		v, err := s.version(ctx, s.r)
		if err == nil {
			switch {
			case v > SchemaVersion:
				err = sqlcodec.TooNew(v, SchemaVersion)
			case v < SchemaVersion:
				err = sqlcodec.TooOld(v, SchemaVersion)
			}
		}
		if err != nil {
			s.closeDBs()
			return nil, err
		}
	}
	if opts.IntegrityCheck {
		var res string
		if err := s.r.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
			s.closeDBs()
			return nil, classify(op, err)
		}
		if res != "ok" {
			s.closeDBs()
			return nil, fmt.Errorf("%w: quick_check: %.200s", store.ErrCorrupt, res)
		}
	}
	return s, nil
}

func dsn(opts Options, path string, reader bool) string {
	ms := opts.BusyTimeout.Milliseconds()
	q := url.Values{}
	if opts.driver == "sqlite" {
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", ms))
		q.Add("_pragma", "foreign_keys(1)")
		if reader {
			q.Add("_pragma", "query_only(1)")
		} else {
			q.Add("_pragma", "journal_mode(WAL)")
			q.Add("_pragma", "synchronous(FULL)")
			q.Set("_txlock", "immediate")
		}
	} else { // mattn/go-sqlite3 spelling, used by the driver comparison benchmark
		q.Set("_busy_timeout", strconv.FormatInt(ms, 10))
		q.Set("_foreign_keys", "1")
		if reader {
			q.Set("_query_only", "1")
		} else {
			q.Set("_journal_mode", "WAL")
			q.Set("_synchronous", "FULL")
			q.Set("_txlock", "immediate")
		}
	}
	if reader && opts.ReadOnly {
		q.Set("mode", "ro")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

func (s *Store) version(ctx context.Context, db *sql.DB) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").Scan(&n)
	if err != nil {
		return 0, classify("sqlite.Open", err)
	}
	if n == 0 {
		return 0, nil
	}
	var v int
	if err := db.QueryRowContext(ctx, "SELECT version FROM schema_version").Scan(&v); err != nil {
		return 0, classify("sqlite.Open", err)
	}
	return v, nil
}

// migrate applies the embedded migrations newer than the database's
// schema_version, each in its own immediate transaction.
func (s *Store) migrate(ctx context.Context, upTo int) error {
	const op = "sqlite.Open"
	names, err := sqlcodec.Migrations(migrations)
	if err != nil {
		return roamsign.Wrap(roamsign.ErrInternal, op, err, "reading migrations")
	}
	if upTo > 0 && upTo < len(names) {
		names = names[:upTo]
	}
	return s.writeTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
			return err
		}
		var v int
		err := tx.QueryRowContext(ctx, "SELECT version FROM schema_version").Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version) VALUES (0)"); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		return sqlcodec.Apply(migrations, names, v, func(body string) error {
			_, err := tx.ExecContext(ctx, body)
			return err
		}, func(v int) error {
			_, err := tx.ExecContext(ctx, "UPDATE schema_version SET version = ?", v)
			return err
		})
	})
}

// Codes of SQLite primary result codes used to classify errors.
const (
	codeBusy       = 5
	codeLocked     = 6
	codeReadOnly   = 8
	codeIOErr      = 10
	codeCorrupt    = 11
	codeFull       = 13
	codeCantOpen   = 14
	codeConstraint = 19
	codeNotADB     = 26
)

func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	var c interface{ Code() int }
	if errors.As(err, &c) {
		return c.Code() & 0xff
	}
	return 0
}

// classify maps a database error to a root kind.
func classify(op string, err error) error {
	if sqlcodec.AlreadyClassified(err) {
		return err
	}
	switch sqliteCode(err) {
	case codeBusy, codeLocked:
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "database busy")
	case codeReadOnly:
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "database is read-only")
	case codeCorrupt, codeNotADB:
		return fmt.Errorf("%s: %w: %v", op, store.ErrCorrupt, err)
	case codeFull, codeIOErr, codeCantOpen:
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "database unavailable")
	case codeConstraint:
		return roamsign.Wrap(roamsign.ErrConflict, op, err, "conflicts with a stored record")
	}
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed") {
		return roamsign.Wrap(roamsign.ErrClosed, op, err, "store closed")
	}
	return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "database error")
}

func (s *Store) open(op string) error {
	if s.closed.Load() {
		return sqlcodec.Closed(op)
	}
	return nil
}

// writeTx runs fn in an immediate (write-locked) transaction, retrying while
// the database is busy until ctx ends. fn may run more than once.
func (s *Store) writeTx(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	if err := s.open(op); err != nil {
		return err
	}
	if s.ro {
		return roamsign.E(roamsign.ErrUnavailable, op, "store opened read-only")
	}
	backoff := time.Millisecond
	for {
		err := s.tryTx(ctx, fn)
		if c := sqliteCode(err); c != codeBusy && c != codeLocked {
			return classify(op, err)
		}
		select {
		case <-ctx.Done():
			return classify(op, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

// inTx is [Store.writeTx] for the shared audit-appending wrappers.
func (s *Store) inTx(ctx context.Context, op string) sqlcodec.InTx[*sql.Tx] {
	return func(fn func(*sql.Tx) error) error { return s.writeTx(ctx, op, fn) }
}

func (s *Store) tryTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Ping implements [store.Store].
func (s *Store) Ping(ctx context.Context) error {
	const op = "sqlite.Ping"
	if err := s.open(op); err != nil {
		return err
	}
	return classify(op, s.r.PingContext(ctx))
}

// Close implements [store.Store]. It is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	var errs []error
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	return classify("sqlite.Close", errors.Join(errs...))
}
