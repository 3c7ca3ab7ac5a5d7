package service_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/service"
)

// ctxOnlyKey signs only through SignContext, and only with the caller's
// context.
type ctxOnlyKey struct{ *ecdsa.PrivateKey }

type callerMark struct{}

func (k ctxOnlyKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, roamsign.E(roamsign.ErrInternal, "test", "Sign called without a context")
}

func (k ctxOnlyKey) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if ctx.Value(callerMark{}) == nil {
		return nil, roamsign.E(roamsign.ErrInternal, "test", "not the caller's context")
	}
	return k.PrivateKey.Sign(rand.Reader, digest, opts)
}

// RawSigner calls the key with the caller's context, and a key that panics
// fails the batch with a typed error.
func TestRawSignerContextAndPanic(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	d := sha256.Sum256([]byte("x"))
	hashes := []roamsign.Hash{{Algorithm: roamsign.SHA256, Value: d[:]}, {Algorithm: roamsign.SHA256, Value: d[:]}}
	ctx := context.WithValue(context.Background(), callerMark{}, true)

	sigs, alg, err := service.RawSigner{Workers: 2}.SignBatch(ctx, ctxOnlyKey{priv}, nil, hashes)
	require.NoError(t, err)
	assert.Equal(t, "ECDSA-SHA-256", alg)
	require.Len(t, sigs, 2)
	for _, sig := range sigs {
		assert.True(t, ecdsa.VerifyASN1(&priv.PublicKey, d[:], sig))
	}

	_, _, err = service.RawSigner{}.SignBatch(context.Background(), ctxOnlyKey{priv}, nil, hashes)
	require.ErrorIs(t, err, roamsign.ErrInternal, "a context that is not the caller's")
	_, _, err = service.RawSigner{}.SignBatch(ctx, plainSigner{priv}, nil, hashes)
	require.ErrorIs(t, err, roamsign.ErrInternal, "a panicking key")
}

// plainSigner is a key whose Sign panics.
type plainSigner struct{ k *ecdsa.PrivateKey }

func (p plainSigner) Public() crypto.PublicKey { return p.k.Public() }
func (p plainSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	panic("key failure")
}
