package service_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/service"
)

// panicKey is a key whose Sign panics.
type panicKey struct{ crypto.Signer }

func (panicKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	panic("key failure")
}

// The raw forms call the key with the caller's context, and a key that
// panics fails the batch with a typed error.
func TestRawFormsContextAndPanic(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	d := sha256.Sum256([]byte("x"))
	hashes := []roamsign.Hash{{Algorithm: roamsign.SHA256, Value: d[:]}, {Algorithm: roamsign.SHA256, Value: d[:]}}
	ctx := testpki.CallerContext(context.Background())
	forms := map[string]struct {
		fs     service.FormSigner
		verify func(sig []byte) error
	}{
		"raw": {service.RawSigner{Workers: 2}, func(sig []byte) error {
			return rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, d[:], sig)
		}},
		"raw-pss": {service.RawPSSSigner{Workers: 2}, func(sig []byte) error {
			return rsa.VerifyPSS(&priv.PublicKey, crypto.SHA256, d[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}},
	}
	for name, f := range forms {
		t.Run(name, func(t *testing.T) {
			fs := f.fs
			sigs, _, err := fs.SignBatch(ctx, testpki.ContextOnlyKey{Signer: priv}, nil, hashes)
			require.NoError(t, err)
			require.Len(t, sigs, 2)
			for _, sig := range sigs {
				require.NoError(t, f.verify(sig))
			}
			_, _, err = fs.SignBatch(context.Background(), testpki.ContextOnlyKey{Signer: priv}, nil, hashes)
			require.ErrorIs(t, err, roamsign.ErrUnavailable, "a context that is not the caller's")
			_, _, err = fs.SignBatch(ctx, panicKey{priv}, nil, hashes)
			require.ErrorIs(t, err, roamsign.ErrInternal, "a panicking key")
		})
	}
}
