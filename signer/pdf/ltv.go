package pdf

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/roamsign/roamsign"
)

// ValidationData is validation material in DER: X.509 certificates, CRLs
// and OCSP responses (the whole OCSPResponse of RFC 6960). It is what a
// /DSS holds (ETSI EN 319 142-1 clause 5.4.2).
type ValidationData struct {
	Certificates  [][]byte
	CRLs          [][]byte
	OCSPResponses [][]byte
}

// Len returns the number of items.
func (d ValidationData) Len() int {
	return len(d.Certificates) + len(d.CRLs) + len(d.OCSPResponses)
}

// ChainRole says whose certificate path a [ChainRequest] asks about.
type ChainRole int

// The roles. A signer's path and a time-stamping authority's path are
// validated under different rules (key usage, extended key usage, trust
// anchors), so a validator is told which one it is given.
const (
	// SignerChain is the path of a signature's signer.
	SignerChain ChainRole = iota + 1
	// TSAChain is the path of a time-stamping authority: of a signature
	// time-stamp or of a document time-stamp.
	TSAChain
)

// String names the role.
func (r ChainRole) String() string {
	switch r {
	case SignerChain:
		return "signer"
	case TSAChain:
		return "time-stamping authority"
	}
	return "unknown"
}

// ChainRequest asks for a certificate path to be validated.
type ChainRequest struct {
	Role ChainRole
	// Leaf is the signer's or the time-stamping authority's certificate.
	Leaf *x509.Certificate
	// Intermediates are the certificates the signature or token carries;
	// candidates, never anchors.
	Intermediates []*x509.Certificate
	// At is the time to validate at: the genTime of the signature
	// time-stamp for a signer, the token's own genTime for a TSA.
	At time.Time
	// Timestamped says At is proven by a time-stamp token.
	Timestamped bool
	// Known is the material the document already holds (its /DSS and the
	// signature's own). A validator should use it before fetching, so
	// that material already embedded is returned again and not fetched
	// anew.
	Known ValidationData
}

// ChainValidator validates a certificate path and returns the material
// that decided it: the path's certificates and the CRLs or OCSP responses
// that gave each certificate's status. It returns an error when the path
// is not valid or its status cannot be determined; the material of such a
// path is never embedded.
//
// Package ltv adapts package verify's Verifier to this interface; the
// material it returns is verify's Result.Validation.
type ChainValidator interface {
	ValidateChain(ctx context.Context, req ChainRequest) (*ValidationData, error)
}

// DigestTimestamper obtains an RFC 3161 time-stamp token over a digest the
// caller computed (a document time-stamp covers the whole file, which is
// hashed while streaming, never held). Package tsa's Client is one.
type DigestTimestamper interface {
	TimestampDigest(ctx context.Context, h roamsign.HashAlgorithm, digest []byte) ([]byte, error)
}

// TokenSizer is implemented by a time-stamper that knows the size of the
// tokens it obtains (package tsa's Client: the largest seen so far), so
// that /Contents is reserved to fit them.
type TokenSizer interface {
	TokenSizeHint() int
}

// LTVOptions configures [AddLTV].
type LTVOptions struct {
	// Validator validates every path whose material is embedded.
	// Required.
	Validator ChainValidator
	// VRI adds, besides /Certs, /CRLs and /OCSPs, a /VRI entry per
	// signature naming its material. Off by default: EN 319 142-1 makes
	// /VRI optional and validators do not need it.
	VRI bool
	// Now is the clock (the /TU of VRI entries, the validation time of a
	// signature without time-stamp); default time.Now.
	Now func() time.Time
	// MaxSize is the largest input accepted, in bytes; default
	// DefaultMaxSize.
	MaxSize int64
}

// TimestampOptions configures [AddDocumentTimestamp].
type TimestampOptions struct {
	// Timestamper obtains the token. Required.
	Timestamper DigestTimestamper
	// Validator validates the time-stamping authority's path at the
	// token's genTime before the token is embedded. Required.
	Validator ChainValidator
	// Hash is the digest algorithm of the message imprint; default
	// SHA-256.
	Hash roamsign.HashAlgorithm
	// FieldName is the time-stamp's field name; default "DocTimeStamp<n>"
	// with the first unused n.
	FieldName string
	// ContentsSize is the number of bytes first reserved for the token;
	// default from the Timestamper's TokenSizeHint plus a margin, else
	// DefaultTokenReserve. A token that does not fit is requested again
	// with the room it needs.
	ContentsSize int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxSize is the largest input accepted, in bytes; default
	// DefaultMaxSize.
	MaxSize int64
}

// LTVReport says what [AddLTV] or [Extend] added.
type LTVReport struct {
	// Changed is false when nothing was written: the document already had
	// everything asked for.
	Changed bool
	// Added is the material added to the /DSS, Signatures the number of
	// signatures and document time-stamps whose material was gathered.
	Added      ValidationData
	Signatures int
	// Timestamp is the genTime of the document time-stamp added, zero when
	// none was.
	Timestamp time.Time
	// Reason says why the document was or was not extended.
	Reason string
}

func (o *LTVOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func maxOr(n int64) int64 {
	if n <= 0 {
		return DefaultMaxSize
	}
	return n
}
