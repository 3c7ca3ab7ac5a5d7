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
	// RemoveEncryption lets Repair write a document encrypted with
	// permissions only (an owner password and no user password: it opens
	// without a password) as a decrypted copy, its permissions no longer
	// enforced. Without it such a document is refused with
	// [ErrOwnerEncrypted]; a document that needs a password to open is
	// refused with [ErrPasswordRequired] whatever this says.
	RemoveEncryption bool
	// MaxSize is the largest input accepted, in bytes; default
	// DefaultMaxSize.
	MaxSize int64
}

// RepairReport says, in plain words, what [Repair] found and did.
type RepairReport struct {
	// Damage is why the document could not be signed as it was (its
	// damage, or its encryption when that was removed); empty when it
	// could (the copy is then only a clean rewrite).
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
// With RemoveEncryption, a document encrypted with permissions only is
// written decrypted (every string and stream; no /Encrypt in the copy,
// its /ID kept).
//
// Errors: roamsign.ErrInvalidInput for what is not a PDF or has no
// readable catalog, roamsign.ErrUnsupported with [ErrOwnerEncrypted]
// for a document encrypted with permissions only when RemoveEncryption is
// not set, with [ErrPasswordRequired] for one that needs a password to
// open, with [ErrEncrypted] for encryption that cannot be removed (all
// three match ErrEncrypted),
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
		if err := decrypt(op, rd, rep, opts); err != nil {
			return nil, err
		}
	}
	if err := rd.WriteFull(ctx, w); err != nil {
		return nil, err
	}
	rep.Fixes = append(rep.Fixes, "wrote a clean copy with a new cross-reference table")
	return rep, nil
}

// decrypt makes rd present the document decrypted when it opens without
// a password and the caller asked for it, else refuses it.
func decrypt(op string, rd *pdfx.Reader, rep *RepairReport, opts RepairOptions) error {
	if !opts.RemoveEncryption {
		return errEncrypted(op, rd)
	}
	if err := rd.Decrypt(); err != nil {
		return encryptionRefusal(op, err)
	}
	if rep.Damage == "" {
		rep.Damage = "the document is encrypted with permissions only"
	}
	rep.Fixes = append(rep.Fixes, "removed the encryption (no password is needed to open the document; the owner password's restrictions are removed)")
	return nil
}
