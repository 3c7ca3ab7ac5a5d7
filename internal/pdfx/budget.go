package pdfx

import (
	"sync/atomic"

	"github.com/roamsign/roamsign"
)

// Budget is the total cost one document may cause, in bytes: memory
// allocated for its cross-reference data, object streams, decoded streams
// and parsed objects, plus the bytes scanned to parse them. Everything a
// [Reader] does is charged as it happens, for every section, object stream
// and revision alike, and nothing is refunded, so the total bounds both
// the memory and the work spent on the document, whatever multiplies
// inside it (chained sections, huge declared sizes, deflate bombs, entries
// sharing an offset, many revisions). Readers of one document's revisions
// ([Reader.Revision]) share one Budget; a caller may charge its own work
// on the same document with [Budget.Spend].
//
// Once the limit is passed every further charge fails with
// roamsign.ErrTooLarge, and [Budget.Err] keeps reporting it, so a caller
// that ignores some lookup errors can still tell at the end that its
// reading was cut short. A Budget is safe for concurrent use.
type Budget struct {
	limit int64
	used  atomic.Int64
	over  atomic.Bool
}

// Budget defaults: a fixed allowance plus a multiple of the file size, up
// to a ceiling.
const (
	BudgetBase    = 32 << 20
	BudgetPerByte = 4
	// BudgetMax caps the default budget whatever the file size: what an
	// ordinary document costs depends on its structure (objects,
	// cross-reference entries), not on the bytes of its page content,
	// which are streamed and never held.
	BudgetMax = 512 << 20
)

// DefaultBudget is the limit used for a file of size bytes when
// [Limits.Budget] is nil: 32 MiB plus four times the file size, at most
// [BudgetMax].
func DefaultBudget(size int64) int64 {
	if size > (BudgetMax-BudgetBase)/BudgetPerByte {
		return BudgetMax
	}
	return BudgetBase + BudgetPerByte*max(size, 0)
}

// NewBudget returns a budget of limit bytes (at least 1).
func NewBudget(limit int64) *Budget { return &Budget{limit: max(limit, 1)} }

// Spend charges n bytes. It fails with roamsign.ErrTooLarge when the total
// passes the limit, and from then on always.
func (b *Budget) Spend(n int64) error {
	if n < 0 {
		n = 0
	}
	if b.over.Load() || b.used.Add(n) > b.limit {
		b.over.Store(true)
		return b.Err()
	}
	return nil
}

// Err returns roamsign.ErrTooLarge once the budget was exceeded, else nil.
func (b *Budget) Err() error {
	if !b.over.Load() {
		return nil
	}
	return roamsign.E(roamsign.ErrTooLarge, "pdfx.Budget",
		"the document needs more than %d bytes of memory and work to read (a limit of the whole document, all revisions included)", b.limit)
}

// Used returns the bytes charged so far.
func (b *Budget) Used() int64 { return b.used.Load() }

// Limit returns the budget's limit.
func (b *Budget) Limit() int64 { return b.limit }

// remaining returns what may still be spent.
func (b *Budget) remaining() int64 {
	if b.over.Load() {
		return 0
	}
	return max(b.limit-b.used.Load(), 0)
}
