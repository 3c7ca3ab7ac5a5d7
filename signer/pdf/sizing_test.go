package pdf_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/stretchr/testify/require"
)

// TestContentsSizing: a reservation too small for the container and its
// time-stamp is reported with the size needed (host flow: prepare again
// with it) and prepared again by Sign; a tsa.Client's size hint sizes the
// reservation to the tokens it obtains.
func TestContentsSizing(t *testing.T) {
	f := ltvtest.New(t)
	doc := ltvtest.Document()
	ctx := context.Background()
	p, err := pdf.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), f.Chain, pdf.Options{Timestamper: f.Client, ContentsSize: 1500})
	require.NoError(t, err)
	sig, err := f.Key.Sign(nil, p.Digest(), p.SignerOpts())
	require.NoError(t, err)
	var out bytes.Buffer
	err = p.Complete(ctx, sig, &out)
	var small *pdf.ContentsTooSmallError
	require.True(t, errors.As(err, &small), "err = %v", err)
	require.ErrorIs(t, err, roamsign.ErrTooLarge)
	require.Zero(t, out.Len())
	require.Greater(t, small.Need, small.Reserved)

	// The host prepares again with the size needed.
	p, err = pdf.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), f.Chain, pdf.Options{Timestamper: f.Client, ContentsSize: small.Need + 1024})
	require.NoError(t, err)
	sig, err = f.Key.Sign(nil, p.Digest(), p.SignerOpts())
	require.NoError(t, err)
	require.NoError(t, p.Complete(ctx, sig, &out))
	requirePdfsig(t, out.Bytes(), nssTrusting(t, f.Root.Cert), 1, 1)

	// Sign prepares again by itself.
	out.Reset()
	require.NoError(t, pdf.Sign(ctx, bytes.NewReader(doc), int64(len(doc)), &out, f.Key, f.Chain, pdf.Options{Timestamper: f.Client, ContentsSize: 1500}))
	require.Len(t, timestampTokens(t, out.Bytes()), 1)

	// With the client's hint the default reservation fits the token with
	// little waste: the /Contents is less than twice the container.
	out.Reset()
	require.NoError(t, pdf.Sign(ctx, bytes.NewReader(doc), int64(len(doc)), &out, f.Key, f.Chain, pdf.Options{Timestamper: f.Client}))
	require.Positive(t, f.Client.TokenSizeHint())
	tok := timestampTokens(t, out.Bytes())[0]
	require.Less(t, len(out.Bytes())-len(doc), 2*2*(len(tok.token)+4096)+8192, "reservation far above the need")
}
