package verify

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var errMalformed = errors.New("malformed DER")

// Object identifiers used across the package.
var (
	oidRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidRSAPSS          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidEd25519         = asn1.ObjectIdentifier{1, 3, 101, 112}

	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// rawOID is the DER content of an OBJECT IDENTIFIER. Comparing raw bytes
// avoids decoding every identifier on the verification path.
type rawOID []byte

// Equal reports whether r encodes o.
func (r rawOID) Equal(o asn1.ObjectIdentifier) bool {
	if len(o) < 2 {
		return false
	}
	var buf [64]byte
	b := appendBase128(buf[:0], o[0]*40+o[1])
	for _, v := range o[2:] {
		b = appendBase128(b, v)
	}
	return bytes.Equal(r, b)
}

func appendBase128(b []byte, v int) []byte {
	if v < 0 {
		return append(b, 0xff) // never matches a valid encoding
	}
	var tmp [10]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			break
		}
	}
	for j := i; j < len(tmp)-1; j++ {
		tmp[j] |= 0x80
	}
	return append(b, tmp[i:]...)
}

// String decodes r for messages.
func (r rawOID) String() string {
	var o asn1.ObjectIdentifier
	if len(r) > 127 {
		return "(long OID)"
	}
	s := cryptobyte.String(append([]byte{0x06, byte(len(r))}, r...))
	if !s.ReadASN1ObjectIdentifier(&o) {
		return "(malformed OID)"
	}
	return o.String()
}

// readRawOID reads an OBJECT IDENTIFIER without decoding it.
func readRawOID(s *cryptobyte.String, out *rawOID) bool {
	var v cryptobyte.String
	if !s.ReadASN1(&v, cbasn1.OBJECT_IDENTIFIER) || len(v) == 0 || v[len(v)-1]&0x80 != 0 || v[0] == 0x80 {
		return false
	}
	*out = rawOID(v)
	return true
}

// algorithmIdentifier is a parsed AlgorithmIdentifier.
type algorithmIdentifier struct {
	oid    rawOID
	params cryptobyte.String // raw parameters element (tag included), empty if absent
	raw    []byte            // the whole DER element
}

func readAlgorithm(s *cryptobyte.String) (algorithmIdentifier, bool) {
	var a algorithmIdentifier
	var full cryptobyte.String
	if !s.ReadASN1Element(&full, cbasn1.SEQUENCE) {
		return a, false
	}
	a.raw = full
	var body cryptobyte.String
	if !full.ReadASN1(&body, cbasn1.SEQUENCE) || !readRawOID(&body, &a.oid) {
		return a, false
	}
	if !body.Empty() {
		var tag cbasn1.Tag
		if !body.ReadAnyASN1Element(&a.params, &tag) || !body.Empty() {
			return a, false
		}
	}
	return a, true
}

// nullOrAbsent reports whether the parameters are absent or NULL.
func (a algorithmIdentifier) nullOrAbsent() bool {
	return len(a.params) == 0 || (len(a.params) == 2 && a.params[0] == 0x05 && a.params[1] == 0)
}

// digestAlgorithm maps a digest AlgorithmIdentifier to a hash; SHA-1 and
// anything else are refused.
func digestAlgorithm(a algorithmIdentifier) (crypto.Hash, bool) {
	if !a.nullOrAbsent() {
		return 0, false
	}
	switch {
	case bytes.Equal(a.oid, rawOidSHA256):
		return crypto.SHA256, true
	case bytes.Equal(a.oid, rawOidSHA384):
		return crypto.SHA384, true
	case bytes.Equal(a.oid, rawOidSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}

// signatureAlgorithm maps a signature AlgorithmIdentifier to an x509
// algorithm. SHA-1 based and unknown algorithms are refused. RSASSA-PSS is
// accepted only with MGF1 over the same hash and a salt as long as the hash,
// which is what [x509.Certificate.CheckSignature] verifies.
func signatureAlgorithm(a algorithmIdentifier) (x509.SignatureAlgorithm, bool) {
	switch {
	case bytes.Equal(a.oid, rawOidSHA256WithRSA) && a.nullOrAbsent():
		return x509.SHA256WithRSA, true
	case bytes.Equal(a.oid, rawOidSHA384WithRSA) && a.nullOrAbsent():
		return x509.SHA384WithRSA, true
	case bytes.Equal(a.oid, rawOidSHA512WithRSA) && a.nullOrAbsent():
		return x509.SHA512WithRSA, true
	case bytes.Equal(a.oid, rawOidECDSAWithSHA256) && len(a.params) == 0:
		return x509.ECDSAWithSHA256, true
	case bytes.Equal(a.oid, rawOidECDSAWithSHA384) && len(a.params) == 0:
		return x509.ECDSAWithSHA384, true
	case bytes.Equal(a.oid, rawOidECDSAWithSHA512) && len(a.params) == 0:
		return x509.ECDSAWithSHA512, true
	case bytes.Equal(a.oid, rawOidEd25519) && len(a.params) == 0:
		return x509.PureEd25519, true
	case bytes.Equal(a.oid, rawOidRSAPSS):
		h, ok := pssParams(a.params)
		if !ok {
			return 0, false
		}
		switch h {
		case crypto.SHA256:
			return x509.SHA256WithRSAPSS, true
		case crypto.SHA384:
			return x509.SHA384WithRSAPSS, true
		case crypto.SHA512:
			return x509.SHA512WithRSAPSS, true
		}
	}
	return 0, false
}

// pssParams parses RSASSA-PSS-params and returns the hash when the
// parameters are the "salt length equals hash length, MGF1 with the same
// hash, trailer 1" profile.
func pssParams(p cryptobyte.String) (crypto.Hash, bool) {
	var seq cryptobyte.String
	if !p.ReadASN1(&seq, cbasn1.SEQUENCE) || !p.Empty() {
		return 0, false
	}
	var hashSeq, mgfSeq cryptobyte.String
	var hasHash, hasMGF, hasSalt bool
	if !seq.ReadOptionalASN1(&hashSeq, &hasHash, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!seq.ReadOptionalASN1(&mgfSeq, &hasMGF, cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return 0, false
	}
	var saltSeq cryptobyte.String
	if !seq.ReadOptionalASN1(&saltSeq, &hasSalt, cbasn1.Tag(2).Constructed().ContextSpecific()) {
		return 0, false
	}
	var trailer cryptobyte.String
	var hasTrailer bool
	if !seq.ReadOptionalASN1(&trailer, &hasTrailer, cbasn1.Tag(3).Constructed().ContextSpecific()) || !seq.Empty() {
		return 0, false
	}
	if !hasHash || !hasMGF || !hasSalt {
		return 0, false // the SHA-1 defaults are refused
	}
	ha, ok := readAlgorithm(&hashSeq)
	if !ok || !hashSeq.Empty() {
		return 0, false
	}
	h, ok := digestAlgorithm(ha)
	if !ok {
		return 0, false
	}
	ma, ok := readAlgorithm(&mgfSeq)
	if !ok || !mgfSeq.Empty() || !bytes.Equal(ma.oid, rawOidMGF1) {
		return 0, false
	}
	mp := ma.params
	mh, ok := readAlgorithm(&mp)
	if !ok || !mp.Empty() {
		return 0, false
	}
	if h2, ok := digestAlgorithm(mh); !ok || h2 != h {
		return 0, false
	}
	var salt int64
	if !saltSeq.ReadASN1Int64WithTag(&salt, cbasn1.INTEGER) || !saltSeq.Empty() || salt != int64(h.Size()) {
		return 0, false
	}
	if hasTrailer {
		var tf int64
		if !trailer.ReadASN1Int64WithTag(&tf, cbasn1.INTEGER) || tf != 1 {
			return 0, false
		}
	}
	return h, true
}

// readTime reads a UTCTime or GeneralizedTime in the DER profile of RFC 5280
// (seconds, "Z", no fractions).
func readTime(s *cryptobyte.String) (time.Time, bool) {
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

// readGeneralizedTime reads a GeneralizedTime only.
func readGeneralizedTime(s *cryptobyte.String) (time.Time, bool) {
	if !s.PeekASN1Tag(cbasn1.GeneralizedTime) {
		return time.Time{}, false
	}
	return readTime(s)
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

// readIntegerBytes reads an INTEGER and returns its minimal two's-complement
// content bytes.
func readIntegerBytes(s *cryptobyte.String) ([]byte, bool) {
	var v cryptobyte.String
	if !s.ReadASN1(&v, cbasn1.INTEGER) || len(v) == 0 {
		return nil, false
	}
	if len(v) > 1 && ((v[0] == 0 && v[1]&0x80 == 0) || (v[0] == 0xff && v[1]&0x80 != 0)) {
		return nil, false
	}
	return v, true
}

// serialKey returns the DER INTEGER content bytes of n, the form used as a
// revocation map key.
func serialKey(n *big.Int) []byte {
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
	nMinus1 := new(big.Int).Neg(n)
	nMinus1.Sub(nMinus1, big.NewInt(1))
	b := nMinus1.Bytes()
	for i := range b {
		b[i] ^= 0xff
	}
	if len(b) == 0 || b[0]&0x80 == 0 {
		b = append([]byte{0xff}, b...)
	}
	return b
}

// DER contents of the identifiers compared on the verification path.
var (
	rawOidAttrAlgProtection  = mustRawOID(oidAttrAlgProtection)
	rawOidAttrContentType    = mustRawOID(oidAttrContentType)
	rawOidAttrMessageDigest  = mustRawOID(oidAttrMessageDigest)
	rawOidAttrSigningCert    = mustRawOID(oidAttrSigningCert)
	rawOidAttrSigningCertV2  = mustRawOID(oidAttrSigningCertV2)
	rawOidAttrSigningTime    = mustRawOID(oidAttrSigningTime)
	rawOidAttrTimestampToken = mustRawOID(oidAttrTimestampToken)
	rawOidECDSAWithSHA256    = mustRawOID(oidECDSAWithSHA256)
	rawOidECDSAWithSHA384    = mustRawOID(oidECDSAWithSHA384)
	rawOidECDSAWithSHA512    = mustRawOID(oidECDSAWithSHA512)
	rawOidEd25519            = mustRawOID(oidEd25519)
	rawOidMGF1               = mustRawOID(oidMGF1)
	rawOidRSAEncryption      = mustRawOID(oidRSAEncryption)
	rawOidRSAPSS             = mustRawOID(oidRSAPSS)
	rawOidSHA256             = mustRawOID(oidSHA256)
	rawOidSHA256WithRSA      = mustRawOID(oidSHA256WithRSA)
	rawOidSHA384             = mustRawOID(oidSHA384)
	rawOidSHA384WithRSA      = mustRawOID(oidSHA384WithRSA)
	rawOidSHA512             = mustRawOID(oidSHA512)
	rawOidSHA512WithRSA      = mustRawOID(oidSHA512WithRSA)
)

func mustRawOID(o asn1.ObjectIdentifier) rawOID {
	b, err := asn1.Marshal(o)
	if err != nil || len(b) < 3 || b[1] >= 0x80 {
		panic("verify: bad OID " + o.String())
	}
	return rawOID(b[2:])
}
