package testpki

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"io"
)

// callerMark marks the context a test hands to the code under test.
type callerMark struct{}

// CallerContext returns ctx marked as the caller's, for [ContextOnlyKey].
func CallerContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, callerMark{}, true)
}

// ContextOnlyKey signs only through SignContext, and only with a context
// from [CallerContext]: a test that code passes its caller's context down
// to the key, as an HSM key bounds its wait for a session by it. Sign
// fails.
type ContextOnlyKey struct{ crypto.Signer }

// Sign fails: the key must be called with a context.
func (ContextOnlyKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("testpki: Sign called without the caller's context")
}

// SignContext signs with the wrapped key when ctx is the caller's.
func (k ContextOnlyKey) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if ctx.Value(callerMark{}) == nil {
		return nil, errors.New("testpki: not the caller's context")
	}
	return k.Signer.Sign(rand.Reader, digest, opts)
}
