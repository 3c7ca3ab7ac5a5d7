package signer

import (
	"context"
	"crypto"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roamsign/roamsign"
)

// Status is the outcome of one item of a batch. The zero value is
// StatusFailed, so an item is never reported signed by default.
type Status uint8

// The item outcomes.
const (
	// StatusFailed: no signature; Result.Err says why.
	StatusFailed Status = iota
	// StatusSigned: Result.Signature holds the signature.
	StatusSigned
)

// String returns "failed" or "signed".
func (s Status) String() string {
	if s == StatusSigned {
		return "signed"
	}
	return "failed"
}

// Result is the outcome of one digest of a batch.
type Result struct {
	Status    Status
	Signature []byte // set only when Status is StatusSigned
	Err       error  // set only when Status is StatusFailed
}

// Signed reports whether the item was signed.
func (r Result) Signed() bool { return r.Status == StatusSigned }

// SignBatch signs every digest of hashes and returns one [Result] per
// digest, in input order. Items are spread over the configured number of
// parallel signers (the key's sessions). Each item has its own status: a
// digest with a bad length, or one the key fails, is StatusFailed with an
// error, and the other items are still signed.
//
// The returned error is nil only when every item was signed. When some
// failed, it is an error of the first failed item's kind naming the count,
// and the results are still returned. When ctx is cancelled the batch
// stops: items not signed by then are StatusFailed with an error wrapping
// ctx.Err(). A batch that is empty or over the limit returns no results
// and an error of kind [roamsign.ErrInvalidInput] or
// [roamsign.ErrTooLarge]; nothing is signed.
func (s *Signer) SignBatch(ctx context.Context, hashes []roamsign.Hash, opts Options) ([]Result, error) {
	const op = "signer.SignBatch"
	if len(hashes) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no digests given")
	}
	if len(hashes) > s.maxBatch {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "%d digests exceed the batch limit of %d", len(hashes), s.maxBatch)
	}
	if err := s.check(op, opts); err != nil {
		return nil, err
	}
	start := time.Now()
	results := make([]Result, len(hashes))
	done := make([]bool, len(hashes))
	workers := min(s.concurrency, len(hashes))
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(hashes) || ctx.Err() != nil {
				return
			}
			sig, err := s.sign(ctx, op, hashes[i], opts)
			if err != nil {
				results[i] = Result{Status: StatusFailed, Err: itemError(i, err)}
			} else {
				results[i] = Result{Status: StatusSigned, Signature: sig}
			}
			done[i] = true
		}
	}
	if workers == 1 {
		work()
	} else {
		var wg sync.WaitGroup
		for range workers {
			wg.Go(work)
		}
		wg.Wait()
	}

	failed, first := 0, -1
	for i := range results {
		if !done[i] {
			results[i] = Result{Status: StatusFailed, Err: itemError(i, roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "batch cancelled before this item"))}
		}
		if results[i].Status != StatusSigned {
			failed++
			if first < 0 {
				first = i
			}
		}
	}
	if s.log != nil {
		s.log.LogAttrs(ctx, slog.LevelDebug, "signed batch", slog.Int("items", len(hashes)), slog.Int("failed", failed),
			slog.Int("workers", workers), slog.Duration("duration", time.Since(start)))
	}
	if failed == 0 {
		return results, nil
	}
	firstErr := results[first].Err
	if err := ctx.Err(); err != nil {
		return results, roamsign.Wrap(roamsign.ErrUnavailable, op, err, batchMsg(failed, len(hashes)))
	}
	return results, roamsign.Wrap(roamsign.KindOf(firstErr), op, firstErr, batchMsg(failed, len(hashes)))
}

// SignBatch signs hashes with key: a shorthand for New(key, Config{}) and
// [Signer.SignBatch].
func SignBatch(ctx context.Context, key crypto.Signer, hashes []roamsign.Hash, opts Options) ([]Result, error) {
	s, err := New(key, Config{})
	if err != nil {
		return nil, err
	}
	return s.SignBatch(ctx, hashes, opts)
}

func batchMsg(failed, total int) string {
	return strconv.Itoa(failed) + " of " + strconv.Itoa(total) + " digests were not signed"
}

// itemError names the item's index in err.
func itemError(i int, err error) error {
	return roamsign.Wrap(roamsign.KindOf(err), "", err, "item "+strconv.Itoa(i))
}
