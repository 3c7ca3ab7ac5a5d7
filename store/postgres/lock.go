package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// lockClass is the first key of the advisory locks of WithLock; the second
// is a hash of the lock's name.
const lockClass = 0x6c6f636b // "lock"

// WithLock runs fn while holding the database-wide lock called name, so
// that replicas take turns (package hsm provisions keys under it): a
// transaction-scoped advisory lock (pg_advisory_xact_lock), released when
// fn returns or when the connection is lost, never left behind by a
// process that dies. A wait ends with ctx. fn must not use the store
// inside the lock's transaction; it may run again when the transaction
// must be retried.
func (s *Store) WithLock(ctx context.Context, name string, fn func(context.Context) error) error {
	return s.tx(ctx, "postgres.WithLock", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockClass, name); err != nil {
			return err
		}
		return fn(ctx)
	})
}
