package pdfx_test

import (
	"bytes"
	"testing"

	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/stretchr/testify/assert"
)

// TestAdversarialBounded opens each hostile document and reads everything
// reachable from it: the answer is a document or a typed error, the heap
// allocated stays within max(64 MiB, 8 × file size), the CPU time within
// two seconds, and the budget's own account within its limit.
func TestAdversarialBounded(t *testing.T) {
	for _, c := range pdfxtest.Adversarial() {
		t.Run(c.Name, func(t *testing.T) {
			b := pdfx.NewBudget(pdfx.DefaultBudget(int64(len(c.Data))))
			pdfxtest.RequireBounded(t, c, func() error {
				r, err := pdfx.Open(bytes.NewReader(c.Data), int64(len(c.Data)), pdfx.Limits{Budget: b})
				if err == nil {
					walkN(r, 20_000)
				}
				return err
			})
			// A charge that passes the limit is the last one made.
			assert.LessOrEqual(t, b.Used(), b.Limit()+pdfx.DefaultBudget(int64(len(c.Data))), "budget account")
		})
	}
}
