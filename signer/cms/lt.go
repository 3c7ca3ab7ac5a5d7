package cms

import (
	"bytes"
	"context"
	"crypto/x509"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Timestamper obtains an RFC 3161 time-stamp token over data and returns
// the DER TimeStampToken (a ContentInfo). Package tsa's Client is one: it
// verifies every token (status, imprint, nonce, signature, the TSA's
// certificate and path) before it returns it.
type Timestamper interface {
	Timestamp(ctx context.Context, data []byte) ([]byte, error)
}

// AddSignatureTimestamp makes a CAdES-B-B signature CAdES-B-T (ETSI EN
// 319 122-1): it asks ts for a time-stamp token over the signature value
// of cmsDER's single SignerInfo and adds it as the signature-time-stamp
// unsigned attribute with [AddTimestampToken], which refuses a token over
// other data. ts's errors are returned as they are (a tsa.Client's say
// which authority failed and why).
func AddSignatureTimestamp(ctx context.Context, cmsDER []byte, ts Timestamper) ([]byte, error) {
	const op = "cms.AddSignatureTimestamp"
	if ts == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no Timestamper")
	}
	sv, err := SignatureValue(cmsDER)
	if err != nil {
		return nil, err
	}
	token, err := ts.Timestamp(ctx, sv)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "time-stamp")
	}
	return AddTimestampToken(cmsDER, token)
}

// AddCertificates returns cmsDER with certs (DER X.509 certificates) added
// to the certificates field of its SignedData, after those already there
// (which are kept, whatever their format); a certificate already present
// is not added twice. The field is not signed, so the signature stays
// valid.
//
// With [AddRevocationInfo] it gives the CAdES-B-LT form of ETSI EN 319
// 122-1: the certificates and the revocation values (CRLs, OCSP
// responses) needed to validate the signer's chain and the signature
// time-stamp's TSA chain go into SignedData.certificates and
// SignedData.crls, not into the certificate-values and revocation-values
// attributes of the extended CAdES forms. Package verify returns exactly
// that material in Result.Validation.
func AddCertificates(cmsDER []byte, certs [][]byte) ([]byte, error) {
	const op = "cms.AddCertificates"
	sd, err := icms.ParseSignedData(op, cmsDER, MaxCMSSize)
	if err != nil {
		return nil, err
	}
	var set [][]byte
	if sd.RawCertificates != nil {
		s := cryptobyte.String(sd.RawCertificates)
		var body cryptobyte.String
		s.ReadASN1(&body, tagCtx0)
		for !body.Empty() {
			var el cryptobyte.String
			var tag cbasn1.Tag
			body.ReadAnyASN1Element(&el, &tag) // checked by ParseSignedData
			set = append(set, el)
		}
	}
	for _, c := range certs {
		if _, err := x509.ParseCertificate(c); err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "a certificate does not parse")
		}
		if !containsBytes(set, c) {
			set = append(set, c)
		}
	}
	if len(set) > icms.MaxCertificates {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "more than %d certificates", icms.MaxCertificates)
	}
	field := cryptobyte.NewBuilder(nil)
	field.AddASN1(tagCtx0, func(b *cryptobyte.Builder) {
		for _, c := range set {
			b.AddBytes(c)
		}
	})
	raw, err := field.Bytes()
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encode certificates")
	}
	return encodeSignedData(op, sd, int64(sd.Version), raw, sd.RawRevocationInfo)
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// encodeSignedData writes sd again as a ContentInfo with the given
// version, certificates field (the whole [0] element, nil for none) and
// RevocationInfoChoices, keeping every other field as it was. The result
// may be at most MaxCMSSize bytes.
func encodeSignedData(op string, sd *icms.SignedData, version int64, certs []byte, crls [][]byte) ([]byte, error) {
	size := len(sd.RawDigestAlgorithms) + len(sd.RawEncapContentInfo) + len(certs) + len(sd.RawSignerInfos) + 64
	for _, c := range crls {
		size += len(c)
	}
	out := cryptobyte.NewBuilder(make([]byte, 0, size))
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(icms.OIDSignedData)
		b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(version)
				b.AddBytes(sd.RawDigestAlgorithms)
				b.AddBytes(sd.RawEncapContentInfo)
				b.AddBytes(certs)
				if len(crls) > 0 {
					b.AddASN1(tagCtx1, func(b *cryptobyte.Builder) {
						for _, c := range crls {
							b.AddBytes(c)
						}
					})
				}
				b.AddBytes(sd.RawSignerInfos)
			})
		})
	})
	res, err := out.Bytes()
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encode SignedData")
	}
	if len(res) > MaxCMSSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "result of %d bytes exceeds the limit of %d", len(res), MaxCMSSize)
	}
	return res, nil
}
