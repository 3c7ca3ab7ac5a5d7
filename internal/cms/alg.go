package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"

	"github.com/roamsign/roamsign"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers of CMS structures and algorithms (RFC 5652, RFC 5035,
// RFC 6211, RFC 3161, RFC 4055, RFC 5758, RFC 5940) and Adobe's revocation
// information archival attribute.
var (
	OIDData                = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDTSTInfo             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	OIDAttrContentType     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigest   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	OIDAttrSigningCert     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	OIDAttrSigningCertV2   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	OIDAttrAlgProtection   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 52}
	OIDAttrTimestampToken  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	OIDAttrAdobeRevocation = asn1.ObjectIdentifier{1, 2, 840, 113583, 1, 1, 8}
	OIDRevInfoOCSP         = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 16, 2}
	OIDRSAEncryption       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	OIDSHA256WithRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	OIDSHA384WithRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	OIDSHA512WithRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	OIDRSAPSS              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	OIDMGF1                = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	OIDECDSAWithSHA256     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDECDSAWithSHA384     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	OIDECDSAWithSHA512     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	OIDEd25519             = asn1.ObjectIdentifier{1, 3, 101, 112}
	OIDSHA1                = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	OIDSHA256              = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384              = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDSHA512              = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// RawOID is the DER content of an OBJECT IDENTIFIER. Comparing raw bytes
// avoids decoding every identifier on the verification path.
type RawOID []byte

// MustRawOID returns the content octets of o's DER encoding.
func MustRawOID(o asn1.ObjectIdentifier) RawOID {
	b, err := asn1.Marshal(o)
	if err != nil || len(b) < 3 || b[1] >= 0x80 {
		panic("cms: bad OID " + o.String())
	}
	return RawOID(b[2:])
}

// Equal reports whether r encodes the same identifier as o.
func (r RawOID) Equal(o RawOID) bool { return bytes.Equal(r, o) }

// String decodes r for messages.
func (r RawOID) String() string {
	if len(r) > 127 {
		return "(long OID)"
	}
	var o asn1.ObjectIdentifier
	s := cryptobyte.String(append([]byte{0x06, byte(len(r))}, r...))
	if !s.ReadASN1ObjectIdentifier(&o) {
		return "(malformed OID)"
	}
	return o.String()
}

// ReadRawOID reads an OBJECT IDENTIFIER without decoding it.
func ReadRawOID(s *cryptobyte.String, out *RawOID) bool {
	var v cryptobyte.String
	if !s.ReadASN1(&v, cbasn1.OBJECT_IDENTIFIER) || len(v) == 0 || v[len(v)-1]&0x80 != 0 || v[0] == 0x80 {
		return false
	}
	*out = RawOID(v)
	return true
}

// DER contents of the identifiers compared on the verification path.
var (
	RawData                = MustRawOID(OIDData)
	RawTSTInfo             = MustRawOID(OIDTSTInfo)
	RawAttrContentType     = MustRawOID(OIDAttrContentType)
	RawAttrMessageDigest   = MustRawOID(OIDAttrMessageDigest)
	RawAttrSigningTime     = MustRawOID(OIDAttrSigningTime)
	RawAttrSigningCert     = MustRawOID(OIDAttrSigningCert)
	RawAttrSigningCertV2   = MustRawOID(OIDAttrSigningCertV2)
	RawAttrAlgProtection   = MustRawOID(OIDAttrAlgProtection)
	RawAttrTimestampToken  = MustRawOID(OIDAttrTimestampToken)
	RawAttrAdobeRevocation = MustRawOID(OIDAttrAdobeRevocation)
	rawRevInfoOCSP         = MustRawOID(OIDRevInfoOCSP)
	RawRSAEncryption       = MustRawOID(OIDRSAEncryption)
	rawSHA256WithRSA       = MustRawOID(OIDSHA256WithRSA)
	rawSHA384WithRSA       = MustRawOID(OIDSHA384WithRSA)
	rawSHA512WithRSA       = MustRawOID(OIDSHA512WithRSA)
	rawRSAPSS              = MustRawOID(OIDRSAPSS)
	rawMGF1                = MustRawOID(OIDMGF1)
	rawECDSAWithSHA256     = MustRawOID(OIDECDSAWithSHA256)
	rawECDSAWithSHA384     = MustRawOID(OIDECDSAWithSHA384)
	rawECDSAWithSHA512     = MustRawOID(OIDECDSAWithSHA512)
	rawEd25519             = MustRawOID(OIDEd25519)
	rawSHA256              = MustRawOID(OIDSHA256)
	rawSHA384              = MustRawOID(OIDSHA384)
	rawSHA512              = MustRawOID(OIDSHA512)
)

// AlgorithmIdentifier is a parsed AlgorithmIdentifier.
type AlgorithmIdentifier struct {
	OID RawOID
	// Params is the raw parameters element (tag included), empty if absent.
	Params cryptobyte.String
	// Raw is the whole DER element.
	Raw []byte
}

// ParseAlgorithm reads an AlgorithmIdentifier.
func ParseAlgorithm(s *cryptobyte.String) (AlgorithmIdentifier, bool) {
	var a AlgorithmIdentifier
	var full cryptobyte.String
	if !s.ReadASN1Element(&full, cbasn1.SEQUENCE) {
		return a, false
	}
	a.Raw = full
	var body cryptobyte.String
	if !full.ReadASN1(&body, cbasn1.SEQUENCE) || !ReadRawOID(&body, &a.OID) {
		return a, false
	}
	if !body.Empty() {
		var tag cbasn1.Tag
		if !body.ReadAnyASN1Element(&a.Params, &tag) || !body.Empty() {
			return a, false
		}
	}
	return a, true
}

// NullOrAbsent reports whether the parameters are absent or NULL.
func (a AlgorithmIdentifier) NullOrAbsent() bool {
	return len(a.Params) == 0 || (len(a.Params) == 2 && a.Params[0] == 0x05 && a.Params[1] == 0)
}

// SameAlgorithm compares two identifiers, absent and NULL parameters alike.
func SameAlgorithm(a, b AlgorithmIdentifier) bool {
	if !bytes.Equal(a.OID, b.OID) {
		return false
	}
	if a.NullOrAbsent() && b.NullOrAbsent() {
		return true
	}
	return bytes.Equal(a.Params, b.Params)
}

// DigestAlgorithm maps a digest AlgorithmIdentifier to a hash; SHA-1 and
// anything else are refused.
func DigestAlgorithm(a AlgorithmIdentifier) (crypto.Hash, bool) {
	if !a.NullOrAbsent() {
		return 0, false
	}
	switch {
	case bytes.Equal(a.OID, rawSHA256):
		return crypto.SHA256, true
	case bytes.Equal(a.OID, rawSHA384):
		return crypto.SHA384, true
	case bytes.Equal(a.OID, rawSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}

// SignatureAlgorithm maps a signature AlgorithmIdentifier to an x509
// algorithm. SHA-1 based and unknown algorithms are refused. RSASSA-PSS is
// accepted only with MGF1 over the same hash and a salt as long as the hash,
// which is what [x509.Certificate.CheckSignature] verifies.
func SignatureAlgorithm(a AlgorithmIdentifier) (x509.SignatureAlgorithm, bool) {
	switch {
	case bytes.Equal(a.OID, rawSHA256WithRSA) && a.NullOrAbsent():
		return x509.SHA256WithRSA, true
	case bytes.Equal(a.OID, rawSHA384WithRSA) && a.NullOrAbsent():
		return x509.SHA384WithRSA, true
	case bytes.Equal(a.OID, rawSHA512WithRSA) && a.NullOrAbsent():
		return x509.SHA512WithRSA, true
	case bytes.Equal(a.OID, rawECDSAWithSHA256) && len(a.Params) == 0:
		return x509.ECDSAWithSHA256, true
	case bytes.Equal(a.OID, rawECDSAWithSHA384) && len(a.Params) == 0:
		return x509.ECDSAWithSHA384, true
	case bytes.Equal(a.OID, rawECDSAWithSHA512) && len(a.Params) == 0:
		return x509.ECDSAWithSHA512, true
	case bytes.Equal(a.OID, rawEd25519) && len(a.Params) == 0:
		return x509.PureEd25519, true
	case bytes.Equal(a.OID, rawRSAPSS):
		switch h, _ := pssParams(a.Params); h {
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
	var seq, hashSeq, mgfSeq, saltSeq, trailer cryptobyte.String
	var hasHash, hasMGF, hasSalt, hasTrailer bool
	if !p.ReadASN1(&seq, cbasn1.SEQUENCE) || !p.Empty() ||
		!seq.ReadOptionalASN1(&hashSeq, &hasHash, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!seq.ReadOptionalASN1(&mgfSeq, &hasMGF, cbasn1.Tag(1).Constructed().ContextSpecific()) ||
		!seq.ReadOptionalASN1(&saltSeq, &hasSalt, cbasn1.Tag(2).Constructed().ContextSpecific()) ||
		!seq.ReadOptionalASN1(&trailer, &hasTrailer, cbasn1.Tag(3).Constructed().ContextSpecific()) || !seq.Empty() {
		return 0, false
	}
	if !hasHash || !hasMGF || !hasSalt {
		return 0, false // the SHA-1 defaults are refused
	}
	ha, ok := ParseAlgorithm(&hashSeq)
	if !ok || !hashSeq.Empty() {
		return 0, false
	}
	h, ok := DigestAlgorithm(ha)
	if !ok {
		return 0, false
	}
	ma, ok := ParseAlgorithm(&mgfSeq)
	if !ok || !mgfSeq.Empty() || !bytes.Equal(ma.OID, rawMGF1) {
		return 0, false
	}
	mp := ma.Params
	mh, ok := ParseAlgorithm(&mp)
	if !ok || !mp.Empty() {
		return 0, false
	}
	if h2, ok := DigestAlgorithm(mh); !ok || h2 != h {
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

// Pre-encoded AlgorithmIdentifiers written by SignerAlgorithm and
// DigestAlgorithmID. They are shared and must not be modified.
var (
	derDigestAlgorithms [roamsign.SHA512 + 1][]byte // absent parameters
	derRSAEncryption    []byte
	derRSAPSS           [roamsign.SHA512 + 1][]byte
	derECDSA            [roamsign.SHA512 + 1][]byte
)

func init() {
	ecdsaOIDs := [...]asn1.ObjectIdentifier{roamsign.SHA256: OIDECDSAWithSHA256, roamsign.SHA384: OIDECDSAWithSHA384, roamsign.SHA512: OIDECDSAWithSHA512}
	algID := func(oid asn1.ObjectIdentifier, params cryptobyte.BuilderContinuation) []byte {
		b := cryptobyte.NewBuilder(nil)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			if params != nil {
				params(b)
			}
		})
		return b.BytesOrPanic()
	}
	null := func(b *cryptobyte.Builder) { b.AddASN1NULL() }
	for h := roamsign.SHA256; h <= roamsign.SHA512; h++ {
		derDigestAlgorithms[h] = algID(h.OID(), nil)
		derECDSA[h] = algID(ecdsaOIDs[h], nil)
		// hashAlgorithm with NULL parameters, as RFC 4055 implementations
		// commonly write it inside RSASSA-PSS-params.
		hashNull := algID(h.OID(), null)
		derRSAPSS[h] = algID(OIDRSAPSS, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(hashNull) })
				b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					b.AddBytes(algID(OIDMGF1, func(b *cryptobyte.Builder) { b.AddBytes(hashNull) }))
				})
				b.AddASN1(cbasn1.Tag(2).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddASN1Int64(int64(h.Size())) })
			})
		})
	}
	derRSAEncryption = algID(OIDRSAEncryption, null)
}

// DigestAlgorithmID returns the DER AlgorithmIdentifier of h (parameters
// absent). The result is shared and must not be modified.
func DigestAlgorithmID(h roamsign.HashAlgorithm) []byte { return derDigestAlgorithms[h] }

// SignerAlgorithm returns the signatureAlgorithm of a SignerInfo for a
// key: rsaEncryption (RFC 3370), RSASSA-PSS with explicit parameters (RFC
// 4056) or ecdsa-with-SHAxxx (RFC 5753). The result is shared and must not
// be modified.
func SignerAlgorithm(pub crypto.PublicKey, h roamsign.HashAlgorithm, pss bool) ([]byte, error) {
	if h < roamsign.SHA256 || h > roamsign.SHA512 {
		return nil, roamsign.E(roamsign.ErrUnsupported, "", "hash %v is not supported", h)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < 2048 {
			return nil, roamsign.E(roamsign.ErrUnsupported, "", "RSA keys below 2048 bits are not supported")
		}
		if pss {
			return derRSAPSS[h], nil
		}
		return derRSAEncryption, nil
	case *ecdsa.PublicKey:
		if pss {
			return nil, roamsign.E(roamsign.ErrInvalidInput, "", "PSS requires an RSA key")
		}
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return nil, roamsign.E(roamsign.ErrUnsupported, "", "unsupported elliptic curve")
		}
		return derECDSA[h], nil
	}
	return nil, roamsign.E(roamsign.ErrUnsupported, "", "unsupported public key type %T", pub)
}
