package pdf

import (
	"context"
	"errors"
	"io"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// RepairOptions are the choices of [Repair].
type RepairOptions struct {
	// MaxSize is the largest input accepted, in bytes; default
	// DefaultMaxSize.
	MaxSize int64
}

// RepairReport says, in plain words, what [Repair] found and did.
type RepairReport struct {
	// Damage is why the document could not be signed as it was; empty
	// when it could (the copy is then only a clean rewrite).
	Damage string
	// Fixes lists what the repair changed.
	Fixes []string
}

// Repair writes to w a clean, complete copy of the document r (size
// bytes) that [Prepare] can sign: one revision, every object the document
// uses, a new cross-reference table, nothing before the header. It mends
// what makes Prepare refuse a document with [ErrRepairable]: a missing
// end-of-file marker, a wrong startxref, cross-reference data or object
// offsets that are not where the file says (the cross-reference data is
// rebuilt from the objects found in the file); bytes before the header
// are dropped. The page content is copied byte for byte.
//
// Repair is never done in passing: the copy is a different file from the
// original, earlier signatures in it no longer verify, and a host must
// keep and show the copy, since that is what is then signed. Prepare
// never repairs; a host calls Repair only when its user asked for it.
//
// Errors: roamsign.ErrInvalidInput for what is not a PDF or has no
// readable catalog, roamsign.ErrUnsupported with [ErrEncrypted] for an
// encrypted document (its encryption is not removed),
// roamsign.ErrTooLarge beyond MaxSize or the reader's limits. On error the
// output written so far must be discarded.
func Repair(ctx context.Context, r io.ReaderAt, size int64, w io.Writer, opts RepairOptions) (rep *RepairReport, err error) {
	const op = "pdf.Repair"
	defer func() {
		if p := recover(); p != nil {
			rep, err = nil, roamsign.E(roamsign.ErrInvalidInput, op, "malformed PDF (%v)", p)
		}
	}()
	max := opts.MaxSize
	if max <= 0 {
		max = DefaultMaxSize
	}
	if size > max {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "document of %d bytes exceeds the limit of %d", size, max)
	}
	rep = &RepairReport{}
	rd, err := pdfx.Open(r, size, pdfx.Limits{})
	var de *pdfx.DamageError
	switch {
	case err == nil:
		if h := rd.HeaderOffset(); h > 0 {
			rep.Fixes = append(rep.Fixes, "removed the bytes before the PDF header")
		}
	case errors.As(err, &de):
		rep.Damage = de.Msg
		var notes []string
		if rd, notes, err = pdfx.Rebuild(ctx, r, size, pdfx.Limits{}); err != nil {
			return nil, err
		}
		rep.Fixes = append(rep.Fixes, notes...)
	default:
		return nil, err
	}
	if rd.Encrypted() {
		return nil, errEncrypted(op)
	}
	if err := rd.WriteFull(ctx, w); err != nil {
		return nil, err
	}
	rep.Fixes = append(rep.Fixes, "wrote a clean copy with a new cross-reference table")
	return rep, nil
}
