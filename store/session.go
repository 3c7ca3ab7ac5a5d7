package store

import (
	"context"
	"time"

	"github.com/roamsign/roamsign"
)

// SessionStore holds the short-lived state of an API face (the CSC face's
// SADs, access tokens, authorization codes, pending challenges and
// signing-page sessions) so that every replica behind one address sees
// it. A session is an opaque value under (kind, key), live until its
// expiry; key is a digest of the handle the face hands out, never the
// handle itself. The single-use and release rules are the face's; the
// store makes its reads and writes atomic across replicas.
type SessionStore interface {
	// PutSession stores value under (kind, key) until expires, replacing
	// a session already there. With max > 0 it first deletes the kind's
	// sessions expired at now, then refuses with ErrRateLimited (nothing
	// stored) while max sessions of the kind remain. ErrInvalidInput
	// (nothing stored) for arguments [CheckSession] refuses.
	PutSession(ctx context.Context, kind string, key, value []byte, expires, now time.Time, max int) error
	// GetSession returns a copy of the value of the session live at now:
	// ErrNotFound when there is none, ErrExpired when it is there but
	// expired.
	GetSession(ctx context.Context, kind string, key []byte, now time.Time) ([]byte, error)
	// TakeSession deletes the session and returns its value if it was
	// live at now: of concurrent callers at most one gets it. ErrNotFound;
	// ErrExpired (the expired session is deleted too).
	TakeSession(ctx context.Context, kind string, key []byte, now time.Time) ([]byte, error)
	// UpdateSession reads the session live at now, applies fn to a copy of
	// its value and stores fn's result under the same expiry, in one
	// atomic step across replicas (concurrent updates of one session run
	// one after the other); fn may be called more than once; an error from
	// fn aborts and is returned with nothing changed; a nil result deletes
	// the session. ErrNotFound, ErrExpired; ErrInvalidInput for a result
	// [CheckSession] refuses.
	UpdateSession(ctx context.Context, kind string, key []byte, now time.Time, fn func(value []byte) ([]byte, error)) error
	// DeleteSession deletes the session; none is not an error.
	DeleteSession(ctx context.Context, kind string, key []byte) error
	// PurgeSessions deletes the sessions that expired before expiredBefore
	// and returns how many.
	PurgeSessions(ctx context.Context, expiredBefore time.Time) (deleted int, err error)
}

// Limits of a session.
const (
	MaxSessionKind  = 32      // bytes of a kind: [a-z0-9_-]
	MaxSessionKey   = 64      // bytes of a key
	MaxSessionValue = 1 << 20 // bytes of a value
)

// CheckSession checks a session's kind, key and value (nil value: not
// checked); op names the operation in the error.
func CheckSession(op, kind string, key, value []byte) error {
	if kind == "" || len(kind) > MaxSessionKind {
		return roamsign.E(roamsign.ErrInvalidInput, op, "session kind must be 1 to %d bytes", MaxSessionKind)
	}
	for i := 0; i < len(kind); i++ {
		if c := kind[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return roamsign.E(roamsign.ErrInvalidInput, op, "session kind must be of [a-z0-9_-]")
		}
	}
	if len(key) == 0 || len(key) > MaxSessionKey {
		return roamsign.E(roamsign.ErrInvalidInput, op, "session key must be 1 to %d bytes", MaxSessionKey)
	}
	if len(value) > MaxSessionValue {
		return roamsign.E(roamsign.ErrInvalidInput, op, "session value exceeds %d bytes", MaxSessionValue)
	}
	return nil
}

// SessionLive reports whether a session that expires at expires is live
// at now, and the error of one that is not.
func SessionLive(op string, expires, now time.Time) error {
	if !NormTime(now).Before(NormTime(expires)) {
		return roamsign.E(roamsign.ErrExpired, op, "session expired")
	}
	return nil
}

// SessionFull is PutSession's refusal when a kind holds max sessions.
func SessionFull(op string) error {
	return roamsign.E(roamsign.ErrRateLimited, op, "too many open sessions; try again later")
}
