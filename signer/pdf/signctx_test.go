package pdf

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/testpki"
)

// The one-step Sign hands the caller's context to the key.
func TestSignPassesContextToKey(t *testing.T) {
	p := newPKI(t)
	in := docs(t)["classic"]
	var out bytes.Buffer
	ctx := testpki.CallerContext(context.Background())
	require.NoError(t, Sign(ctx, bytes.NewReader(in), int64(len(in)), &out, testpki.ContextOnlyKey{Signer: p.key}, p.chain, Options{}))
	requireValid(t, out.Bytes(), 1, p.nss(t))
}
