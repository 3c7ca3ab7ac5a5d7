package cms

import (
	"bytes"
	"crypto/x509"
)

// Identifies reports whether c is the certificate the SignerInfo's sid
// names: by subjectKeyIdentifier when it has one (a certificate without a
// subject key id never matches), else by issuer and serial number (RFC 5652
// section 5.3).
func (si *SignerInfo) Identifies(c *x509.Certificate) bool {
	if si.SKI != nil {
		return len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, si.SKI)
	}
	return bytes.Equal(c.RawIssuer, si.Issuer) && bytes.Equal(IntegerBytes(c.SerialNumber), si.Serial)
}

// FindCertificate returns the first of certs the SignerInfo identifies, or
// nil.
func (si *SignerInfo) FindCertificate(certs []*x509.Certificate) *x509.Certificate {
	for _, c := range certs {
		if si.Identifies(c) {
			return c
		}
	}
	return nil
}
