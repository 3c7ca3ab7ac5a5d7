package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/internal/sqlcodec"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SchemaVersion is the schema version this build writes and understands.
var SchemaVersion = sqlcodec.MustCount(migrations)

// Options configure [Open] and [New]. The zero value uses the pool's
// defaults and time.Now.
type Options struct {
	// Now is the clock for audit records without a time and for
	// ExpireTransactions; time.Now when nil.
	Now func() time.Time
	// MaxConns bounds the pool [Open] creates; pgxpool's default when zero.
	MaxConns int32
	// MaxRetries bounds the retries of a transaction after a serialization
	// failure or deadlock; 20 when zero.
	MaxRetries int
	// SkipMigrate leaves the schema alone (it must be current); for
	// deployments that migrate separately or connect with a role that may
	// not run DDL.
	SkipMigrate bool
	// Sealer, when set, seals the rows the store writes and refuses rows
	// whose seal is missing or wrong (see [store.Sealer]); also
	// [Store.SetSealer].
	Sealer *store.Sealer

	migrateTo int // when set, migrate no further than this version (tests build older schemas)
}

// Store is the PostgreSQL [store.Store].
type Store struct {
	pool       *pgxpool.Pool
	ownPool    bool
	now        func() time.Time
	maxRetries int
	closed     atomic.Bool
	seal       atomic.Pointer[store.Sealer]
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a PostgreSQL URL or keyword
// string), applies pending migrations and returns the store, which owns
// the pool.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	const op = "postgres.Open"
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, errors.New("malformed connection string"), "bad DSN")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, classify(op, err)
	}
	s, err := New(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// New returns a store over an existing pool, applying pending migrations.
// Close does not close a pool passed to New.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	const op = "postgres.Open"
	if pool == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "nil pool")
	}
	s := &Store{pool: pool, now: opts.Now, maxRetries: opts.MaxRetries}
	s.seal.Store(opts.Sealer)
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxRetries <= 0 {
		s.maxRetries = 20
	}
	if err := pool.Ping(ctx); err != nil {
		return nil, classify(op, err)
	}
	if opts.SkipMigrate {
		var v int
		if err := pool.QueryRow(ctx, `SELECT version FROM schema_version WHERE id = 1`).Scan(&v); err != nil {
			return nil, classify(op, err)
		}
		if err := checkVersion(v); err != nil {
			return nil, err
		}
		if v < SchemaVersion {
			return nil, sqlcodec.TooOld(v, SchemaVersion)
		}
		return s, nil
	}
	if err := s.migrate(ctx, opts.migrateTo); err != nil {
		return nil, err
	}
	return s, nil
}

func checkVersion(v int) error {
	if v > SchemaVersion {
		return sqlcodec.TooNew(v, SchemaVersion)
	}
	return nil
}

// migrate applies pending migrations in one transaction that holds the
// schema_version row lock, so replicas starting together migrate once.
func (s *Store) migrate(ctx context.Context, upTo int) error {
	const op = "postgres.Open"
	names, err := sqlcodec.Migrations(migrations)
	if err != nil {
		return roamsign.Wrap(roamsign.ErrInternal, op, err, "reading migrations")
	}
	if upTo > 0 && upTo < len(names) {
		names = names[:upTo]
	}
	// Concurrent first-time CREATE TABLE IF NOT EXISTS may collide in the
	// catalog (duplicate type or table, or a unique violation on pg_type):
	// the loser retries and then finds the table. After the table exists
	// the schema_version row lock serialises everything else.
	again := func(err error) bool { return retryable(err) || catalogCollision(err) }
	return s.txRetrying(ctx, op, again, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`); err != nil {
			return err
		}
		var v int
		if err := tx.QueryRow(ctx, `SELECT version FROM schema_version WHERE id = 1 FOR UPDATE`).Scan(&v); err != nil {
			return err
		}
		return sqlcodec.Apply(migrations, names, v, func(body string) error {
			_, err := tx.Exec(ctx, body)
			return err
		}, func(v int) error {
			_, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1 WHERE id = 1`, v)
			return err
		})
	})
}

// catalogCollision reports the errors two transactions creating the same
// table at once can get.
func catalogCollision(err error) bool {
	switch pgCode(err) {
	case "42710", "42P07", "23505":
		return true
	}
	return false
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// retryable reports serialization failures and deadlocks.
func retryable(err error) bool {
	switch pgCode(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

func classify(op string, err error) error {
	if sqlcodec.AlreadyClassified(err) {
		return err
	}
	code := pgCode(err)
	switch {
	case code == "23505":
		return roamsign.Wrap(roamsign.ErrConflict, op, err, "conflicts with a stored record")
	case code == "25006":
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "database is read-only")
	case code == "XX001" || code == "XX002":
		return fmt.Errorf("%s: %w: %v", op, store.ErrCorrupt, err)
	case code == "40001" || code == "40P01" || code == "55P03":
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "database busy")
	case strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53") || strings.HasPrefix(code, "57") || strings.HasPrefix(code, "58"):
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "database unavailable")
	case strings.HasPrefix(code, "22") || strings.HasPrefix(code, "23"):
		return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "rejected by the database")
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || pgconn.SafeToRetry(err) {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "database unavailable")
	}
	if strings.Contains(err.Error(), "closed pool") {
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

// tx runs fn in a transaction, retrying after serialization failures and
// deadlocks with jittered backoff. fn may run more than once.
func (s *Store) tx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	return s.txRetrying(ctx, op, retryable, fn)
}

// txRetrying is [Store.tx] retrying after the errors again accepts.
func (s *Store) txRetrying(ctx context.Context, op string, again func(error) bool, fn func(pgx.Tx) error) error {
	return s.retry(ctx, op, func() error { return pgx.BeginFunc(ctx, s.pool, fn) }, again)
}

// inTx is [Store.tx] for the shared audit-appending wrappers.
func (s *Store) inTx(ctx context.Context, op string) sqlcodec.InTx[pgx.Tx] {
	return func(fn func(pgx.Tx) error) error { return s.tx(ctx, op, fn) }
}

// dbtx is what a pool and a transaction share.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// one runs fn, whose statements are each atomic on their own, directly on
// the pool (autocommit: one round trip per statement instead of BEGIN …
// COMMIT), retrying after serialization failures like [Store.tx].
func (s *Store) one(ctx context.Context, op string, fn func(dbtx) error) error {
	return s.retry(ctx, op, func() error { return fn(s.pool) }, retryable)
}

// retry runs try until it succeeds, fails with an error again rejects, or
// s.maxRetries retries are spent, waiting a jittered backoff (doubling up
// to 200 ms) between attempts.
func (s *Store) retry(ctx context.Context, op string, try func() error, again func(error) bool) error {
	if err := s.open(op); err != nil {
		return err
	}
	backoff := 2 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := try()
		if err == nil || !again(err) || attempt >= s.maxRetries {
			return classify(op, err)
		}
		select {
		case <-ctx.Done():
			return classify(op, err)
		case <-time.After(backoff/2 + rand.N(backoff)):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// Ping implements [store.Store].
func (s *Store) Ping(ctx context.Context) error {
	const op = "postgres.Ping"
	if err := s.open(op); err != nil {
		return err
	}
	return classify(op, s.pool.Ping(ctx))
}

// Close implements [store.Store]. It is idempotent and closes the pool if
// the store opened it.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}
