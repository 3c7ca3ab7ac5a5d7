package pdf

import (
	"bytes"
	"context"
	"crypto"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
)

// ctxKey signs only through SignContext, and only with the caller's
// context, as an HSM key bounds its wait for a session by it.
type ctxKey struct{ crypto.Signer }

type callerMark struct{}

func (k ctxKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, roamsign.E(roamsign.ErrInternal, "test", "Sign called without the caller's context")
}

func (k ctxKey) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if ctx.Value(callerMark{}) == nil {
		return nil, roamsign.E(roamsign.ErrInternal, "test", "not the caller's context")
	}
	return k.Signer.Sign(nil, digest, opts)
}

// The one-step Sign hands the caller's context to the key.
func TestSignPassesContextToKey(t *testing.T) {
	p := newPKI(t)
	in := docs(t)["classic"]
	ctx := context.WithValue(context.Background(), callerMark{}, true)
	var out bytes.Buffer
	require.NoError(t, Sign(ctx, bytes.NewReader(in), int64(len(in)), &out, ctxKey{p.key}, p.chain, Options{}))
	requireValid(t, out.Bytes(), 1, p.nss(t))
}
