package pdf

import (
	"context"
	"io"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
)

// Sizes of the /Contents reserved for a document time-stamp token.
const (
	// DefaultTokenReserve is reserved when the time-stamper gives no size
	// hint: room for a token carrying a TSA certificate and two CA
	// certificates of 4096-bit RSA.
	DefaultTokenReserve = 8192
	// tokenMargin is added to a known token size: tokens of one authority
	// differ by a few bytes (serial, genTime fraction, nonce length), and
	// an authority may change its certificate.
	tokenMargin = 1024
)

// AddDocumentTimestamp adds a document time-stamp (ISO 32000-2 clause
// 12.8.5; ETSI EN 319 142-1 clause 5.4.3) as an incremental update: a
// signature field with an invisible widget on the first page, whose value
// is a dictionary with /Type /DocTimeStamp, /Filter /Adobe.PPKLite,
// /SubFilter /ETSI.RFC3161 and, in /Contents, an RFC 3161 token over the
// digest of the /ByteRange (the whole file but /Contents). Added after a
// /DSS it makes a B-LT document B-LTA.
//
// The token is embedded only after it is verified here, whatever the
// Timestamper checked: its imprint is the document's digest, its signature
// verifies, its signer is a time-stamping certificate, and
// opts.Validator accepts the authority's path at genTime. /Contents is
// reserved from the Timestamper's size hint ([TokenSizer]) plus a margin;
// when the token does not fit, the update is prepared again with the room
// it needs and a new token is requested (one more round trip), instead of
// failing.
//
// On error nothing usable was written to w. Errors: roamsign.ErrInvalidInput
// for missing options or a malformed document, roamsign.ErrUnsupported for
// an encrypted one, roamsign.ErrTooLarge beyond opts.MaxSize,
// roamsign.ErrInvalidSignature for a token that does not verify, and the
// Timestamper's own errors (package tsa: ErrUnavailable,
// ErrRateLimited).
func AddDocumentTimestamp(ctx context.Context, r io.ReaderAt, size int64, w io.Writer, opts TimestampOptions) (rep *LTVReport, err error) {
	const op = "pdf.AddDocumentTimestamp"
	defer recoverInto(op, &err)
	if err := opts.check(op, size); err != nil {
		return nil, err
	}
	d, st, err := stampDocument(ctx, op, r, size, opts, nil, nil)
	if err != nil {
		return nil, err
	}
	if err := d.write(ctx, st.der, w); err != nil {
		return nil, err
	}
	return &LTVReport{Changed: true, Timestamp: st.genTime, Reason: "document time-stamp added"}, nil
}

func (o *TimestampOptions) check(op string, size int64) error {
	switch {
	case o.Timestamper == nil:
		return roamsign.E(roamsign.ErrInvalidInput, op, "no Timestamper")
	case o.Validator == nil:
		return roamsign.E(roamsign.ErrInvalidInput, op, "no Validator: a token whose authority is not validated is never embedded")
	case o.Hash != 0 && !o.Hash.Valid():
		return roamsign.E(roamsign.ErrInvalidInput, op, "unsupported hash algorithm %v", o.Hash)
	case o.ContentsSize < 0 || o.ContentsSize > 1<<20:
		return roamsign.E(roamsign.ErrInvalidInput, op, "ContentsSize must be between 0 and 1 MiB")
	case len(o.FieldName) > 200:
		return roamsign.E(roamsign.ErrInvalidInput, op, "field name too long")
	case size > maxOr(o.MaxSize):
		return roamsign.E(roamsign.ErrTooLarge, op, "document of %d bytes exceeds the limit of %d", size, maxOr(o.MaxSize))
	}
	return nil
}

// tokenReserve returns the bytes to reserve for a token of ts.
func tokenReserve(ts DigestTimestamper, asked int) int {
	if asked > 0 {
		return asked
	}
	if s, ok := ts.(TokenSizer); ok {
		if n := s.TokenSizeHint(); n > 0 {
			return n + n/4 + tokenMargin
		}
	}
	return DefaultTokenReserve
}

// stampedToken is a verified token ready to embed.
type stampedToken struct {
	*stamp
	der []byte
}

// stampDocument prepares the document time-stamp's update, obtains a
// token over its ByteRange and verifies it; when the token does not fit it
// prepares again once with the room the token needs. r reads ra when the
// caller has such a reader (the document is opened otherwise).
func stampDocument(ctx context.Context, op string, ra io.ReaderAt, size int64, opts TimestampOptions, pre *hashedPrefix, r *pdfx.Reader) (*document, *stampedToken, error) {
	h := opts.Hash
	if h == 0 {
		h = roamsign.SHA256
	}
	reserve := tokenReserve(opts.Timestamper, opts.ContentsSize)
	for attempt := 0; ; attempt++ {
		if r == nil {
			var err error
			if r, err = pdfx.Open(ra, size, pdfx.Limits{}); err != nil {
				return nil, nil, err
			}
		}
		up, err := timestampUpdate(r, opts.FieldName, reserve)
		if err != nil {
			return nil, nil, err
		}
		d, err := placeUpdate(ctx, ra, size, h, up, pre)
		if err != nil {
			return nil, nil, err
		}
		token, err := opts.Timestamper.TimestampDigest(ctx, h, d.digest)
		if err != nil {
			return nil, nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "document time-stamp")
		}
		st, _, err := checkToken(ctx, op, token, h, d.digest, opts.Validator)
		if err != nil {
			return nil, nil, err
		}
		if 2*len(token) <= d.contentsLen {
			return d, &stampedToken{stamp: st, der: token}, nil
		}
		if attempt > 0 || len(token) > 1<<20 {
			return nil, nil, roamsign.E(roamsign.ErrTooLarge, op, "time-stamp token of %d bytes does not fit the %d bytes reserved", len(token), d.contentsLen/2)
		}
		reserve = len(token) + tokenMargin
	}
}

// timestampUpdate builds the update that adds a document time-stamp
// field, its invisible widget on the first page and the /DocTimeStamp
// dictionary with reserve bytes of /Contents.
func timestampUpdate(r *pdfx.Reader, field string, reserve int) (*update, error) {
	if r.Encrypted() {
		return nil, errEncrypted("pdf.AddDocumentTimestamp", r)
	}
	cat, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	rootRef, ok := r.Trailer()["Root"].(pdfx.Ref)
	if !ok {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "pdf.AddDocumentTimestamp", "/Root is not an indirect object")
	}
	pageRef, page, err := findPage(r, cat["Pages"], 1)
	if err != nil {
		return nil, err
	}
	b := &builder{r: r, u: r.NewUpdate(), sp: sigParams{field: field, contentsSize: reserve}, cat: cat.Clone(), rootRef: rootRef, pageRef: pageRef, page: page, esic: esicDSS}
	b.u.Grow(2*reserve + 4096)
	b.sigRef, b.widgetRef, b.apRef = b.u.Alloc(), b.u.Alloc(), b.u.Alloc()
	name, err := b.field()
	if err != nil {
		return nil, err
	}
	b.up.byteRange = &pdfx.Placeholder{Width: 60, Fill: ' '}
	b.up.contents = &pdfx.Placeholder{Width: 2 * reserve, Fill: '0', Prefix: "<", Suffix: ">"}
	b.u.Put(b.sigRef, pdfx.Dict{
		"Type":      pdfx.Name("DocTimeStamp"),
		"Filter":    pdfx.Name("Adobe.PPKLite"),
		"SubFilter": pdfx.Name("ETSI.RFC3161"),
		"ByteRange": b.up.byteRange,
		"Contents":  b.up.contents,
	})
	if err := b.widget(name); err != nil {
		return nil, err
	}
	if err := b.annotation(); err != nil {
		return nil, err
	}
	return b.finish()
}

// recoverInto turns a panic that slipped through the reader into a typed
// error: the package boundary guarantee.
func recoverInto(op string, err *error) {
	if p := recover(); p != nil {
		*err = roamsign.E(roamsign.ErrInvalidInput, op, "malformed PDF (%v)", p)
	}
}

// appended reads ra's first size bytes followed by tail: a document and
// an update not yet written out.
type appended struct {
	ra   io.ReaderAt
	size int64
	tail []byte
}

func (a appended) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < a.size {
		m := int(min(int64(len(p)), a.size-off))
		k, err := a.ra.ReadAt(p[:m], off)
		n += k
		if err != nil && !(err == io.EOF && k == m) {
			return n, err
		}
		p, off = p[m:], a.size
	}
	if len(p) == 0 {
		return n, nil
	}
	t := off - a.size
	if t >= int64(len(a.tail)) {
		return n, io.EOF
	}
	k := copy(p, a.tail[t:])
	n += k
	if k < len(p) {
		return n, io.EOF
	}
	return n, nil
}
