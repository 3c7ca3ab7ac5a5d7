package testpki

import (
	"errors"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// BER re-encodes a DER CMS ContentInfo the way streaming encoders write
// it: every constructed element with the indefinite length form, and
// every OCTET STRING longer than chunk bytes as a constructed string of
// pieces. The certificates and CRLs, signed objects of their own, and the
// values of attributes stay as they are. Tests use it to produce signatures in BER (RFC 5652 allows it;
// many PDF products write it).
func BER(der []byte, chunk int) ([]byte, error) {
	return ber(der, chunk, 0)
}

func ber(der []byte, chunk, depth int) ([]byte, error) {
	s := cryptobyte.String(der)
	var body cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1(&body, &tag) || !s.Empty() || chunk < 1 || chunk > 127 {
		return nil, errors.New("testpki.BER: not one DER element")
	}
	switch {
	case tag == cbasn1.OCTET_STRING && len(body) > chunk:
		out := []byte{0x24, 0x80}
		for len(body) > 0 {
			n := min(chunk, len(body))
			out = append(out, 0x04, byte(n))
			out = append(out, body[:n]...)
			body = body[n:]
		}
		return append(out, 0, 0), nil
	case tag&0x20 == 0, depth > 7:
		// Attribute values stay DER: OpenSSL hashes them as received.
		return der, nil
	case depth == 3 && (tag == cbasn1.Tag(0).Constructed().ContextSpecific() || tag == cbasn1.Tag(1).Constructed().ContextSpecific()):
		return der, nil // SignedData certificates and crls
	}
	out := []byte{byte(tag), 0x80}
	for !body.Empty() {
		var child cryptobyte.String
		if !body.ReadAnyASN1Element(&child, &tag) {
			return nil, errors.New("testpki.BER: malformed element")
		}
		b, err := ber(child, chunk, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return append(out, 0, 0), nil
}
