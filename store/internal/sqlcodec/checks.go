package sqlcodec

import (
	"errors"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// MaxList bounds the rows one ListUsers call returns.
const MaxList = 10000

// Input checks and domain outcomes shared by the SQL backends. Each check
// returns nil or an [roamsign.ErrInvalidInput] error for op; nothing has
// been written when it fails.

// CheckLimit checks a list limit and returns it capped at [MaxList].
func CheckLimit(op string, limit int) (int, error) {
	if limit <= 0 {
		return 0, roamsign.E(roamsign.ErrInvalidInput, op, "limit must be positive")
	}
	return min(limit, MaxList), nil
}

// CheckDelivery checks the arguments of MarkDelivered.
func CheckDelivery(op string, ch roamsign.Channel, sentTo string) error {
	if !ch.Valid() || len(sentTo) > store.MaxTextLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "unknown channel or destination too long")
	}
	return nil
}

// CheckMax checks the lock threshold of AddPINFailure.
func CheckMax(op string, max int) error {
	if max <= 0 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "max must be positive")
	}
	return nil
}

// CheckStepUser checks the user id of AdvanceStep.
func CheckStepUser(op string, user roamsign.UserID) error {
	if user == "" || len(user) > store.MaxIDLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "user id missing or too long")
	}
	return nil
}

// CheckCheckpoint checks the argument of AppendCheckpoint.
func CheckCheckpoint(op string, cp store.Checkpoint) error {
	if cp.Signer == nil {
		return roamsign.E(roamsign.ErrInvalidInput, op, "no signer")
	}
	return nil
}

// NewChallenge validates ch and returns a normalised copy to insert.
func NewChallenge(ch *roamsign.ChallengeRecord) (*roamsign.ChallengeRecord, error) {
	if err := store.ValidateChallenge(ch); err != nil {
		return nil, err
	}
	r := store.CloneChallenge(ch)
	store.NormChallenge(r)
	return r, nil
}

// NewUser validates u and returns a normalised copy to insert.
func NewUser(u *roamsign.UserRecord) (*roamsign.UserRecord, error) {
	if err := store.ValidateUser(u); err != nil {
		return nil, err
	}
	r := store.CloneUser(u)
	store.NormUser(r)
	return r, nil
}

// Updated checks u after an UpdateUser callback changed it (the id must
// stay id) and normalises it for writing.
func Updated(op string, id roamsign.UserID, u *roamsign.UserRecord) error {
	if u.ID != id {
		return roamsign.E(roamsign.ErrInvalidInput, op, "the user id cannot change")
	}
	if err := store.ValidateUser(u); err != nil {
		return err
	}
	store.NormUser(u)
	return nil
}

// Write writes a transaction record r and its audit record a in one
// database transaction tx; it may run more than once, each time with a fresh
// copy of the audit record.
type Write[T any] func(tx T, r *roamsign.TransactionRecord, a *roamsign.AuditRecord) error

// Begin checks the arguments of BeginTransaction and runs write inside inTx
// with normalised copies of t and audit; on success the appended audit
// record is copied back to audit.
func Begin[T any](op, challengeID string, t *roamsign.TransactionRecord, audit *roamsign.AuditRecord, inTx InTx[T], write Write[T]) error {
	if err := store.PrepareBegin(op, challengeID, t, audit); err != nil {
		return err
	}
	return run(t, audit, inTx, write)
}

// Finish is [Begin] for FinishTransaction.
func Finish[T any](op string, t *roamsign.TransactionRecord, audit *roamsign.AuditRecord, inTx InTx[T], write Write[T]) error {
	if err := store.PrepareFinish(op, t, audit); err != nil {
		return err
	}
	return run(t, audit, inTx, write)
}

func run[T any](t *roamsign.TransactionRecord, audit *roamsign.AuditRecord, inTx InTx[T], write Write[T]) error {
	r := normTx(t)
	return attempt(audit, inTx, func(tx T, a *roamsign.AuditRecord) error { return write(tx, r, a) })
}

func normTx(t *roamsign.TransactionRecord) *roamsign.TransactionRecord {
	r := store.CloneTransaction(t)
	store.NormTransaction(r)
	return r
}

// NotFound reports a missing record.
func NotFound(op, what string) error {
	return roamsign.E(roamsign.ErrNotFound, op, "%s not found", what)
}

// Closed reports a call after Close.
func Closed(op string) error {
	return roamsign.E(roamsign.ErrClosed, op, "store closed")
}

// Exists reports an insert that collides with a stored record; what says
// which key ("challenge id exists").
func Exists(op, what string) error {
	return roamsign.E(roamsign.ErrConflict, op, "%s", what)
}

// HeadMoved reports an audit append whose chain head changed underneath it.
func HeadMoved(op string) error {
	return roamsign.E(roamsign.ErrInternal, op, "audit chain head moved during append")
}

// NotFoundOr returns [NotFound] for what when err is the driver's "no rows"
// error noRows (sql.ErrNoRows, pgx.ErrNoRows), and err otherwise.
func NotFoundOr(err, noRows error, op, what string) error {
	if errors.Is(err, noRows) {
		return NotFound(op, what)
	}
	return err
}

// HeadQuery reads the audit chain head; [ScanHead] reads its row.
const HeadQuery = `SELECT seq, hash FROM audit_head WHERE id = 1`

// ScanHead reads the row of [HeadQuery].
func ScanHead(row Scanner) (seq int64, hash []byte, err error) {
	err = row.Scan(&seq, &hash)
	return seq, hash, err
}
