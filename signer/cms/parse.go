package cms

import (
	"bytes"
	"encoding/asn1"

	"github.com/roamsign/roamsign"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxCMSSize is the largest CMS structure (and the largest timestamp token)
// that [SignatureValue] and [AddTimestampToken] accept.
const MaxCMSSize = 1 << 20

// signedData holds the parts of a DER ContentInfo with one SignedData and
// one SignerInfo, split so that the SignerInfo can be rebuilt.
type signedData struct {
	head []byte // SignedData elements before signerInfos, encoded
	// SignerInfo elements before unsignedAttrs, encoded
	siHead    []byte
	signature []byte
	unsigned  [][]byte // encoded Attributes of unsignedAttrs
}

// parseSignedData splits a DER ContentInfo of type SignedData with exactly
// one SignerInfo.
func parseSignedData(op string, der []byte) (*signedData, error) {
	if len(der) > MaxCMSSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "CMS of %d bytes exceeds the limit of %d", len(der), MaxCMSSize)
	}
	bad := func(what string) error {
		return roamsign.E(roamsign.ErrInvalidInput, op, "malformed CMS: %s", what)
	}
	s := cryptobyte.String(der)
	var ci, explicit, sd, infos, si cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&ci, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, bad("not a DER ContentInfo")
	}
	if !ci.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidSignedData) {
		return nil, bad("not SignedData")
	}
	if !ci.ReadASN1(&explicit, tagCtx0) || !ci.Empty() || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) || !explicit.Empty() {
		return nil, bad("SignedData content")
	}
	start, sdAll := len(sd), sd
	// version, digestAlgorithms, encapContentInfo, [0] certificates, [1] crls
	var version int64
	if !sd.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || !sd.SkipASN1(cbasn1.SET) || !sd.SkipASN1(cbasn1.SEQUENCE) ||
		!sd.SkipOptionalASN1(tagCtx0) || !sd.SkipOptionalASN1(tagCtx1) {
		return nil, bad("SignedData fields")
	}
	out := &signedData{}
	out.head = sdAll[:start-len(sd)]
	if !sd.ReadASN1(&infos, cbasn1.SET) || !sd.Empty() {
		return nil, bad("signerInfos")
	}
	if !infos.ReadASN1(&si, cbasn1.SEQUENCE) {
		return nil, bad("no SignerInfo")
	}
	if !infos.Empty() {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "more than one SignerInfo")
	}
	siStart := len(si)
	siAll := si
	// version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm
	var siVersion int64
	if !si.ReadASN1Int64WithTag(&siVersion, cbasn1.INTEGER) {
		return nil, bad("SignerInfo version")
	}
	if _, _, ok := readElement(&si); !ok { // sid: SEQUENCE or [0]
		return nil, bad("SignerInfo sid")
	}
	if !si.SkipASN1(cbasn1.SEQUENCE) || !si.SkipOptionalASN1(tagCtx0) || !si.SkipASN1(cbasn1.SEQUENCE) {
		return nil, bad("SignerInfo algorithms")
	}
	out.siHead = siAll[:siStart-len(si)]
	var sig []byte
	if !si.ReadASN1Bytes(&sig, cbasn1.OCTET_STRING) || len(sig) == 0 {
		return nil, bad("signature value")
	}
	out.signature = sig
	if si.PeekASN1Tag(tagCtx1) {
		var attrs cryptobyte.String
		if !si.ReadASN1(&attrs, tagCtx1) {
			return nil, bad("unsignedAttrs")
		}
		for !attrs.Empty() {
			var a cryptobyte.String
			if !attrs.ReadASN1Element(&a, cbasn1.SEQUENCE) {
				return nil, bad("unsigned attribute")
			}
			out.unsigned = append(out.unsigned, a)
		}
	}
	if !si.Empty() {
		return nil, bad("trailing data in SignerInfo")
	}
	return out, nil
}

// SignatureValue returns the signature value of the single SignerInfo in a
// DER CMS ContentInfo: the bytes an RFC 3161 timestamp request imprints for
// a signature-time-stamp (CAdES-T / PAdES-B-T).
func SignatureValue(cmsDER []byte) ([]byte, error) {
	sd, err := parseSignedData("cms.SignatureValue", cmsDER)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(sd.signature), nil
}

// AddTimestampToken returns cmsDER with token added to its single
// SignerInfo as the signature-time-stamp unsigned attribute
// (1.2.840.113549.1.9.16.2.14, RFC 3161 appendix A). The token must be a
// DER timestamp token (ContentInfo of SignedData with TSTInfo) whose
// message imprint is the digest of the signature value; a token for other
// data is refused with [roamsign.ErrInvalidInput]. The token's own signature
// is not checked here.
func AddTimestampToken(cmsDER, token []byte) ([]byte, error) {
	const op = "cms.AddTimestampToken"
	if len(token) > MaxCMSSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "token of %d bytes exceeds the limit of %d", len(token), MaxCMSSize)
	}
	sd, err := parseSignedData(op, cmsDER)
	if err != nil {
		return nil, err
	}
	alg, imprint, err := tokenImprint(token)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "timestamp token")
	}
	if !bytes.Equal(alg.Sum(sd.signature), imprint) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "timestamp token does not cover this signature")
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 32+len(token)))
	addAttribute(b, oidAttrTimeStampToken, addRaw(token))
	attr, err := b.Bytes()
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encode attribute")
	}
	unsigned := append(append([][]byte(nil), sd.unsigned...), attr)
	sortDER(unsigned)

	out := cryptobyte.NewBuilder(make([]byte, 0, len(cmsDER)+len(attr)+16))
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(sd.head)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddBytes(sd.siHead)
						b.AddASN1OctetString(sd.signature)
						b.AddASN1(tagCtx1, func(b *cryptobyte.Builder) {
							for _, a := range unsigned {
								b.AddBytes(a)
							}
						})
					})
				})
			})
		})
	})
	res, err := out.Bytes()
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encode SignedData")
	}
	return res, nil
}

// tokenImprint parses a DER timestamp token far enough to return the
// message imprint of its TSTInfo.
func tokenImprint(token []byte) (roamsign.HashAlgorithm, []byte, error) {
	bad := func(what string) error {
		return roamsign.E(roamsign.ErrInvalidInput, "", "malformed token: %s", what)
	}
	s := cryptobyte.String(token)
	var ci, explicit, sd, encap, eContent, tst, imprint, alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	var version int64
	var octets []byte
	if !s.ReadASN1(&ci, cbasn1.SEQUENCE) || !s.Empty() || !ci.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidSignedData) {
		return 0, nil, bad("not a DER SignedData ContentInfo")
	}
	if !ci.ReadASN1(&explicit, tagCtx0) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return 0, nil, bad("SignedData")
	}
	if !sd.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || !sd.SkipASN1(cbasn1.SET) || !sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return 0, nil, bad("SignedData fields")
	}
	if !encap.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidTSTInfo) {
		return 0, nil, bad("content is not TSTInfo")
	}
	if !encap.ReadASN1(&eContent, tagCtx0) || !eContent.ReadASN1Bytes(&octets, cbasn1.OCTET_STRING) {
		return 0, nil, bad("TSTInfo content")
	}
	t := cryptobyte.String(octets)
	// TSTInfo ::= SEQUENCE { version, policy, messageImprint, ... }
	if !t.ReadASN1(&tst, cbasn1.SEQUENCE) || !tst.SkipASN1(cbasn1.INTEGER) || !tst.SkipASN1(cbasn1.OBJECT_IDENTIFIER) ||
		!tst.ReadASN1(&imprint, cbasn1.SEQUENCE) {
		return 0, nil, bad("TSTInfo")
	}
	var digest []byte
	if !imprint.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) ||
		!imprint.ReadASN1Bytes(&digest, cbasn1.OCTET_STRING) {
		return 0, nil, bad("message imprint")
	}
	h, err := roamsign.HashAlgorithmFromOID(oid)
	if err != nil {
		return 0, nil, err
	}
	if len(digest) != h.Size() {
		return 0, nil, bad("message imprint length")
	}
	return h, digest, nil
}
