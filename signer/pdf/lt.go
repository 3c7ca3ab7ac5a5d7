package pdf

import (
	"context"
	"io"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// AddLTV makes the document's signatures PAdES B-LT (ETSI EN 319 142-1
// clause 6.3): it writes the document followed by an incremental update
// that adds to the document security store (/DSS of the catalog) the
// certificates (/Certs), CRLs (/CRLs) and OCSP responses (/OCSPs), each
// a stream, needed to validate every signature's signer path and
// signature time-stamp TSA path at the time-stamp's genTime, and every
// document time-stamp's TSA path at its genTime.
//
// The material is what opts.Validator returns after validating each path
// (package ltv: verify's Result.Validation); a path that does not validate
// fails the call and nothing is written. The material already in the
// /DSS is offered to the validator first and kept; an item already there
// is not added again, and an existing /DSS is extended in place, its other
// entries kept. With opts.VRI each signature also gets a /VRI entry keyed
// by the uppercase hexadecimal SHA-1 of its /Contents value, naming its
// material, with /TU the time of the update.
//
// When the /DSS already holds everything (and, with VRI, an entry for
// every signature), nothing is written and LTVReport.Changed is false:
// the input is already the result.
//
// Errors: [ErrNoSignature] and [ErrNoSignatureTimestamp] (kind
// roamsign.ErrInvalidInput), roamsign.ErrInvalidInput for a malformed
// document, roamsign.ErrUnsupported for an encrypted one,
// roamsign.ErrTooLarge beyond opts.MaxSize, and the validator's error
// when a path does not validate.
func AddLTV(ctx context.Context, r io.ReaderAt, size int64, w io.Writer, opts LTVOptions) (rep *LTVReport, err error) {
	const op = "pdf.AddLTV"
	defer recoverInto(op, &err)
	if opts.Validator == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no Validator: material is embedded only once validated")
	}
	if size > maxOr(opts.MaxSize) {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "document of %d bytes exceeds the limit of %d", size, maxOr(opts.MaxSize))
	}
	l, err := openLTV(ctx, op, r, size, opts.Validator, nil)
	if err != nil {
		return nil, err
	}
	tail, rep, err := l.update(opts.VRI, opts.now())
	if err != nil || !rep.Changed {
		return rep, err
	}
	return rep, writeWithTail(ctx, op, w, r, size, tail)
}

// ltvState is a document read for B-LT: its signatures, its /DSS and the
// material gathered for each signature.
type ltvState struct {
	op    string
	r     *pdfx.Reader
	cat   pdfx.Dict
	root  pdfx.Ref
	sigs  []*sigInfo
	store *dss
	per   []sigMaterial
	// u is the update that update returned, nil before or when nothing
	// was missing.
	u *pdfx.Update
}

// openLTV reads the document, its signatures (known is not read again)
// and /DSS, and gathers the validated material of every signature.
func openLTV(ctx context.Context, op string, ra io.ReaderAt, size int64, v ChainValidator, known *knownSig) (*ltvState, error) {
	r, err := pdfx.Open(ra, size, pdfx.Limits{})
	if err != nil {
		return nil, err
	}
	if r.Encrypted() {
		return nil, errEncrypted(op, r)
	}
	cat, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	root, ok := r.Trailer()["Root"].(pdfx.Ref)
	if !ok {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "/Root is not an indirect object")
	}
	l := &ltvState{op: op, r: r, cat: cat, root: root}
	if l.sigs, err = signatures(r, known); err != nil {
		return nil, err
	}
	if len(l.sigs) == 0 {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, ErrNoSignature, "nothing to make long-term")
	}
	if l.store, err = readDSS(r, cat); err != nil {
		return nil, err
	}
	if l.per, err = gather(ctx, op, l.sigs, v, l.store.known); err != nil {
		return nil, err
	}
	return l, r.Budget().Err()
}

// all returns the material of every signature but skip.
func (l *ltvState) all(skip *sigInfo) ValidationData {
	var vd ValidationData
	for _, m := range l.per {
		if m.sig != skip {
			vd = union(vd, m.vd)
		}
	}
	return vd
}

// vriMissing reports whether a signature has no /VRI entry.
func (l *ltvState) vriMissing() bool {
	vri, _ := l.r.ResolveDict(l.store.dict["VRI"], "/VRI")
	for _, s := range l.sigs {
		if vri[vriKey(s.contents)] == nil {
			return true
		}
	}
	return false
}

// update returns the incremental update that adds the missing material,
// nil when nothing is missing.
func (l *ltvState) update(vri bool, now time.Time) ([]byte, *LTVReport, error) {
	rep := &LTVReport{Signatures: len(l.sigs)}
	if missing(l.store.known, l.all(nil)).Len() == 0 && (!vri || !l.vriMissing()) {
		rep.Reason = "the /DSS already holds the material of every signature"
		return nil, rep, nil
	}
	u := l.r.NewUpdate()
	rep.Added = l.store.extend(u, l.root, l.cat, l.per, vri, now)
	if err := l.r.Budget().Err(); err != nil {
		return nil, nil, err
	}
	tail, err := u.Bytes()
	if err != nil {
		return nil, nil, err
	}
	l.u = u
	rep.Changed, rep.Reason = true, "validation material added"
	return tail, rep, nil
}

// after returns a reader of the document followed by update's bytes (ra
// reads both), which reads the update's objects as they were built
// instead of parsing the document again.
func (l *ltvState) after(ra io.ReaderAt) (*pdfx.Reader, error) {
	if l.u == nil {
		return l.r, nil
	}
	return l.u.Applied(ra)
}

// writeWithTail writes the document followed by tail.
func writeWithTail(ctx context.Context, op string, w io.Writer, ra io.ReaderAt, size int64, tail []byte) error {
	if err := copyOriginal(ctx, w, ra, size); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "copying the document failed")
	}
	if _, err := w.Write(tail); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "writing the update failed")
	}
	return nil
}
