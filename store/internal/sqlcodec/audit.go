package sqlcodec

import (
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store"
)

// MakeRecord builds an audit record from the chain head it links to
// (checkpoints sign the head).
type MakeRecord func(seq int64, hash []byte) (*roamsign.AuditRecord, error)

// Link prepares a to follow the chain head (seq, hash) read inside the
// append transaction: when mk is set it first replaces a with the record mk
// builds, then assigns Seq, PrevHash, Time (now when unset) and Hash.
func Link(a *roamsign.AuditRecord, seq int64, hash []byte, now time.Time, mk MakeRecord) error {
	if mk != nil {
		rec, err := mk(seq, hash)
		if err != nil {
			return err
		}
		*a = *rec
	}
	store.ChainAudit(a, seq, hash, now)
	return nil
}

// InTx runs fn in one database transaction of a backend, retrying as that
// backend does; fn may run more than once.
type InTx[T any] func(fn func(tx T) error) error

// Append validates audit and runs write inside inTx with a working copy,
// made afresh from audit at the start of every attempt so a retry keeps
// nothing of a failed one. On success the appended record (Seq, PrevHash,
// Hash, Time) is copied back to audit.
func Append[T any](audit *roamsign.AuditRecord, inTx InTx[T], write func(tx T, a *roamsign.AuditRecord) error) error {
	if err := store.ValidateAudit(audit); err != nil {
		return err
	}
	return attempt(audit, inTx, write)
}

// attempt runs write inside inTx with a fresh working copy of audit per
// attempt and copies the committed copy back to audit.
func attempt[T any](audit *roamsign.AuditRecord, inTx InTx[T], write func(tx T, a *roamsign.AuditRecord) error) error {
	var a *roamsign.AuditRecord
	err := inTx(func(tx T) error {
		a = store.CloneAudit(audit)
		return write(tx, a)
	})
	if err != nil {
		return err
	}
	*audit = *a
	return nil
}

// Checkpoint checks cp and runs write, which appends the checkpoint record
// built by the given [MakeRecord] into a; it returns the appended record.
func Checkpoint(op string, cp store.Checkpoint, write func(a *roamsign.AuditRecord, mk MakeRecord) error) (*roamsign.AuditRecord, error) {
	if err := CheckCheckpoint(op, cp); err != nil {
		return nil, err
	}
	a := &roamsign.AuditRecord{}
	err := write(a, func(seq int64, hash []byte) (*roamsign.AuditRecord, error) {
		return store.CheckpointRecord(cp, seq, hash)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// LastUserEvent returns the query, and its arguments, that reads the
// latest audit record of user among events (see store.UserEvents).
func LastUserEvent(p Placeholders, user roamsign.UserID, events []roamsign.AuditEvent) (string, []any) {
	args := []any{user}
	for _, e := range events {
		args = append(args, e)
	}
	return `SELECT ` + AuditCols + ` FROM audit WHERE user_id = ` + p(1) + ` AND event IN (` + p.List(2, len(events)) +
		`) ORDER BY seq DESC LIMIT 1`, args
}
