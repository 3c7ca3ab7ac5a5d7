// Package store defines roamsign's persistence contract and the parts every
// backend shares: record validation, the audit hash chain and its
// verification, and signed audit checkpoints.
//
// # Overview
//
// [Store] is the full method set a backend implements: challenges (the
// otp part's state), users, signing transactions and the audit log. The
// backends are store/memory (unit tests), store/sqlite (the embedded
// default) and store/postgres (several replicas sharing one database). All
// three pass the same conformance suite, store/storetest. Consumers do not
// import this package: each declares the narrow interface it needs, with
// exactly these method signatures, over the record types of the root
// package (roamsign.ChallengeRecord, UserRecord, TransactionRecord,
// AuditRecord).
//
// # Audit log
//
// The audit log is append-only and hash-chained. Each record's Hash is
// SHA-256 over a canonical, length-prefixed encoding of all its fields and
// the Hash of the record before it (PrevHash; 32 zero bytes for the first),
// see [AuditHash]. The backends assign Seq, PrevHash and Hash inside the
// database transaction that holds the chain head, so Seq is gap-free and
// unique even with several writers. [VerifyAudit] streams the log, one
// record at a time, and reports the first break as a [*ChainBreakError]
// with its Seq and [BreakReason]: an edited record, a deleted (missing)
// Seq, a reordered or relinked record, or a log shorter than its recorded
// head. [Checkpoint] records, signed with a service key (any
// crypto.Signer: ECDSA, RSA or Ed25519), let a holder of the public key
// detect even a wholesale rewrite of the log before the checkpoint.
//
// # Security
//
// No record type holds a PIN, an OTP, an OTP MAC in the audit log, or an
// activation token; the audit record's Detail is free text that callers
// must keep free of secrets (the conformance suite checks that a full sign
// flow leaves none of the challenge's secrets in the log). Records beyond
// the size limits ([MaxIDLen], [MaxTextLen], [MaxBlobLen], [MaxAuditDetail])
// are rejected with roamsign.ErrInvalidInput before anything is written.
//
// # Row integrity
//
// The SQL backends seal every user, challenge and transaction row they
// write with a [Sealer] (HMAC under a row key held in the key store) and
// check the seal of every row they read: a row changed, or a seal removed,
// by someone who can write the database but not use the key is refused
// with roamsign.ErrUnavailable ([ErrTampered]), an alarm in the log and an
// audit record ([roamsign.AuditTampered]), and is never used. Counters are
// inside the seal; a consumed challenge restored from an older copy is
// refused because a transaction names it. Rows stored before sealing are
// sealed by the operator's explicit step [RowSealing.SealUnsealed].
// docs/row-integrity.md in the repository says what is protected and what
// is left.
//
// # Concurrency
//
// Every backend is safe for concurrent use. Single use of a challenge is a
// compare-and-set in the database; failure counters are atomic increments;
// BeginTransaction and FinishTransaction are each one database transaction
// together with their audit record.
//
// # Limitations
//
// The hash chain proves the log was not changed after the fact only
// relative to an anchor: deleting the newest records and rewinding the
// stored head together is detected only against an earlier head
// ([VerifyOptions].ExpectHead) or a signed checkpoint kept elsewhere.
package store
