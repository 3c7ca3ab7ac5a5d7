package pdf

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"io"
	"math"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer/cms"
)

// Prepared is a PDF signature prepared on the host and waiting for the
// signature value: the document's incremental update with a reserved
// /Contents, the digest of its ByteRange, and the CMS signed attributes
// over that digest. It keeps the io.ReaderAt given to [Prepare]; the
// document must not change until [Prepared.Complete] returns.
//
// A Prepared may be completed more than once (for example after a failed
// write) but is not safe for concurrent use.
type Prepared struct {
	doc *document
	cms *cms.Prepared
	tsa Timestamper
}

// Prepare reads the document r (size bytes), reserves a signature field and
// /Contents sized for chain (plus a timestamp when opts.Timestamper is set),
// hashes the ByteRange while streaming the file, and prepares the CMS
// signed attributes (PAdES-B-B: content-type, message-digest, ESS
// signing-certificate-v2, no signing-time). chain[0] is the signer
// certificate; the issuers follow.
//
// Errors: roamsign.ErrInvalidInput for malformed documents or options,
// roamsign.ErrUnsupported for encrypted documents, roamsign.ErrTooLarge
// beyond Options.MaxSize or other limits, roamsign.ErrConflict when a
// certification forbids the new signature.
func Prepare(ctx context.Context, r io.ReaderAt, size int64, chain []*x509.Certificate, opts Options) (*Prepared, error) {
	const op = "pdf.Prepare"
	if len(chain) == 0 || chain[0] == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no signer certificate")
	}
	sp, err := params(chain, opts)
	if err != nil {
		return nil, err
	}
	max := opts.MaxSize
	if max <= 0 {
		max = DefaultMaxSize
	}
	doc, err := newDocument(ctx, r, size, sp, max)
	if err != nil {
		return nil, err
	}
	cp, err := cms.Prepare(doc.digest, chain, cms.Options{
		Hash:                sp.hash,
		SigningTime:         sp.when,
		Now:                 opts.Now,
		AlgorithmProtection: opts.AlgorithmProtection,
		PSS:                 opts.PSS,
		OmitSigningTime:     true,
	})
	if err != nil {
		return nil, err
	}
	return &Prepared{doc: doc, cms: cp, tsa: opts.Timestamper}, nil
}

func params(chain []*x509.Certificate, opts Options) (sigParams, error) {
	const op = "pdf.Prepare"
	sp := sigParams{
		name: opts.Name, reason: opts.Reason, location: opts.Location, contact: opts.ContactInfo,
		when: opts.SigningTime, certify: opts.Certify, field: opts.FieldName, app: opts.Appearance,
		contentsSize: opts.ContentsSize, hash: opts.Hash,
	}
	if sp.hash == 0 {
		sp.hash = roamsign.SHA256
	}
	if !sp.hash.Valid() {
		return sp, roamsign.E(roamsign.ErrInvalidInput, op, "unsupported hash algorithm %v", opts.Hash)
	}
	if sp.certify < Approval || sp.certify > AnnotsAllowed {
		return sp, roamsign.E(roamsign.ErrInvalidInput, op, "DocMDP permission must be 1, 2 or 3")
	}
	if sp.name == "" {
		sp.name = chain[0].Subject.CommonName
	}
	if sp.when.IsZero() {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		sp.when = now()
	}
	if sp.contentsSize <= 0 {
		sp.contentsSize = contentsReserve(chain, opts.Timestamper)
	}
	if sp.contentsSize > 1<<20 {
		return sp, roamsign.E(roamsign.ErrInvalidInput, op, "ContentsSize above 1 MiB")
	}
	if a := opts.Appearance; a != nil {
		for _, v := range a.Rect {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return sp, roamsign.E(roamsign.ErrInvalidInput, op, "appearance rectangle must be finite numbers")
			}
		}
		if a.Rect[2] <= a.Rect[0] || a.Rect[3] <= a.Rect[1] || a.Page < 0 {
			return sp, roamsign.E(roamsign.ErrInvalidInput, op, "appearance rectangle must have positive width and height")
		}
	}
	if len(sp.field) > 200 {
		return sp, roamsign.E(roamsign.ErrInvalidInput, op, "field name too long")
	}
	return sp, nil
}

// Digest returns the bytes the key must sign with [Prepared.SignerOpts]:
// the digest of the DER-encoded signed attributes ("Data Hash To Sign").
func (p *Prepared) Digest() []byte { return p.cms.Digest() }

// SignedAttributes returns the DER encoding of the signed attributes.
func (p *Prepared) SignedAttributes() []byte { return p.cms.SignedAttributes() }

// SignerOpts returns the options to pass to crypto.Signer.Sign.
func (p *Prepared) SignerOpts() crypto.SignerOpts { return p.cms.SignerOpts() }

// Hash returns the digest algorithm.
func (p *Prepared) Hash() roamsign.HashAlgorithm { return p.doc.hash }

// DocumentDigest returns the digest of the bytes covered by the ByteRange
// (the CMS message-digest).
func (p *Prepared) DocumentDigest() []byte { return append([]byte(nil), p.doc.digest...) }

// ByteRange returns the /ByteRange of the prepared signature.
func (p *Prepared) ByteRange() [4]int64 { return p.doc.byteRange }

// Complete builds the CMS container from the signature value over
// [Prepared.Digest], adds a time-stamp token when a Timestamper was set,
// and writes the signed document (the original bytes followed by the
// incremental update) to w.
//
// On error the output written so far must be discarded.
func (p *Prepared) Complete(ctx context.Context, signature []byte, w io.Writer) error {
	der, _, err := p.container(ctx, signature)
	if err != nil {
		return err
	}
	return p.doc.write(ctx, der, w)
}

// container builds the CMS container from the signature value, with a
// signature time-stamp token when a Timestamper was set; it returns the
// container and the token (nil without Timestamper).
func (p *Prepared) container(ctx context.Context, signature []byte) (der, tok []byte, err error) {
	if p.tsa == nil {
		der, err = p.cms.Complete(signature)
		return der, nil, err
	}
	return p.cms.CompleteTimestamped(ctx, signature, p.tsa)
}

// CompleteCMS embeds a CMS SignedData built elsewhere (detached, over
// [Prepared.DocumentDigest]) and writes the signed document to w. No
// timestamp is added.
func (p *Prepared) CompleteCMS(ctx context.Context, der []byte, w io.Writer) error {
	return p.doc.write(ctx, der, w)
}

// Sign signs the document in one step with a local key: [Prepare], a
// signature by key over [Prepared.Digest], and [Prepared.Complete]. The key
// is called through [roamsign.SignContext], so an HSM key's wait for a
// session ends with ctx.
func Sign(ctx context.Context, in io.ReaderAt, size int64, out io.Writer, key crypto.Signer, chain []*x509.Certificate, opts Options) error {
	for attempt := 0; ; attempt++ {
		p, err := Prepare(ctx, in, size, chain, opts)
		if err != nil {
			return err
		}
		sig, err := roamsign.SignContext(ctx, key, p.Digest(), p.SignerOpts())
		if err != nil {
			return roamsign.Wrap(roamsign.KindOf(err), "pdf.Sign", err, "signing failed")
		}
		err = p.Complete(ctx, sig, out)
		// A container that did not fit is prepared again, once, with the
		// room it needs (a longer chain or time-stamp token than
		// estimated); nothing was written.
		var small *ContentsTooSmallError
		if attempt > 0 || !errors.As(err, &small) {
			return err
		}
		opts.ContentsSize = small.Need + tokenMargin
	}
}

// MarshalBinary serializes the prepared state (not the document, not the
// Timestamper) so that a host can complete the signature in a later request
// with [Resume]. The state holds no secret but should be stored where the
// host keeps its own documents: a changed state yields a broken signature
// or an error, never a silently different document.
func (p *Prepared) MarshalBinary() ([]byte, error) {
	cs, err := p.cms.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return p.doc.marshal(cs), nil
}

// Resume restores a state from [Prepared.MarshalBinary] for the same
// document r of size bytes; tsa may be nil.
func Resume(state []byte, r io.ReaderAt, size int64, tsa Timestamper) (*Prepared, error) {
	d, cs, err := unmarshalDocument(state)
	if err != nil {
		return nil, err
	}
	if d.size != size {
		return nil, roamsign.E(roamsign.ErrConflict, "pdf.Resume", "the document size differs from the prepared one")
	}
	cp, err := cms.UnmarshalPrepared(cs)
	if err != nil {
		return nil, err
	}
	if cp.Hash() != d.hash {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "pdf.Resume", "prepared state is inconsistent")
	}
	d.ra = r
	return &Prepared{doc: d, cms: cp, tsa: tsa}, nil
}
