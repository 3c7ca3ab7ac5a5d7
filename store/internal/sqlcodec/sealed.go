package sqlcodec

import (
	"context"
	"strings"

	"github.com/roamsign/roamsign"

	"github.com/roamsign/roamsign/store"
)

// Sealed rows: every write of a user, challenge or transaction row inside a
// backend goes through [Update] (or seals a new row with the Seal* methods
// of [store.Sealer]), so the row's seal always covers what it stores.

// Check verifies a row's seal (a method value such as
// (*store.Sealer).CheckUser).
type Check[R any] func(ctx context.Context, op string, r R, rs store.RowSeal) error

// Seal seals a row for an epoch (a method value such as
// (*store.Sealer).SealUser).
type Seal[R any] func(ctx context.Context, r R, epoch int64) (store.RowSeal, error)

// Update reads a row inside the caller's write transaction (locked for
// update), checks its seal, applies fn, seals the result for the next epoch
// and writes it back with the statement of [Placeholders.Reseal], which
// matches only the epoch read (so a write lost to a concurrent one is
// reported, never silent). An error from read, the check or fn aborts and
// is returned; nothing is written.
func Update[R any](ctx context.Context, op string, read func() (R, store.RowSeal, error), check Check[R], seal Seal[R],
	fn func(R) error, write func(R, store.RowSeal) error) error {
	r, rs, err := read()
	if err != nil {
		return err
	}
	if err := check(ctx, op, r, rs); err != nil {
		return err
	}
	if err := fn(r); err != nil {
		return err
	}
	next, err := seal(ctx, r, rs.Epoch+1)
	if err != nil {
		return err
	}
	return write(r, next)
}

// Reseal returns the statement that writes a row read by [Update]:
// [Placeholders.Update] matching also the epoch that was read, which is
// its last argument ([ResealArgs]).
func (p Placeholders) Reseal(table, cols string) string {
	return p.Update(table, cols) + " AND epoch = " + p(strings.Count(cols, ",")+2)
}

// ResealArgs are the arguments of [Placeholders.Reseal] for a row's insert
// arguments args, sealed as next.
func ResealArgs(args []any, next store.RowSeal) []any {
	return append(KeyLast(args), next.Epoch-1)
}

// Resealed checks the number of rows a [Placeholders.Reseal] statement
// changed: one, or the row changed since it was read.
func Resealed(op string, n int64) error {
	if n != 1 {
		return roamsign.E(roamsign.ErrConflict, op, "the row changed while it was being written; retry")
	}
	return nil
}
