package cms

import (
	"encoding/asn1"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers used in CMS structures (RFC 5652, RFC 5035, RFC 6211,
// RFC 3161, RFC 4055, RFC 5758).
var (
	oidData               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidAttrContentType    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSigningCertV2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidAttrAlgProtection  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 52}
	oidAttrTimeStampToken = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidRSAEncryption      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSASSAPSS          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidECDSAWithSHA256    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	tagCtx0               = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagCtx1               = cbasn1.Tag(1).Constructed().ContextSpecific()
	tagCtx2               = cbasn1.Tag(2).Constructed().ContextSpecific()
	tagCtx4               = cbasn1.Tag(4).Constructed().ContextSpecific()
)

// addAttribute appends Attribute ::= SEQUENCE { attrType, attrValues SET }
// with a single value written by val.
func addAttribute(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, val cryptobyte.BuilderContinuation) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, val)
	})
}

// addRaw returns a continuation that appends pre-encoded bytes.
func addRaw(p []byte) cryptobyte.BuilderContinuation {
	return func(b *cryptobyte.Builder) { b.AddBytes(p) }
}

// sortDER sorts the encoded elements of a SET OF as DER requires (X.690
// section 11.6).
func sortDER(elems [][]byte) {
	// Insertion sort: sets here hold a handful of elements.
	for i := 1; i < len(elems); i++ {
		for j := i; j > 0 && lessDER(elems[j], elems[j-1]); j-- {
			elems[j], elems[j-1] = elems[j-1], elems[j]
		}
	}
}

// lessDER orders encodings as X.690 11.6 does: as octet strings, the shorter
// one padded with trailing zero octets.
func lessDER(a, b []byte) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	// Equal prefix: the shorter is padded with zeros, so it is never greater.
	if len(a) < len(b) {
		for _, c := range b[n:] {
			if c != 0 {
				return true
			}
		}
	}
	return false
}

// readElement reads one DER element of any tag, returning its full
// encoding.
func readElement(s *cryptobyte.String) ([]byte, cbasn1.Tag, bool) {
	var full cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1Element(&full, &tag) {
		return nil, 0, false
	}
	return full, tag, true
}
