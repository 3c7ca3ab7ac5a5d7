package cms

import (
	"bytes"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxCMSSize is the largest CMS structure (and the largest timestamp token)
// that [SignatureValue] and [AddTimestampToken] accept.
const MaxCMSSize = 1 << 20

var (
	tagCtx0 = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagCtx1 = cbasn1.Tag(1).Constructed().ContextSpecific()
)

// parseSigned parses a ContentInfo of type SignedData (DER or BER) with
// exactly one SignerInfo.
func parseSigned(op string, der []byte) (*icms.SignedData, error) {
	sd, err := icms.ParseSignedData(op, der, MaxCMSSize)
	if err != nil {
		return nil, err
	}
	if len(sd.SignerInfos) != 1 {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "more than one SignerInfo")
	}
	return sd, nil
}

// SignatureValue returns the signature value of the single SignerInfo in a
// CMS ContentInfo: the bytes an RFC 3161 timestamp request imprints for a
// signature-time-stamp (CAdES-T / PAdES-B-T).
func SignatureValue(cmsDER []byte) ([]byte, error) {
	sd, err := parseSigned("cms.SignatureValue", cmsDER)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(sd.SignerInfos[0].Signature), nil
}

// AddTimestampToken returns cmsDER with token added to its single
// SignerInfo as the signature-time-stamp unsigned attribute
// (1.2.840.113549.1.9.16.2.14, RFC 3161 appendix A). The result is DER.
// The token must be a timestamp token (ContentInfo of SignedData with
// TSTInfo) whose message imprint is the digest of the signature value; a
// token for other data is refused with [roamsign.ErrInvalidInput]. The
// token's own signature is not checked here.
func AddTimestampToken(cmsDER, token []byte) ([]byte, error) {
	const op = "cms.AddTimestampToken"
	sd, err := parseSigned(op, cmsDER)
	if err != nil {
		return nil, err
	}
	si := &sd.SignerInfos[0]
	attr, err := timestampAttribute(op, si.Signature, token)
	if err != nil {
		return nil, err
	}
	unsigned := append(append([][]byte(nil), si.UnsignedRaw...), attr)
	icms.SortSet(unsigned)

	out := cryptobyte.NewBuilder(make([]byte, 0, len(cmsDER)+len(attr)+16))
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(icms.OIDSignedData)
		b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(sd.Head)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddBytes(si.Head)
						b.AddASN1OctetString(si.Signature)
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

// timestampAttribute returns the signature-time-stamp Attribute (RFC 3161
// appendix A) holding token, after checking that token is a time-stamp
// token (a SignedData of TSTInfo) whose message imprint is the digest of
// signature. The token is written in DER.
func timestampAttribute(op string, signature, token []byte) ([]byte, error) {
	if len(token) > MaxCMSSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "token of %d bytes exceeds the limit of %d", len(token), MaxCMSSize)
	}
	tok, tst, err := icms.ParseTimestampToken(op, token, MaxCMSSize)
	if tok == nil {
		return nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "timestamp token")
	}
	if !tok.EContentType.Equal(icms.OIDTSTInfo) || !tok.HasEContent {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "timestamp token: content is not TSTInfo")
	}
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "timestamp token")
	}
	hh := tst.Hash.New()
	hh.Write(signature)
	if !bytes.Equal(hh.Sum(nil), tst.Imprint) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "timestamp token does not cover this signature")
	}
	tokenDER := token
	if tok.BER {
		if tokenDER, err = icms.ToDER(token); err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "timestamp token")
		}
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 32+len(tokenDER)))
	icms.AddAttribute(b, icms.OIDAttrTimestampToken, func(b *cryptobyte.Builder) { b.AddBytes(tokenDER) })
	attr, err := b.Bytes()
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encode attribute")
	}
	return attr, nil
}
