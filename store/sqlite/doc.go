// Package sqlite is the embedded [store.Store] on SQLite, roamsign's default
// store.
//
// # Overview
//
// [Open] opens or creates a database file and applies the migrations
// embedded in the binary (migrations/*.sql), recording the version in a
// schema_version table. A database whose version is newer than the build is
// refused with [store.ErrSchemaTooNew]; a file that is not a database (or,
// with Options.IntegrityCheck, one with damaged pages) with
// [store.ErrCorrupt]; a file that cannot be opened or written with
// roamsign.ErrUnavailable.
//
// The driver is modernc.org/sqlite, a pure-Go translation of SQLite, so
// CGO_ENABLED=0 builds keep the embedded store (measured against the cgo
// driver github.com/mattn/go-sqlite3 in sqlite_bench_test.go).
//
// # Configuration
//
// Every connection runs with journal_mode=WAL (readers never block the
// writer), busy_timeout (Options.BusyTimeout, 5 s by default) and
// foreign_keys=ON. Writes use synchronous=FULL: every commit is fsynced
// before it returns, so a consumed challenge, a transaction record or an
// audit record survives a power cut (with NORMAL the last commits could
// roll back after a power cut, which would re-open a used challenge).
// Times are INTEGER microseconds since the Unix epoch, UTC; lists are JSON
// text.
//
// # Concurrency
//
// All writes go through one connection in BEGIN IMMEDIATE transactions, so
// a write transaction holds the database write lock from its start and
// never fails upgrading a read lock (SQLITE_BUSY); other processes on the
// same file wait up to the busy timeout, and a transaction still busy is
// retried with backoff until the context ends. Reads use a separate pool of
// query-only connections and see the last committed state. Two processes
// opening the same file behave as one store (tested).
//
// # Security
//
// A new database file is created with mode 0600 (it holds PIN verifiers
// and OTP MACs); SQLite gives its -wal and -shm files the same mode. The
// audit table has triggers that refuse UPDATE and DELETE; anyone with
// the file can drop them, which the hash chain then exposes (tested with
// raw SQL edits and deletions).
//
// # Limitations
//
// One writer at a time: write throughput is bounded by fsync latency. For
// several server replicas use store/postgres.
package sqlite
