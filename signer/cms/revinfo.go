package cms

import (
	"bytes"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// AddRevocationInfo returns cmsDER with CRLs and OCSP responses (DER)
// added to the crls field of its SignedData (RevocationInfoChoices, RFC
// 5652 section 10.2.1; OCSP responses as id-ri-ocsp-response other
// revocation information, RFC 5940, which makes the SignedData version 5).
// The field is not signed, so the signature stays valid; a verifier takes
// the added material as evidence for the signer's chain. Objects already
// present are not added twice. The result is DER.
func AddRevocationInfo(cmsDER []byte, crls, ocspResponses [][]byte) ([]byte, error) {
	const op = "cms.AddRevocationInfo"
	sd, err := icms.ParseSignedData(op, cmsDER, MaxCMSSize)
	if err != nil {
		return nil, err
	}
	choices := append([][]byte(nil), sd.RawRevocationInfo...)
	other := sd.Version == 5
	add := func(el []byte) {
		for _, c := range choices {
			if bytes.Equal(c, el) {
				return
			}
		}
		choices = append(choices, el)
	}
	for _, c := range crls {
		if !isSequence(c) {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "a CRL is not a DER SEQUENCE")
		}
		add(c)
	}
	for _, o := range ocspResponses {
		if !isSequence(o) {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "an OCSP response is not a DER SEQUENCE")
		}
		b := cryptobyte.NewBuilder(nil)
		b.AddASN1(tagCtx1, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(icms.OIDRevInfoOCSP)
			b.AddBytes(o)
		})
		add(b.BytesOrPanic())
		other = true
	}
	if len(choices) > icms.MaxRevocationInfos {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "more than %d revocation information objects", icms.MaxRevocationInfos)
	}
	version := int64(sd.Version)
	if other {
		version = 5
	}
	return encodeSignedData(op, sd, version, sd.RawCertificates, choices)
}

func isSequence(der []byte) bool {
	s := cryptobyte.String(der)
	var el cryptobyte.String
	return s.ReadASN1Element(&el, cbasn1.SEQUENCE) && s.Empty()
}
