package pdf

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
)

// LTAOptions configures [Prepared.CompleteLTA].
type LTAOptions struct {
	// Timestamper obtains the document time-stamp. Required. The
	// signature time-stamp comes from the Options.Timestamper given to
	// Prepare (the same client, usually).
	Timestamper DigestTimestamper
	// Validator validates every path whose material is embedded, and the
	// document time-stamp's authority. Required.
	Validator ChainValidator
	// Hash is the document time-stamp's imprint algorithm; default
	// SHA-256.
	Hash roamsign.HashAlgorithm
	// VRI adds /VRI entries, as LTVOptions.VRI.
	VRI bool
	// FieldName and ContentsSize are the document time-stamp's, as in
	// TimestampOptions.
	FieldName    string
	ContentsSize int
	// Now is the clock (the /TU of VRI entries); default time.Now.
	Now func() time.Time
}

// CompleteLTA completes the signature as [Prepared.Complete] does, with
// its signature time-stamp, and makes the document PAdES B-LTA in the same
// pass: it writes the original bytes followed by three incremental
// updates, the signature, the /DSS with the validated material of every
// signature of the document (as [AddLTV] adds it), and a document
// time-stamp over the whole (as [AddDocumentTimestamp] adds it). The
// output is what [Extend] makes of Complete's output; the signed revision
// is not written out and read back, and the signature just built is not
// parsed again. Every check of AddLTV and AddDocumentTimestamp applies:
// material is embedded only once opts.Validator accepted its path, and the
// document time-stamp token only once it verified against the document's
// digest.
//
// Prepare must have had a Timestamper (B-LTA is built on B-T), else the
// error wraps [ErrNoSignatureTimestamp]. A container that does not fit the
// reserved /Contents gives a [*ContentsTooSmallError], as Complete. The
// original document is read again and must not have changed since
// Prepare (roamsign.ErrConflict). On error the output written so far must
// be discarded.
func (p *Prepared) CompleteLTA(ctx context.Context, signature []byte, w io.Writer, opts LTAOptions) (rep *LTVReport, err error) {
	const op = "pdf.CompleteLTA"
	defer recoverInto(op, &err)
	tsOpts := TimestampOptions{Timestamper: opts.Timestamper, Validator: opts.Validator, Hash: opts.Hash,
		FieldName: opts.FieldName, ContentsSize: opts.ContentsSize, Now: opts.Now}
	if err := tsOpts.check(op, 0); err != nil {
		return nil, err
	}
	if p.tsa == nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, ErrNoSignatureTimestamp, "Prepare had no Timestamper")
	}
	der, tok, err := p.container(ctx, signature)
	if err != nil {
		return nil, err
	}
	d := p.doc
	if 2*len(der) > d.contentsLen {
		return nil, &ContentsTooSmallError{Need: len(der), Reserved: d.contentsLen / 2}
	}
	signed, release := d.signedUpdate(der, dssRoom)
	defer release()
	var known *knownSig
	if d.sigRef.Num != 0 {
		own, err := d.signatureInfo(der, tok, p.cms.Chain())
		if err != nil {
			return nil, err
		}
		known = &knownSig{ref: d.sigRef, sig: own}
	}
	l, err := openLTV(ctx, op, appended{ra: d.ra, size: d.size, tail: signed}, d.size+int64(len(signed)), opts.Validator, known)
	if err != nil {
		return nil, err
	}
	lo := LTVOptions{Now: opts.Now}
	dss, rep, err := l.update(opts.VRI, lo.now())
	if err != nil {
		return nil, err
	}
	tails := append(signed, dss...)
	doc := appended{ra: d.ra, size: d.size, tail: tails}
	r, err := l.after(doc)
	if err != nil {
		return nil, err
	}
	ts, st, err := stampDocument(ctx, op, doc, d.size+int64(len(tails)), tsOpts, d.prefix(), r)
	if err != nil {
		return nil, err
	}
	if err := d.writeLTA(ctx, w, tails, ts, st.der); err != nil {
		return nil, err
	}
	rep.Changed, rep.Timestamp = true, st.genTime
	rep.Reason = "signed, with the validation material and a document time-stamp"
	return rep, nil
}

// dssRoom is the room CompleteLTA leaves after the signed update for the
// /DSS update that follows it (a signer's and a TSA's paths with their
// CRLs take a few KB; more only costs a copy).
const dssRoom = 16 << 10

// signedUpdate returns a copy of the update with der in /Contents, with
// room for extra bytes after it, in a buffer of updatePool; release
// returns it to the pool, when nothing refers to the copy any more.
func (d *document) signedUpdate(der []byte, extra int) (u []byte, release func()) {
	bp, _ := updatePool.Get().(*[]byte)
	if bp == nil || cap(*bp) < len(d.update)+extra || cap(*bp) > maxPooledUpdate {
		bp = new([]byte)
		*bp = make([]byte, 0, len(d.update)+extra)
	}
	u = append((*bp)[:0], d.update...)
	hex.Encode(u[d.contentsOff:], der)
	return u, func() {
		if cap(u) <= maxPooledUpdate {
			*bp = u[:0]
			updatePool.Put(bp)
		}
	}
}

// updatePool keeps CompleteLTA's buffers of the signed update (tens of
// KB each, mostly the reserved /Contents), so that a batch does not
// allocate and clear one per document; buffers over maxPooledUpdate are
// left to the collector.
var updatePool sync.Pool

const maxPooledUpdate = 1 << 20

// signatureInfo returns the signature being completed as a reader of the
// signed document would find it: /Contents is der padded with zeros, the
// certificates are chain, the signature time-stamp is tok.
func (d *document) signatureInfo(der, tok []byte, chain []*x509.Certificate) (*sigInfo, error) {
	ts, err := parseStamp(tok)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidSignature, "pdf.CompleteLTA", err, "the signature time-stamp does not parse")
	}
	contents := make([]byte, d.contentsLen/2)
	copy(contents, der)
	return &sigInfo{kind: kindCAdES, field: d.field, contents: contents, signer: chain[0], certs: chain, ts: ts,
		end: d.byteRange[2] + d.byteRange[3]}, nil
}

// writeLTA writes the original bytes, tails (the signed update and the
// /DSS update) and the document time-stamp's update ts with token. It
// fails with roamsign.ErrConflict when the original bytes differ from
// those prepared or from those the document time-stamp covers.
func (d *document) writeLTA(ctx context.Context, w io.Writer, tails []byte, ts *document, token []byte) error {
	const op = "pdf.CompleteLTA"
	orig := &crcWriter{}
	if err := copyOriginal(ctx, io.MultiWriter(w, orig), d.ra, d.size); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "copying the document failed")
	}
	all := binary.BigEndian.AppendUint32(nil, crc32.Update(orig.sum, castagnoli, tails))
	if !bytes.Equal(binary.BigEndian.AppendUint32(nil, orig.sum), d.origState) || !bytes.Equal(all, ts.origState) {
		return roamsign.E(roamsign.ErrConflict, op, "the document changed while it was completed; discard the output")
	}
	if _, err := w.Write(tails); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "writing the signed document failed")
	}
	if err := writeUpdate(w, ts.update, ts.contentsOff, token); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "writing the signed document failed")
	}
	return nil
}
