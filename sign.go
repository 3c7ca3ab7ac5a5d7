package roamsign

import (
	"context"
	"crypto"
	"crypto/rand"
	"runtime"
)

// ContextSigner is a [crypto.Signer] that takes a context for each
// signature, so that a wait for a slow or remote key (an HSM session, a
// signing service) can be bounded or cancelled. Keys of package hsm
// implement it. Callers use it through [SignContext], which falls back to
// Sign for other signers, as [crypto.SignMessage] does for
// [crypto.MessageSigner].
type ContextSigner interface {
	crypto.Signer
	// SignContext signs digest like Sign, waiting for the key no longer
	// than ctx allows.
	SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

// Concurrent is implemented by keys that can compute several signatures at
// the same time, for example a PKCS#11 key with a pool of sessions.
// Concurrency returns how many signatures may usefully run in parallel.
// Callers use it through [Concurrency].
type Concurrent interface {
	Concurrency() int
}

// SignContext signs digest with key: through [ContextSigner.SignContext]
// when key implements it, else through key.Sign with [crypto/rand.Reader]
// once ctx has been checked. It is the one way the SDK calls a key:
//
//   - a done ctx gives an [ErrUnavailable] error wrapping ctx.Err() without
//     calling the key;
//   - a key that panics gives an [ErrInternal] error instead of taking down
//     the process (the panic value is not reported: it may hold key
//     material);
//   - an error from the key keeps its [Kind]; an error without one gets
//     [ErrUnavailable], since the key, not the caller, failed.
func SignContext(ctx context.Context, key crypto.Signer, digest []byte, opts crypto.SignerOpts) (sig []byte, err error) {
	const op = "roamsign.SignContext"
	if key == nil {
		return nil, E(ErrInvalidInput, op, "no key")
	}
	if err := ctx.Err(); err != nil {
		return nil, Wrap(ErrUnavailable, op, err, "context done before signing")
	}
	defer func() {
		if r := recover(); r != nil {
			sig, err = nil, E(ErrInternal, op, "key panicked (%T)", r)
		}
	}()
	if cs, ok := key.(ContextSigner); ok {
		sig, err = cs.SignContext(ctx, digest, opts)
	} else {
		sig, err = key.Sign(rand.Reader, digest, opts)
	}
	if err != nil && KindOf(err) == KindUnknown {
		return nil, Wrap(ErrUnavailable, op, err, "key refused to sign")
	}
	if err != nil {
		return nil, err
	}
	return sig, nil
}

// Concurrency returns how many signatures key can usefully compute at the
// same time: its Concurrency() when it implements [Concurrent] and reports
// at least 1, else runtime.GOMAXPROCS(0).
func Concurrency(key crypto.Signer) int {
	if c, ok := key.(Concurrent); ok {
		if n := c.Concurrency(); n > 0 {
			return n
		}
	}
	return runtime.GOMAXPROCS(0)
}
