package pdf_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/signer/pdf"
)

// acceptAll validates every path with no material: the fuzz target
// exercises the reading of signatures, tokens and /DSS, not validation.
type acceptAll struct{}

func (acceptAll) ValidateChain(context.Context, pdf.ChainRequest) (*pdf.ValidationData, error) {
	return &pdf.ValidationData{}, nil
}

// FuzzAddLTV: whatever the document (signatures, CMS, time-stamp tokens,
// /DSS and /VRI included), AddLTV returns a typed error or an update, and
// never panics.
//
// The seeds reserve no more /Contents than their signature and tokens
// fill: the fuzzing engine minimises every input that reaches new code,
// running the target once per candidate, and a smaller input is minimised
// in proportion (see also fuzzMinimizeTime).
func FuzzAddLTV(f *testing.F) {
	fx := ltvtest.New(f)
	bt := compactBT(f, fx, ltvtest.Document())
	blt := fx.BLT(f, bt, true)
	var blta bytes.Buffer
	_, err := pdf.Extend(context.Background(), bytes.NewReader(blt), int64(len(blt)), &blta,
		pdf.ExtendOptions{Timestamper: fx.Client, Validator: fx.Validator, ContentsSize: 1})
	require.NoError(f, err)
	f.Add(bt)
	f.Add(blt)
	f.Add(blta.Bytes())
	f.Fuzz(func(t *testing.T, doc []byte) {
		var out bytes.Buffer
		_, err := pdf.AddLTV(context.Background(), bytes.NewReader(doc), int64(len(doc)), &out, pdf.LTVOptions{Validator: acceptAll{}, VRI: true})
		if err != nil {
			var e *roamsign.Error
			if !errors.As(err, &e) && !errors.Is(err, roamsign.ErrInvalidInput) {
				t.Fatalf("untyped error: %v", err)
			}
		}
	})
}

// compactBT signs doc PAdES B-T with /Contents reserved to the size of
// its container: prepared once with no room, then again with the room the
// container needs.
func compactBT(t testing.TB, fx *ltvtest.Fixture, doc []byte) []byte {
	t.Helper()
	ctx := context.Background()
	size := 1
	for {
		p, err := pdf.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), fx.Chain, pdf.Options{Timestamper: fx.Client, ContentsSize: size})
		require.NoError(t, err)
		sig, err := fx.Key.Sign(rand.Reader, p.Digest(), p.SignerOpts())
		require.NoError(t, err)
		var out bytes.Buffer
		err = p.Complete(ctx, sig, &out)
		var small *pdf.ContentsTooSmallError
		if size == 1 && errors.As(err, &small) {
			size = small.Need + 16 // a later token may be a few bytes longer
			continue
		}
		require.NoError(t, err)
		return out.Bytes()
	}
}
