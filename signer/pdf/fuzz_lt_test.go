package pdf_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

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
func FuzzAddLTV(f *testing.F) {
	fx := ltvtest.New(f)
	bt := fx.BT(f, ltvtest.Document())
	f.Add(bt)
	f.Add(fx.BLT(f, bt, true))
	f.Add(fx.BLTA(f, bt))
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
