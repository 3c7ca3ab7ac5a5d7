package service

import (
	"context"
	"errors"

	"github.com/roamsign/roamsign"
)

// userEvents is what [Service.lockAnchored] needs of the store; every store
// of package store has it (store.UserEvents). A store without it is not
// checked.
type userEvents interface {
	LastUserEvent(ctx context.Context, user roamsign.UserID, events ...roamsign.AuditEvent) (*roamsign.AuditRecord, error)
}

// lockAnchored checks the attempt's user, whose row says unlocked, against
// the audit log: every lock is recorded there (pin.locked) and the only
// unlock is an administrator's reset (pin.reset), so a log whose latest
// word on the user is a lock means the row was put back from before the
// lock (an older copy, sealed when it was current). The audit log is
// hash-chained and anchored outside the database by signed checkpoints,
// which a database writer cannot forge. Such a row is refused with an
// alarm and an audit entry.
//
// A lock or a reset that another attempt or an administrator makes at the
// same moment can make the row read before it and the log read after it
// disagree; so a disagreement is read once more, row and log, and only one
// that persists is refused as tampering (a row found locked meanwhile is
// answered as locked).
func (s *Service) lockAnchored(ctx context.Context, op string, a *signAttempt) error {
	ue, ok := s.store.(userEvents)
	if !ok || a.user.Locked {
		return nil
	}
	locked, err := lastWordIsLock(ctx, ue, a.user.ID)
	if err != nil || !locked {
		return wrapStore(op, err)
	}
	u, err := s.store.GetUser(ctx, a.user.ID)
	if err != nil {
		return wrapStore(op, err)
	}
	if u.Locked {
		return roamsign.E(roamsign.ErrLocked, op, msgLocked)
	}
	if locked, err = lastWordIsLock(ctx, ue, a.user.ID); err != nil || !locked {
		return wrapStore(op, err)
	}
	return s.mismatch(ctx, op, a, roamsign.E(roamsign.ErrUnavailable, op, "user row contradicts the audit log"),
		"the user is unlocked although the audit log's latest word on them is a lock")
}

// lastWordIsLock reports whether the user's latest pin.locked or pin.reset
// audit record is a lock.
func lastWordIsLock(ctx context.Context, ue userEvents, user roamsign.UserID) (bool, error) {
	ev, err := ue.LastUserEvent(ctx, user, roamsign.AuditLocked, roamsign.AuditPINReset)
	switch {
	case errors.Is(err, roamsign.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return ev.Event == roamsign.AuditLocked, nil
}
