// Package sqlcodec holds what the SQL backends (store/sqlite and
// store/postgres) share around their driver calls.
//
// # Overview
//
//   - Column encodings: lists as JSON text ([JSON], [FromJSON]) and times
//     through a backend's [Times] (UTC microseconds in SQLite, TIMESTAMPTZ
//     in PostgreSQL).
//   - Column lists ([ChallengeCols], [UserCols], [TxCols], [AuditCols]),
//     the statement arguments for them (with each row's seal) and row
//     scanning through [Scanner] and [Rows], which *sql.Row(s) and
//     pgx.Row(s) satisfy.
//   - The sealed read-check-change-seal-write of a row ([Update],
//     [Placeholders.Reseal]).
//   - Input checks per operation ([CheckLimit], [CheckDelivery], …) and the
//     typed errors of domain outcomes ([NotFound], [Exists], …).
//   - Audit append preparation ([Link], [Append], [Checkpoint]) and the
//     wrappers of BeginTransaction and FinishTransaction ([Begin],
//     [Finish]).
//   - The migration loop ([Migrations], [Apply]).
//
// Each backend keeps its own SQL text (placeholders, dialect), driver
// calls, transactions, retries and locking.
//
// # Concurrency
//
// Everything here is stateless; the functions are safe for concurrent use.
// A [Write] or the write callback of [Append] may run more than once when
// the backend's [InTx] retries its transaction; each run gets a fresh copy
// of the caller's audit record.
package sqlcodec
