package roamsign_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
)

// keyFunc is a crypto.Signer whose Sign runs a function.
type keyFunc struct {
	pub  crypto.PublicKey
	sign func() ([]byte, error)
}

func (k keyFunc) Public() crypto.PublicKey { return k.pub }
func (k keyFunc) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return k.sign()
}

// ctxKey is a ContextSigner that records the context it was given.
type ctxKey struct {
	keyFunc
	got context.Context
	n   int
}

func (k *ctxKey) SignContext(ctx context.Context, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	k.got = ctx
	k.n++
	return []byte("sig"), nil
}

type marker struct{}

func TestSignContext(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	d := sha256.Sum256([]byte("document"))
	ctx := context.Background()

	t.Run("plain signer", func(t *testing.T) {
		sig, err := roamsign.SignContext(ctx, priv, d[:], crypto.SHA256)
		require.NoError(t, err)
		assert.True(t, ecdsa.VerifyASN1(&priv.PublicKey, d[:], sig))
	})
	t.Run("context signer gets the context", func(t *testing.T) {
		k := &ctxKey{keyFunc: keyFunc{sign: func() ([]byte, error) { return nil, errors.New("Sign called") }}}
		vctx := context.WithValue(ctx, marker{}, "caller")
		sig, err := roamsign.SignContext(vctx, k, d[:], crypto.SHA256)
		require.NoError(t, err)
		assert.Equal(t, []byte("sig"), sig)
		require.NotNil(t, k.got)
		assert.Equal(t, "caller", k.got.Value(marker{}))
	})
	t.Run("done context", func(t *testing.T) {
		k := &ctxKey{}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := roamsign.SignContext(cctx, k, d[:], crypto.SHA256)
		require.ErrorIs(t, err, roamsign.ErrUnavailable)
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, k.n, "the key was called after the context ended")
	})
	t.Run("panicking key", func(t *testing.T) {
		k := keyFunc{sign: func() ([]byte, error) { panic("secret-panic-value") }}
		sig, err := roamsign.SignContext(ctx, k, d[:], crypto.SHA256)
		require.ErrorIs(t, err, roamsign.ErrInternal)
		assert.Nil(t, sig)
		assert.NotContains(t, err.Error(), "secret-panic-value")
	})
	t.Run("untyped key error", func(t *testing.T) {
		cause := errors.New("device busy")
		_, err := roamsign.SignContext(ctx, keyFunc{sign: func() ([]byte, error) { return nil, cause }}, d[:], crypto.SHA256)
		require.ErrorIs(t, err, roamsign.ErrUnavailable)
		require.ErrorIs(t, err, cause)
	})
	t.Run("typed key error", func(t *testing.T) {
		cause := roamsign.E(roamsign.ErrInvalidInput, "key", "bad digest")
		_, err := roamsign.SignContext(ctx, keyFunc{sign: func() ([]byte, error) { return nil, cause }}, d[:], crypto.SHA256)
		require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	})
	t.Run("no key", func(t *testing.T) {
		_, err := roamsign.SignContext(ctx, nil, d[:], crypto.SHA256)
		require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	})
}

type concurrentKey struct {
	keyFunc
	n int
}

func (k concurrentKey) Concurrency() int { return k.n }

func TestConcurrency(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	assert.Equal(t, 7, roamsign.Concurrency(concurrentKey{n: 7}))
	assert.Equal(t, procs, roamsign.Concurrency(concurrentKey{n: 0}), "a key reporting 0")
	assert.Equal(t, procs, roamsign.Concurrency(keyFunc{}), "a key without Concurrency")
}

// A key is called through SignContext, so an HSM key's wait for a session
// ends with the caller's context; any crypto.Signer works.
func ExampleSignContext() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	digest := sha256.Sum256([]byte("Data Hash To Sign"))
	sig, err := roamsign.SignContext(context.Background(), key, digest[:], crypto.SHA256)
	if err != nil {
		panic(err)
	}
	fmt.Println(ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig))
	// Output: true
}
