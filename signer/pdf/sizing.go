package pdf

import (
	"crypto/x509"
	"fmt"

	"github.com/roamsign/roamsign"
)

// Sizes of the /Contents reserved for a signature.
const (
	// cmsOverhead is the CMS around the certificates: signed attributes
	// (with the ESS signing-certificate-v2), algorithm identifiers and a
	// signature value of up to 4096-bit RSA, with room to spare.
	cmsOverhead = 2560
	// defaultTimestampReserve is added for a signature time-stamp when the
	// Timestamper gives no size hint.
	defaultTimestampReserve = 12288
)

// contentsReserve returns the bytes to reserve for a CMS signature by
// chain, plus its signature time-stamp token when ts is set: the size the
// time-stamper reports (a [TokenSizer], such as package tsa's Client,
// knows the tokens it obtained) plus a quarter and a margin, else a fixed
// allowance.
func contentsReserve(chain []*x509.Certificate, ts Timestamper) int {
	n := cmsOverhead
	for _, c := range chain {
		n += len(c.Raw)
	}
	if ts == nil {
		return n
	}
	if s, ok := ts.(TokenSizer); ok {
		if h := s.TokenSizeHint(); h > 0 {
			return n + h + h/4 + tokenMargin
		}
	}
	return n + defaultTimestampReserve
}

// ContentsTooSmallError is returned by [Prepared.Complete] and
// [Prepared.CompleteCMS] when the signature container (with its
// time-stamp) does not fit the /Contents that [Prepare] reserved. Nothing
// was written. The signature value covers the reserved size, so the
// document must be prepared again with Options.ContentsSize at least Need
// and signed again; [Sign] does so by itself. It matches
// roamsign.ErrTooLarge.
type ContentsTooSmallError struct {
	// Need is the size of the container; Reserved the room there was.
	Need, Reserved int
}

func (e *ContentsTooSmallError) Error() string {
	return fmt.Sprintf("pdf.Complete: signature container of %d bytes does not fit the %d bytes reserved (prepare again with Options.ContentsSize ≥ %d)", e.Need, e.Reserved, e.Need)
}

// Is matches roamsign.ErrTooLarge.
func (e *ContentsTooSmallError) Is(target error) bool { return target == roamsign.ErrTooLarge }

// estimateContents is contentsReserve with no size hint: the fixed
// allowance for a time-stamp when timestamp is set.
func estimateContents(chain []*x509.Certificate, timestamp bool) int {
	n := contentsReserve(chain, nil)
	if timestamp {
		n += defaultTimestampReserve
	}
	return n
}
