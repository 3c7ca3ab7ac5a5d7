package pdf

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
)

// TestPrepareAdversarialBounded prepares a visible signature on each
// hostile document: a typed error or a prepared signature, within
// max(64 MiB, 8 × file size) of heap and two seconds of CPU.
func TestPrepareAdversarialBounded(t *testing.T) {
	p := newPKI(t)
	for _, c := range pdfxtest.Adversarial() {
		t.Run(c.Name, func(t *testing.T) {
			pdfxtest.RequireBounded(t, c, func() error {
				prep, err := Prepare(context.Background(), bytes.NewReader(c.Data), int64(len(c.Data)), p.chain, Options{
					Reason: "Perakuan 1", Appearance: &Appearance{Rect: [4]float64{40, 60, 290, 130}},
				})
				if err != nil {
					return err
				}
				return prep.CompleteCMS(context.Background(), []byte{0x30, 0}, io.Discard)
			})
		})
	}
}
