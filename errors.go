package roamsign

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error so that callers and transports can branch on it
// with [errors.Is] without parsing messages. A Kind is itself an error, so
// errors.Is(err, roamsign.ErrLocked) works for any error that wraps an
// [*Error] of that kind, and a Kind may be returned or wrapped directly.
//
// Each kind has a stable machine-readable code (see [Kind.Code]) that
// transports put on the wire. Mapping kinds to protocol status codes is the
// transport's job, not this package's.
type Kind int

// The error kinds. The zero value, KindUnknown, is never used on purpose.
const (
	KindUnknown Kind = iota
	// ErrInvalidInput: the request is malformed (bad encoding, wrong length,
	// unknown algorithm, limits exceeded). Nothing was changed.
	ErrInvalidInput
	// ErrTooLarge: the input exceeds a configured size or count limit.
	ErrTooLarge
	// ErrUnauthenticated: the caller (host system) could not be identified.
	ErrUnauthenticated
	// ErrForbidden: the caller is known but may not do this (for example a
	// host acting for a user not enrolled for it).
	ErrForbidden
	// ErrNotFound: the named user, key, challenge or transaction does not
	// exist (or is not visible to the caller).
	ErrNotFound
	// ErrConflict: the request conflicts with the current state (for example
	// a request id reused with different content, or a key that exists).
	ErrConflict
	// ErrExpired: a challenge or transaction is past its lifetime.
	ErrExpired
	// ErrAuthorization: the signer's approval failed (wrong PIN or OTP, wrong
	// nonce, other hashes). The message never says which factor failed beyond
	// what policy allows.
	ErrAuthorization
	// ErrLocked: the PIN (or the user) is locked after too many failures and
	// needs an administrator.
	ErrLocked
	// ErrUsed: a single-use item (challenge, activation) was already used.
	ErrUsed
	// ErrRateLimited: too many requests; try again later.
	ErrRateLimited
	// ErrUnavailable: a dependency (HSM, database, directory, mail server) is
	// unavailable; the operation may succeed when retried later.
	ErrUnavailable
	// ErrUnsupported: the operation or algorithm is not supported by this
	// build or backend.
	ErrUnsupported
	// ErrClosed: the object was closed; no further calls are possible.
	ErrClosed
	// ErrInternal: an invariant was broken inside the SDK.
	ErrInternal
	// ErrDelivery: the OTP could not be delivered to any allowed channel.
	ErrDelivery
	// ErrInvalidSignature: a signature or signed document does not verify.
	ErrInvalidSignature
)

var kindInfo = [...]struct{ code, text string }{
	KindUnknown:         {"unknown", "unknown error"},
	ErrInvalidInput:     {"invalid_input", "invalid input"},
	ErrTooLarge:         {"too_large", "input too large"},
	ErrUnauthenticated:  {"unauthenticated", "caller not authenticated"},
	ErrForbidden:        {"forbidden", "not allowed"},
	ErrNotFound:         {"not_found", "not found"},
	ErrConflict:         {"conflict", "conflicts with current state"},
	ErrExpired:          {"expired", "expired"},
	ErrAuthorization:    {"authorization_failed", "authorization failed"},
	ErrLocked:           {"locked", "locked"},
	ErrUsed:             {"already_used", "already used"},
	ErrRateLimited:      {"rate_limited", "rate limited"},
	ErrUnavailable:      {"unavailable", "temporarily unavailable"},
	ErrUnsupported:      {"unsupported", "not supported"},
	ErrClosed:           {"closed", "closed"},
	ErrInternal:         {"internal", "internal error"},
	ErrDelivery:         {"delivery_failed", "OTP delivery failed"},
	ErrInvalidSignature: {"invalid_signature", "invalid signature"},
}

// Error implements error with a short generic text for the kind.
func (k Kind) Error() string { return k.info().text }

// Code returns the stable machine-readable code of the kind, for example
// "invalid_input" or "locked". Codes never change once released.
func (k Kind) Code() string { return k.info().code }

// String returns the same as [Kind.Code].
func (k Kind) String() string { return k.Code() }

func (k Kind) info() struct{ code, text string } {
	if k < 0 || int(k) >= len(kindInfo) {
		return kindInfo[KindUnknown]
	}
	return kindInfo[k]
}

// KindFromCode returns the kind with the given stable code, or KindUnknown.
func KindFromCode(code string) Kind {
	for k, in := range kindInfo {
		if in.code == code {
			return Kind(k)
		}
	}
	return KindUnknown
}

// Kinds returns every defined kind except KindUnknown, in code order. It is
// meant for transports and tests that map every kind.
func Kinds() []Kind {
	ks := make([]Kind, 0, len(kindInfo)-1)
	for k := 1; k < len(kindInfo); k++ {
		ks = append(ks, Kind(k))
	}
	return ks
}

// Error is the error type used across the SDK. It names the operation, the
// kind, a message safe to show to a host system, and optionally the
// underlying cause. Messages never contain a PIN, OTP, key or activation
// token.
type Error struct {
	Kind Kind   // classification; matched by errors.Is
	Op   string // operation, for example "hsm.Sign" or "otp.Verify"
	Msg  string // human-readable detail, safe to show to a caller
	Err  error  // underlying cause, may be nil
}

// Error formats the error as "op: msg: cause".
func (e *Error) Error() string {
	s := e.Op
	add := func(p string) {
		if p == "" {
			return
		}
		if s != "" {
			s += ": "
		}
		s += p
	}
	add(e.Msg)
	if e.Msg == "" && e.Err == nil {
		add(e.Kind.Error())
	}
	if e.Err != nil {
		add(e.Err.Error())
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the error's Kind, so that
// errors.Is(err, roamsign.ErrLocked) matches.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// E builds an [*Error] of the given kind. The message is formatted with
// [fmt.Sprintf]; a trailing error argument that the format does not consume
// is not allowed: use [Wrap] to keep a cause.
func E(kind Kind, op, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Kind: kind, Op: op, Msg: msg}
}

// Wrap builds an [*Error] of the given kind with a cause. It returns nil when
// err is nil.
func Wrap(kind Kind, op string, err error, msg string) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Op: op, Msg: msg, Err: err}
}

// KindOf returns the kind of err: the Kind of the outermost [*Error] in its
// chain, a bare [Kind] found in the chain, or KindUnknown. A nil error has
// KindUnknown.
func KindOf(err error) Kind {
	if err == nil {
		return KindUnknown
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var k Kind
	if errors.As(err, &k) {
		return k
	}
	return KindUnknown
}

// RetryAfter returns err carrying a hint of how long to wait before a retry
// may succeed: the time until a rate limit's next slot frees, or until a
// back-off ends. [errors.Is], [errors.As] and [KindOf] see through it to
// err; transports send the hint (HTTP Retry-After) and read it with
// [RetryAfterOf]. It returns nil for a nil err.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, after: d}
}

// RetryAfterOf returns the wait carried by the first [RetryAfter] hint in
// err's chain.
func RetryAfterOf(err error) (time.Duration, bool) {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter(), true
	}
	return 0, false
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }
