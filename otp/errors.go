package otp

import (
	"errors"

	"github.com/roamsign/roamsign"
)

// sentinel is an exported error value of this package that also matches a
// root error kind, so callers may branch on either:
//
//	errors.Is(err, otp.ErrWrongOTP)            // the precise reason
//	errors.Is(err, roamsign.ErrAuthorization)  // the kind
type sentinel struct {
	kind roamsign.Kind
	msg  string
}

func (e *sentinel) Error() string { return e.msg }

// Is matches the sentinel's root kind.
func (e *sentinel) Is(target error) bool {
	k, ok := target.(roamsign.Kind)
	return ok && k == e.kind
}

// Kind returns the root kind the error belongs to.
func (e *sentinel) Kind() roamsign.Kind { return e.kind }

// The reasons a challenge is refused. None of them carries any information
// about the OTP. Each also matches the root kind named in its comment.
var (
	// ErrWrongNonce: the nonce is not the challenge's (roamsign.ErrAuthorization).
	ErrWrongNonce error = &sentinel{roamsign.ErrAuthorization, "nonce does not match the challenge"}
	// ErrHashMismatch: the hashes are not the ones bound to the challenge
	// (roamsign.ErrAuthorization).
	ErrHashMismatch error = &sentinel{roamsign.ErrAuthorization, "hashes differ from those bound to the challenge"}
	// ErrWrongOTP: the OTP is wrong (roamsign.ErrAuthorization).
	ErrWrongOTP error = &sentinel{roamsign.ErrAuthorization, "wrong OTP"}
	// ErrExpired: the challenge is past its expiry (roamsign.ErrExpired).
	ErrExpired error = &sentinel{roamsign.ErrExpired, "challenge expired"}
	// ErrAlreadyUsed: the challenge was already consumed (roamsign.ErrUsed).
	ErrAlreadyUsed error = &sentinel{roamsign.ErrUsed, "challenge already used"}
	// ErrTooManyTries: the challenge's attempts are exhausted; the host
	// must request a new OTP (roamsign.ErrExpired: the challenge is dead,
	// nothing needs an administrator).
	ErrTooManyTries error = &sentinel{roamsign.ErrExpired, "too many attempts for this challenge; request a new OTP"}
	// ErrBackoff: the challenge's host sent too many wrong OTPs for the
	// user in a row and must wait before the next attempt or OTP
	// (roamsign.ErrRateLimited); the error returned carries the wait
	// (roamsign.RetryAfterOf). See roamsign.OTPBackoff.
	ErrBackoff error = &sentinel{roamsign.ErrRateLimited, "too many failed attempts from this host; wait before trying again"}
	// ErrUndeliverable: the OTP could not be delivered; the challenge can
	// never be used (roamsign.ErrDelivery).
	ErrUndeliverable error = &sentinel{roamsign.ErrDelivery, "OTP could not be delivered"}
	// ErrRateLimited: too many challenges for the user, the user from this
	// host, or the host in the window (roamsign.ErrRateLimited); the error
	// returned carries the time until a slot frees (roamsign.RetryAfterOf).
	ErrRateLimited error = &sentinel{roamsign.ErrRateLimited, "too many OTP requests"}
	// ErrReplay: an offline OTP for a time step or challenge that was
	// already accepted (roamsign.ErrUsed).
	ErrReplay error = &sentinel{roamsign.ErrUsed, "OTP already accepted"}
)

// fail builds the error returned for a refusal: an *roamsign.Error of the
// sentinel's kind whose cause is the sentinel.
func fail(op string, s error) error {
	var st *sentinel
	if errors.As(s, &st) {
		return &roamsign.Error{Kind: st.kind, Op: op, Err: s}
	}
	return &roamsign.Error{Kind: roamsign.ErrInternal, Op: op, Err: s}
}

// failWaiting is [fail] for a refusal that says how long to wait: it keeps
// the wait the store's refusal storeErr carries.
func failWaiting(op string, s, storeErr error) error {
	err := fail(op, s)
	if d, ok := roamsign.RetryAfterOf(storeErr); ok {
		return roamsign.RetryAfter(err, d)
	}
	return err
}

// storeErr maps an error of the store to this package's vocabulary; kinds
// not otherwise known become roamsign.ErrUnavailable.
func storeErr(op string, err error, what string) error {
	switch roamsign.KindOf(err) {
	case roamsign.ErrNotFound:
		return roamsign.Wrap(roamsign.ErrNotFound, op, err, what+" not found")
	case roamsign.ErrUsed:
		return fail(op, ErrAlreadyUsed)
	case roamsign.ErrExpired:
		return fail(op, ErrExpired)
	case roamsign.ErrLocked:
		// The store's ConsumeChallenge reports exhausted tries as ErrLocked.
		return fail(op, ErrTooManyTries)
	case roamsign.ErrForbidden:
		return fail(op, ErrUndeliverable)
	case roamsign.ErrConflict, roamsign.ErrInvalidInput, roamsign.ErrClosed:
		return roamsign.Wrap(roamsign.KindOf(err), op, err, "store refused "+what)
	}
	return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "store unavailable")
}
