package store

import (
	"context"
	"time"

	"github.com/roamsign/roamsign"
)

// ChallengeStore holds OTP challenges.
type ChallengeStore interface {
	// CreateChallenge stores a new challenge: IssueChallenge without
	// limits. ErrConflict if the id exists; ErrInvalidInput (nothing
	// stored) for a record [ValidateChallenge] refuses.
	CreateChallenge(ctx context.Context, c *roamsign.ChallengeRecord) error
	// IssueChallenge stores c under issuance rate limits, counted and
	// inserted in one atomic step (serialised per user across replicas):
	// c is stored only if no scope of limits already holds its limit of
	// challenges created within the window before c.CreatedAt (see
	// [CheckIssue]); otherwise ErrRateLimited carrying the wait until a
	// slot frees ([roamsign.RetryAfterOf]) and nothing is stored. The
	// per-host scope is counted in the same step but, across replicas,
	// serialised only per user, so concurrent issuance for different users
	// of one host may exceed PerHost by the number in flight. ErrConflict
	// if the id exists.
	IssueChallenge(ctx context.Context, c *roamsign.ChallengeRecord, limits roamsign.IssueLimits) error
	// GetChallenge returns a copy of the challenge; ErrNotFound.
	GetChallenge(ctx context.Context, id string) (*roamsign.ChallengeRecord, error)
	// MarkDelivered records the channel that delivered the OTP and the
	// masked destination; ErrNotFound.
	MarkDelivered(ctx context.Context, id string, ch roamsign.Channel, sentTo string) error
	// MarkUndeliverable makes the challenge unusable forever; ErrNotFound.
	MarkUndeliverable(ctx context.Context, id string) error
	// TakeTry spends one of the challenge's MaxTries tries, for an attempt
	// about to be checked (every attempt takes its try first, the
	// successful one included, so parallel guesses never check more than
	// MaxTries): it atomically increments Tries of an unconsumed challenge
	// whose Tries < MaxTries and returns the new count. Otherwise nothing
	// changes: ErrNotFound, ErrUsed if consumed, ErrLocked when every try
	// is taken.
	TakeTry(ctx context.Context, id string) (tries int, err error)
	// ConsumeChallenge is the single-use compare-and-set: it succeeds only
	// if !Consumed && !Undeliverable && Tries <= MaxTries && now <
	// ExpiresAt (the consuming attempt has taken its try), and then sets
	// Consumed and ConsumedAt = now. Otherwise, checked in this order:
	// ErrNotFound, ErrUsed, ErrForbidden (undeliverable), ErrLocked (more
	// tries than allowed), ErrExpired. Of concurrent callers at most one
	// succeeds.
	ConsumeChallenge(ctx context.Context, id string, now time.Time) error
	// PurgeChallenges deletes the challenges that expired before
	// expiredBefore and returns how many.
	PurgeChallenges(ctx context.Context, expiredBefore time.Time) (deleted int, err error)
}

// UserStore holds enrolled users.
type UserStore interface {
	// CreateUser stores a new user; ErrConflict if it exists,
	// ErrInvalidInput (nothing stored) for a record [ValidateUser] refuses.
	CreateUser(ctx context.Context, u *roamsign.UserRecord) error
	// GetUser returns a copy of the user; ErrNotFound.
	GetUser(ctx context.Context, id roamsign.UserID) (*roamsign.UserRecord, error)
	// UpdateUser reads the user, applies fn and writes the result back,
	// atomically; fn may be called more than once; an error from fn aborts
	// and is returned; fn may not change the ID (ErrInvalidInput).
	// ErrNotFound.
	UpdateUser(ctx context.Context, id roamsign.UserID, fn func(*roamsign.UserRecord) error) error
	// ListUsers returns up to limit users with ID > after, in ID order.
	ListUsers(ctx context.Context, after roamsign.UserID, limit int) ([]roamsign.UserRecord, error)
	// AddPINFailure atomically increments PINFailures; when the count
	// reaches max the user becomes Locked with LockedAt = now (exactly
	// once). It returns the new count and the lock state. ErrNotFound.
	AddPINFailure(ctx context.Context, id roamsign.UserID, max int, now time.Time) (failures int, locked bool, err error)
	// ResetPINFailures clears the PIN failure count and the lock;
	// ErrNotFound.
	ResetPINFailures(ctx context.Context, id roamsign.UserID) error
}

// OTPBackoffStore counts OTP failures per (user, host) for
// [roamsign.OTPBackoff].
type OTPBackoffStore interface {
	// GetOTPBackoff returns the pair's record; ErrNotFound when it has
	// none.
	GetOTPBackoff(ctx context.Context, user roamsign.UserID, host roamsign.HostID) (*roamsign.OTPBackoffRecord, error)
	// AddOTPFailure counts one OTP attempt of user from host at now,
	// before it is checked, in one atomic step (across replicas): unless
	// the pair is backing off, it stores the record [CountOTPFailure]
	// computes (one more failure, and a wait once policy says so) and
	// returns it; while the pair is backing off it changes nothing and
	// returns ErrRateLimited carrying the wait.
	AddOTPFailure(ctx context.Context, user roamsign.UserID, host roamsign.HostID, now time.Time, policy roamsign.OTPBackoff) (*roamsign.OTPBackoffRecord, error)
	// ResetOTPFailures removes the records of user from host, or from
	// every host when host is empty, and returns them by host (none is not
	// an error).
	ResetOTPFailures(ctx context.Context, user roamsign.UserID, host roamsign.HostID) ([]roamsign.OTPBackoffRecord, error)
}

// TransactionStore holds signing transactions.
type TransactionStore interface {
	// BeginTransaction is one database transaction: ConsumeChallenge
	// (challengeID, now), insert tx in state pending ((Host, RequestID)
	// and ID unique, else ErrConflict) and AppendAudit(audit). Any failure
	// rolls it all back: the challenge stays unconsumed and no audit
	// record is written. A tx without State is pending, without
	// ChallengeID names challengeID.
	BeginTransaction(ctx context.Context, challengeID string, now time.Time, tx *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error
	// FinishTransaction moves a pending transaction to tx.State (signed or
	// failed), storing Items, Chain, SigAlg, Error and UpdatedAt, and
	// appends audit, in one database transaction; ErrConflict if it is not
	// pending, ErrNotFound.
	FinishTransaction(ctx context.Context, tx *roamsign.TransactionRecord, audit *roamsign.AuditRecord) error
	// GetTransaction returns a copy of the transaction; ErrNotFound.
	GetTransaction(ctx context.Context, id string) (*roamsign.TransactionRecord, error)
	// GetTransactionByRequest returns the transaction of host's request
	// id; ErrNotFound.
	GetTransactionByRequest(ctx context.Context, host roamsign.HostID, requestID string) (*roamsign.TransactionRecord, error)
	// ExpireTransactions marks pending transactions created before
	// pendingBefore as failed (Error "expired", with a terminal audit
	// record each) and deletes finished ones updated before deleteBefore.
	ExpireTransactions(ctx context.Context, pendingBefore, deleteBefore time.Time) (failed, deleted int, err error)
}

// AuditScanner streams the audit log in Seq order. It is all that
// [VerifyAudit] needs.
type AuditScanner interface {
	// ScanAudit calls fn for every record with Seq >= from, in Seq order,
	// without loading the log into memory. The record passed to fn is only
	// valid during the call. An error from fn stops the scan and is
	// returned.
	ScanAudit(ctx context.Context, from int64, fn func(*roamsign.AuditRecord) error) error
}

// AuditHeader reports the head of the chain as the store keeps it apart from
// the records, so that [VerifyAudit] can detect records deleted from the
// end of the log.
type AuditHeader interface {
	// AuditHead returns the Seq and Hash of the last appended record, or
	// (0, nil) for an empty log.
	AuditHead(ctx context.Context) (seq int64, hash []byte, err error)
}

// AuditLog is the append-only, hash-chained audit log.
type AuditLog interface {
	AuditScanner
	AuditHeader
	// AppendAudit assigns Seq, PrevHash and Hash (serialised across
	// replicas, gap-free), and Time when it is zero, and stores the
	// record; a is updated with them. ErrInvalidInput (nothing stored) for
	// a record [ValidateAudit] refuses.
	AppendAudit(ctx context.Context, a *roamsign.AuditRecord) error
	// AppendCheckpoint appends a checkpoint record signed over the chain
	// head it follows (see [Checkpoint]) and returns it.
	AppendCheckpoint(ctx context.Context, cp Checkpoint) (*roamsign.AuditRecord, error)
}

// UserEvents finds a user's latest audit record among some events, so that
// a row's state can be checked against the audit log, which a database
// writer cannot rewrite unnoticed (see docs/row-integrity.md).
type UserEvents interface {
	// LastUserEvent returns a copy of the audit record with the highest
	// Seq whose User is user and whose Event is one of events;
	// ErrNotFound when there is none.
	LastUserEvent(ctx context.Context, user roamsign.UserID, events ...roamsign.AuditEvent) (*roamsign.AuditRecord, error)
}

// OTPStepStore remembers, per user, the last accepted time step of an
// offline (TOTP) code so that no code is accepted twice, across replicas.
type OTPStepStore interface {
	// AdvanceStep sets the user's last accepted step to step if step is
	// greater than the current one (or none is stored), atomically, and
	// reports whether it did: at most one caller wins any given step.
	AdvanceStep(ctx context.Context, user roamsign.UserID, step int64) (bool, error)
}

// Store is the full persistence contract every backend implements
// (store/memory, store/sqlite, store/postgres); each method's contract is
// on its interface above. Consumers should depend on the narrow subset
// they use, declared in their own package.
//
// Errors carry root kinds: [roamsign.ErrNotFound], [roamsign.ErrConflict],
// [roamsign.ErrUsed], [roamsign.ErrExpired], [roamsign.ErrLocked],
// [roamsign.ErrForbidden], [roamsign.ErrRateLimited],
// [roamsign.ErrInvalidInput] for rejected records (nothing is changed),
// [roamsign.ErrUnavailable] when the database cannot be reached or
// written, and [roamsign.ErrClosed] after Close.
//
// Every time is stored in UTC with microsecond precision (the precision of
// PostgreSQL); a value read back is Equal to the value written truncated to
// the microsecond.
type Store interface {
	ChallengeStore
	UserStore
	TransactionStore
	AuditLog
	UserEvents
	OTPStepStore
	OTPBackoffStore
	SessionStore
	// Ping checks that the database is reachable.
	Ping(ctx context.Context) error
	// Close releases the store. It is idempotent; every call after it
	// returns ErrClosed.
	Close() error
}
