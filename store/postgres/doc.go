// Package postgres is the [store.Store] on PostgreSQL through
// github.com/jackc/pgx/v5 (pgxpool), for several server replicas sharing one
// database.
//
// # Overview
//
// [Open] connects with a DSN and applies the embedded migrations
// (migrations/*.sql) inside one transaction that locks the schema_version
// row, so replicas starting together migrate once. A newer schema is
// refused with [store.ErrSchemaTooNew]. [New] wraps an existing pool.
//
// # Concurrency
//
// Replicas share nothing but the database:
//
//   - ConsumeChallenge is one conditional UPDATE … WHERE NOT consumed AND …
//     RETURNING: a concurrent consumer waits for the row lock, re-checks the
//     condition and finds the challenge used. TakeTry and
//     AddPINFailure are single UPDATE … RETURNING increments.
//   - UpdateUser reads with SELECT … FOR UPDATE, applies fn and writes back
//     in one transaction.
//   - AppendAudit locks the single row of audit_head (SELECT … FOR UPDATE)
//     inside the append transaction and advances it with the new Seq and
//     Hash, so Seq and PrevHash are gap-free and unique across replicas.
//   - Operations that are a single atomic statement (create, consume, the
//     counters, AdvanceStep) run in autocommit, one round trip each; the
//     others run in explicit transactions.
//   - Serialization failures (SQLSTATE 40001) and deadlocks (40P01) are
//     retried with jittered backoff (Options.MaxRetries); the callback of
//     UpdateUser may therefore run more than once.
//
// Transactions run at the server's default isolation (READ COMMITTED on
// PostgreSQL, SERIALIZABLE on CockroachDB); correctness rests on row locks
// and conditional updates, not on the isolation level.
//
// # PostgreSQL-compatible distributed engines
//
// The package also targets PostgreSQL-compatible distributed engines in
// the style of CockroachDB and YugabyteDB. For that it uses only plain
// tables, primary keys, unique constraints, secondary indexes, INSERT,
// conditional UPDATE … RETURNING, SELECT … FOR UPDATE and DELETE, and it
// avoids: advisory locks (pg_advisory_lock), LISTEN/NOTIFY, sequences or
// SERIAL/identity columns relied on for gap-free ordering (Seq comes from
// the locked chain-head row), triggers, stored procedures and functions,
// extensions, JSONB operators (lists are JSON text decoded in Go),
// temporary tables, and session state between statements. All retryable
// errors such engines raise for contention are 40001, which is retried.
//
// # Security
//
// The hash chain detects edits and deletions made with raw SQL (tested).
// For defence in depth, run the service with a role that has no UPDATE or
// DELETE privilege on the audit table (Options.SkipMigrate lets a
// restricted role connect to a schema migrated by another).
//
// # Limitations
//
// Appends to the audit log are serialised on one row, so audit throughput
// is bounded by one commit at a time across all replicas.
package postgres
