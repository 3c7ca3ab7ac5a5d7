package sqlite

import (
	"context"
	"database/sql"
)

// WithLock runs fn inside a write transaction (BEGIN IMMEDIATE, which in
// WAL mode excludes other writers as EXCLUSIVE does), so that processes
// sharing the database file take turns: another connection or process
// cannot start one until fn returns, and waits for it as for any write
// (the busy timeout, then retries until ctx ends). SQLite has one write
// lock, so name only labels the wait. fn must not use the store: the
// store's one writer connection is held for it. fn may run again when the
// transaction must be retried.
func (s *Store) WithLock(ctx context.Context, name string, fn func(context.Context) error) error {
	return s.writeTx(ctx, "sqlite.WithLock "+name, func(*sql.Tx) error { return fn(ctx) })
}
