package cms

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ReadTime reads a UTCTime or GeneralizedTime in the DER profile of RFC 5280
// section 4.1.2.5 (seconds, "Z", no fractions).
func ReadTime(s *cryptobyte.String) (time.Time, bool) {
	var tag cbasn1.Tag
	var v cryptobyte.String
	if !s.ReadAnyASN1(&v, &tag) {
		return time.Time{}, false
	}
	switch tag {
	case cbasn1.UTCTime:
		if len(v) != 13 || v[12] != 'Z' {
			return time.Time{}, false
		}
		yy, ok := digits(v[0:2])
		if !ok {
			return time.Time{}, false
		}
		year := 1900 + yy
		if yy < 50 {
			year = 2000 + yy
		}
		return clock(year, v[2:12])
	case cbasn1.GeneralizedTime:
		if len(v) != 15 || v[14] != 'Z' {
			return time.Time{}, false
		}
		year, ok := digits(v[0:4])
		if !ok {
			return time.Time{}, false
		}
		return clock(year, v[4:14])
	}
	return time.Time{}, false
}

// ReadGeneralizedTime reads a GeneralizedTime only.
func ReadGeneralizedTime(s *cryptobyte.String) (time.Time, bool) {
	if !s.PeekASN1Tag(cbasn1.GeneralizedTime) {
		return time.Time{}, false
	}
	return ReadTime(s)
}

// ParseGenTime parses the content of a TSTInfo genTime,
// YYYYMMDDhhmmss[.f+]Z (RFC 3161 section 2.4.2).
func ParseGenTime(b []byte) (time.Time, bool) {
	if len(b) < 15 || b[len(b)-1] != 'Z' {
		return time.Time{}, false
	}
	year, ok := digits(b[0:4])
	if !ok {
		return time.Time{}, false
	}
	t, ok := clock(year, b[4:14])
	if !ok {
		return time.Time{}, false
	}
	frac := b[14 : len(b)-1]
	if len(frac) == 0 {
		return t, true
	}
	if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 || frac[len(frac)-1] == '0' {
		return time.Time{}, false
	}
	n, ok := digits(frac[1:])
	if !ok {
		return time.Time{}, false
	}
	for i := len(frac) - 1; i < 9; i++ {
		n *= 10
	}
	return t.Add(time.Duration(n)), true
}

// clock parses MMDDHHMMSS for the given year and validates the fields.
func clock(year int, b []byte) (time.Time, bool) {
	var f [5]int
	for i := range f {
		n, ok := digits(b[2*i : 2*i+2])
		if !ok {
			return time.Time{}, false
		}
		f[i] = n
	}
	mo, d, h, mi, sec := f[0], f[1], f[2], f[3], f[4]
	if mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // 31 February and friends
	}
	return t, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// ReadInteger reads an INTEGER and returns its minimal two's-complement
// content octets.
func ReadInteger(s *cryptobyte.String) ([]byte, bool) {
	var v cryptobyte.String
	if !s.ReadASN1(&v, cbasn1.INTEGER) || len(v) == 0 {
		return nil, false
	}
	if len(v) > 1 && ((v[0] == 0 && v[1]&0x80 == 0) || (v[0] == 0xff && v[1]&0x80 != 0)) {
		return nil, false
	}
	return v, true
}

// IntegerBytes returns the DER INTEGER content octets of n, the form in
// which serial numbers are compared.
func IntegerBytes(n *big.Int) []byte {
	if n == nil {
		return nil
	}
	switch n.Sign() {
	case 0:
		return []byte{0}
	case 1:
		b := n.Bytes()
		if b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// Two's complement of a negative number.
	m := new(big.Int).Neg(n)
	m.Sub(m, big.NewInt(1))
	b := m.Bytes()
	for i := range b {
		b[i] ^= 0xff
	}
	if len(b) == 0 || b[0]&0x80 == 0 {
		b = append([]byte{0xff}, b...)
	}
	return b
}

// AddAttribute appends Attribute ::= SEQUENCE { attrType, attrValues SET }
// with the values written by val.
func AddAttribute(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, val cryptobyte.BuilderContinuation) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, val)
	})
}

// AddSigningCertificateV2 appends the value of a signing-certificate-v2
// attribute (RFC 5035) that names cert by its SHA-256 hash and its issuer
// and serial number (serialDER, the DER INTEGER):
//
//	SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }
//	ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256 (omitted),
//	  certHash OCTET STRING, issuerSerial IssuerSerial }
//	IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }
func AddSigningCertificateV2(b *cryptobyte.Builder, cert *x509.Certificate, serialDER []byte) {
	certHash := sha256.Sum256(cert.Raw)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(certHash[:])
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(cert.RawIssuer) })
					})
					b.AddBytes(serialDER)
				})
			})
		})
	})
}

// SortSet sorts the encoded elements of a SET OF as DER requires (X.690
// section 11.6).
func SortSet(elems [][]byte) {
	// Insertion sort: sets here hold a handful of elements.
	for i := 1; i < len(elems); i++ {
		for j := i; j > 0 && LessDER(elems[j], elems[j-1]); j-- {
			elems[j], elems[j-1] = elems[j-1], elems[j]
		}
	}
}

// LessDER orders encodings as X.690 section 11.6 does: as octet strings,
// the shorter one padded with trailing zero octets.
func LessDER(a, b []byte) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	if len(a) < len(b) {
		for _, c := range b[n:] {
			if c != 0 {
				return true
			}
		}
	}
	return false
}

// SetOf returns the DER SET OF the given encoded elements, sorted.
func SetOf(elems [][]byte) []byte {
	SortSet(elems)
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, e := range elems {
			b.AddBytes(e)
		}
	})
	return b.BytesOrPanic()
}
