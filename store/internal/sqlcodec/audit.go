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

// Append validates audit and runs write with a working copy; write appends
// it in one database transaction, and must reset the copy from audit with
// [Reset] at the start of every attempt. On success the appended record
// (Seq, PrevHash, Hash, Time) is copied back to audit.
func Append(audit *roamsign.AuditRecord, write func(a *roamsign.AuditRecord) error) error {
	if err := store.ValidateAudit(audit); err != nil {
		return err
	}
	a := store.CloneAudit(audit)
	if err := write(a); err != nil {
		return err
	}
	*audit = *a
	return nil
}

// Reset sets a to a fresh copy of audit, undoing a failed attempt.
func Reset(a, audit *roamsign.AuditRecord) { *a = *store.CloneAudit(audit) }

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
