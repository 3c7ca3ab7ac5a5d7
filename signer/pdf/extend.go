package pdf

import (
	"context"
	"io"
	"time"

	"github.com/roamsign/roamsign"
)

// DefaultRenewBefore is ExtendOptions.RenewBefore when zero: a document
// time-stamp is renewed once its authority's certificate has less than
// this left.
const DefaultRenewBefore = 90 * 24 * time.Hour

// ExtendOptions configures [Extend].
type ExtendOptions struct {
	// Timestamper obtains the new document time-stamp. Required.
	Timestamper DigestTimestamper
	// Validator validates every path whose material is embedded, and the
	// new token's authority. Required.
	Validator ChainValidator
	// Hash is the new time-stamp's imprint algorithm; default SHA-256. A
	// newest time-stamp with a shorter hash is renewed.
	Hash roamsign.HashAlgorithm
	// VRI adds /VRI entries, as LTVOptions.VRI.
	VRI bool
	// RenewBefore is how long before its certificate's expiry the newest
	// document time-stamp is renewed; default DefaultRenewBefore.
	RenewBefore time.Duration
	// FieldName, ContentsSize: as in TimestampOptions.
	FieldName    string
	ContentsSize int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxSize is the largest input accepted, in bytes; default
	// DefaultMaxSize.
	MaxSize int64
}

// Extend keeps a signed document provable (PAdES B-LTA, ETSI EN 319 142-1
// clause 6.4): it adds to the /DSS, as [AddLTV] does, the validated
// material of every signature and document time-stamp (the newest
// document time-stamp's authority included), then a new document
// time-stamp over the whole, as [AddDocumentTimestamp] does. On a B-T or
// B-LT document it makes it B-LTA; on a B-LTA document it renews the
// archive time-stamp. This is what an archive runs, periodically, before
// the newest time-stamp's certificate or algorithm weakens.
//
// Nothing needs adding, and Extend writes nothing and returns a report
// with Changed false, when both hold:
//
//   - the /DSS already holds the material that validates every signature,
//     signature time-stamp and document time-stamp except the newest
//     document time-stamp (whose authority's material waits for the next
//     renewal, as its own time-stamp would cover it); the validator is
//     offered the /DSS material first, so material already embedded and
//     still sufficient is what it returns;
//   - the document has a document time-stamp, and the newest one's
//     authority certificate is valid beyond now + RenewBefore and its
//     imprint hash is at least as long as opts.Hash.
//
// Run again on its own output with the same clock, Extend therefore
// writes nothing. Errors are those of AddLTV and AddDocumentTimestamp; on
// error nothing usable was written to w.
func Extend(ctx context.Context, r io.ReaderAt, size int64, w io.Writer, opts ExtendOptions) (rep *LTVReport, err error) {
	const op = "pdf.Extend"
	defer recoverInto(op, &err)
	tsOpts := TimestampOptions{Timestamper: opts.Timestamper, Validator: opts.Validator, Hash: opts.Hash,
		FieldName: opts.FieldName, ContentsSize: opts.ContentsSize, Now: opts.Now, MaxSize: opts.MaxSize}
	if err := tsOpts.check(op, size); err != nil {
		return nil, err
	}
	if opts.RenewBefore < 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "negative RenewBefore")
	}
	lo := LTVOptions{Now: opts.Now}
	now := lo.now()
	l, err := openLTV(ctx, op, r, size, opts.Validator, nil)
	if err != nil {
		return nil, err
	}
	before := opts.RenewBefore
	if before == 0 {
		before = DefaultRenewBefore
	}
	h := opts.Hash
	if h == 0 {
		h = roamsign.SHA256
	}
	renew, why := renewal(l.sigs, now, before, h)
	if !renew && missing(l.store.known, l.all(l.newestTimestamp())).Len() == 0 {
		return &LTVReport{Signatures: len(l.sigs), Reason: "nothing needs adding: the /DSS holds the material and the newest document time-stamp is valid beyond the renewal margin"}, nil
	}
	tail, rep, err := l.update(opts.VRI, now)
	if err != nil {
		return nil, err
	}
	if why == "" {
		why = "validation material was missing"
	}
	rep.Reason = why
	doc := appended{ra: r, size: size, tail: tail}
	total := size + int64(len(tail))
	dr, err := l.after(doc)
	if err != nil {
		return nil, err
	}
	d, st, err := stampDocument(ctx, op, doc, total, tsOpts, nil, dr)
	if err != nil {
		return nil, err
	}
	if err := d.write(ctx, st.der, w); err != nil {
		return nil, err
	}
	rep.Changed, rep.Timestamp = true, st.genTime
	return rep, nil
}

// newestTimestamp returns the newest document time-stamp when it is the
// newest signature of the document, else nil.
func (l *ltvState) newestTimestamp() *sigInfo {
	if n := len(l.sigs); n > 0 && l.sigs[n-1].kind == kindDocTimestamp {
		return l.sigs[n-1]
	}
	return nil
}
