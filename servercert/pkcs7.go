package servercert

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"github.com/roamsign/roamsign"
)

// OIDs of the PKCS#7 / CMS content types this package reads and writes.
var (
	oidData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
)

// ParsePKCS7Certificates returns the certificates of a DER PKCS#7 / CMS
// SignedData (RFC 5652), such as a certs-only ".p7b" bundle, in the order
// they are stored. Signatures are not checked: a certs-only bundle has none,
// and the certificates are checked as a chain afterwards. Only DER is read;
// BER with indefinite lengths is refused.
//
// Errors are [*CorruptCertificateError] (kind [roamsign.ErrInvalidInput]),
// or [roamsign.ErrTooLarge] above [MaxInputSize] or [MaxCertificates].
func ParsePKCS7Certificates(der []byte) ([]*x509.Certificate, error) {
	if len(der) > MaxInputSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, "servercert.ParsePKCS7Certificates", "input is %d bytes, limit %d", len(der), MaxInputSize)
	}
	corrupt := func(reason string, err error) error {
		return &CorruptCertificateError{Reason: "PKCS#7 bundle: " + reason, Err: err}
	}
	// ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"optional"`
	}
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, corrupt("ContentInfo does not parse", err)
	}
	if len(rest) != 0 {
		return nil, corrupt(fmt.Sprintf("%d bytes of trailing data", len(rest)), nil)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, corrupt(fmt.Sprintf("content type %v is not SignedData", ci.ContentType), nil)
	}
	if ci.Content.Class != asn1.ClassContextSpecific || ci.Content.Tag != 0 || !ci.Content.IsCompound || len(ci.Content.Bytes) == 0 {
		return nil, corrupt("SignedData content is missing", nil)
	}
	// SignedData ::= SEQUENCE { version, digestAlgorithms SET,
	//   encapContentInfo SEQUENCE, certificates [0] IMPLICIT SET OPTIONAL,
	//   crls [1] IMPLICIT OPTIONAL, signerInfos SET }
	var sd asn1.RawValue
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		return nil, corrupt("SignedData does not parse", err)
	}
	if sd.Class != asn1.ClassUniversal || sd.Tag != asn1.TagSequence || !sd.IsCompound {
		return nil, corrupt("SignedData is not a SEQUENCE", nil)
	}
	var certSet []byte
	found := false
	body := sd.Bytes
	for i := 0; len(body) > 0; i++ {
		var el asn1.RawValue
		body, err = asn1.Unmarshal(body, &el)
		if err != nil {
			return nil, corrupt("SignedData field does not parse", err)
		}
		switch i {
		case 0:
			if el.Class != asn1.ClassUniversal || el.Tag != asn1.TagInteger {
				return nil, corrupt("SignedData version is not an INTEGER", nil)
			}
			continue
		case 1:
			if el.Class != asn1.ClassUniversal || el.Tag != asn1.TagSet {
				return nil, corrupt("digestAlgorithms is not a SET", nil)
			}
			continue
		case 2:
			if el.Class != asn1.ClassUniversal || el.Tag != asn1.TagSequence {
				return nil, corrupt("encapContentInfo is not a SEQUENCE", nil)
			}
			continue
		}
		if el.Class == asn1.ClassContextSpecific && el.Tag == 0 && el.IsCompound {
			if found {
				return nil, corrupt("two certificate sets", nil)
			}
			certSet, found = el.Bytes, true
		}
	}
	if !found || len(certSet) == 0 {
		return nil, corrupt("bundle holds no certificates", nil)
	}
	var certs []*x509.Certificate
	for len(certSet) > 0 {
		var el asn1.RawValue
		certSet, err = asn1.Unmarshal(certSet, &el)
		if err != nil {
			return nil, corrupt("certificate entry does not parse", err)
		}
		// CertificateChoices: a plain Certificate is a SEQUENCE; the
		// tagged alternatives (attribute certificates, other formats)
		// are skipped.
		if el.Class != asn1.ClassUniversal || el.Tag != asn1.TagSequence {
			continue
		}
		if len(certs) == MaxCertificates {
			return nil, roamsign.E(roamsign.ErrTooLarge, "servercert.ParsePKCS7Certificates", "more than %d certificates", MaxCertificates)
		}
		c, err := x509.ParseCertificate(el.FullBytes)
		if err != nil {
			return nil, corrupt(fmt.Sprintf("certificate %d does not parse", len(certs)+1), err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, corrupt("bundle holds no X.509 certificates", nil)
	}
	return certs, nil
}

// EncodePKCS7Certificates builds a DER certs-only PKCS#7 SignedData (the
// ".p7b" form) holding certs in the given order.
func EncodePKCS7Certificates(certs []*x509.Certificate) ([]byte, error) {
	if len(certs) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "servercert.EncodePKCS7Certificates", "no certificates")
	}
	var set []byte
	for _, c := range certs {
		set = append(set, c.Raw...)
	}
	type encap struct {
		ContentType asn1.ObjectIdentifier
	}
	sd := struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		EncapContentInfo encap
		Certificates     asn1.RawValue
		SignerInfos      asn1.RawValue
	}{
		Version:          1,
		DigestAlgorithms: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true},
		EncapContentInfo: encap{ContentType: oidData},
		Certificates:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: set},
		SignerInfos:      asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, "servercert.EncodePKCS7Certificates", err, "encode SignedData")
	}
	out, err := asn1.Marshal(struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}{oidSignedData, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER}})
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, "servercert.EncodePKCS7Certificates", err, "encode ContentInfo")
	}
	return out, nil
}
