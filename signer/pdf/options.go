package pdf

import (
	"context"
	"time"

	"github.com/roamsign/roamsign"
)

// Permission is the DocMDP permission of a certification signature: which
// changes a later revision may make without invalidating the certification.
type Permission int

// DocMDP permissions (ISO 32000-2, 12.8.2.2). The zero value means an
// approval signature (no certification).
const (
	Approval      Permission = 0 // an approval signature, no DocMDP
	NoChanges     Permission = 1 // P=1: no changes at all
	FormFilling   Permission = 2 // P=2: form filling and further signatures
	AnnotsAllowed Permission = 3 // P=3: as P=2 plus annotations
)

// DefaultMaxSize is the input size limit used when Options.MaxSize is 0:
// 2 GiB. Memory use does not grow with the size (the file is streamed), so
// the limit bounds the time one document may take.
const DefaultMaxSize = 2 << 30

// Options describes one signature. The zero value (plus a chain) gives an
// invisible SHA-256 approval signature named after the signer certificate,
// dated now, with no timestamp.
type Options struct {
	// Hash is the digest algorithm for the document and the signed
	// attributes; default SHA-256.
	Hash roamsign.HashAlgorithm

	// Name is the signer's name in the signature dictionary and the
	// appearance; default the common name of the signer certificate.
	Name        string
	Reason      string
	Location    string
	ContactInfo string

	// SigningTime is the claimed signing time written to /M (PAdES puts the
	// claimed time there, not in a CMS signing-time attribute). Default Now().
	SigningTime time.Time
	// Now is the clock; default time.Now.
	Now func() time.Time

	// Certify makes a certification signature with the given DocMDP
	// permission; it must be the first signature of the document. Approval
	// (the zero value) adds an approval signature.
	Certify Permission

	// FieldName is the signature field's /T; default "Signature<n>" with
	// the first unused n.
	FieldName string

	// Appearance makes the signature visible; nil makes it invisible.
	Appearance *Appearance

	// Timestamper, when set, adds an RFC 3161 signature timestamp
	// (PAdES-B-T) during completion.
	Timestamper Timestamper

	// ContentsSize is the number of bytes reserved for the CMS container;
	// default an estimate from the chain size, plus room for a timestamp
	// token when a Timestamper is set.
	ContentsSize int

	// MaxSize is the largest input accepted, in bytes; default
	// DefaultMaxSize. Larger inputs give roamsign.ErrTooLarge.
	MaxSize int64

	// AlgorithmProtection adds the CMSAlgorithmProtection attribute.
	AlgorithmProtection bool
	// PSS selects RSASSA-PSS for RSA keys.
	PSS bool
}

// Appearance places a visible signature widget on a page.
type Appearance struct {
	// Page is the 1-based page number; default 1.
	Page int
	// Rect is the widget rectangle on the page as it is shown: lower-left
	// x, lower-left y, upper-right x, upper-right y, in points from the
	// lower-left corner of the visible page (its /CropBox, else its
	// /MediaBox) after the page's /Rotate is applied. On an unrotated page
	// whose boxes start at (0, 0) this is default user space. The widget's
	// /Rect is this rectangle mapped to default user space, and the
	// appearance reads upright on screen whatever the page's rotation. It
	// must lie on the visible page. On a page with a /UserUnit (PDF 1.6)
	// the numbers are in that page's units, as its boxes are.
	Rect [4]float64
	// Lines replace the default text (signer name, date, reason, location):
	// at most MaxAppearanceLines lines of MaxAppearanceLine characters, each
	// character one the font (Font, else Go Regular) has a glyph for, else
	// the signature is refused with a [GlyphError].
	Lines []string
	// Font, a TrueType font file (glyf outlines, at most 16 MiB), draws the
	// text instead of Go Regular, for scripts Go Regular lacks (CJK, for
	// example); a subset of it is embedded. Its licence must allow
	// embedding. Characters are drawn one by one, without the shaping that
	// joining scripts (Arabic, Jawi, Tamil) need.
	Font []byte
	// FontSize in points, at most 500; default fitted to the rectangle, at
	// most 10.
	FontSize float64
	// Image, a JPEG or PNG file (at most MaxImageSize bytes), is drawn at
	// the left of the rectangle, scaled to its height (at most half its
	// width), with the text to its right. A PNG with transparency gets a
	// soft mask, which PDF/A-1 does not allow: use an opaque image on such
	// documents.
	Image []byte
}

// Timestamper obtains an RFC 3161 time-stamp token over data (the value of
// the CMS signature), returning the DER TimeStampToken (a ContentInfo).
type Timestamper interface {
	Timestamp(ctx context.Context, data []byte) ([]byte, error)
}
