package cms

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxESSCertIDs bounds the certificate identifiers of one
// signing-certificate attribute.
const MaxESSCertIDs = 16

// ESSCertID is one identifier of an ESS signing-certificate (RFC 2634,
// ESSCertID, always SHA-1) or signing-certificate-v2 (RFC 5035,
// ESSCertIDv2, SHA-256 unless named) attribute.
type ESSCertID struct {
	Hash     crypto.Hash
	CertHash []byte
	// HasIssuerSerial says issuerSerial is present: Issuers holds the DER
	// Names of its directoryName GeneralNames and Serial the content octets
	// of its serial number.
	HasIssuerSerial bool
	Issuers         [][]byte
	Serial          []byte
}

// ParseESSCertIDs reads the value of a signing-certificate (v2 false) or
// signing-certificate-v2 (v2 true) attribute:
//
//	SigningCertificate   ::= SEQUENCE { certs SEQUENCE OF ESSCertID, policies ... OPTIONAL }
//	SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies ... OPTIONAL }
//	ESSCertID   ::= SEQUENCE { certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }
//	ESSCertIDv2 ::= SEQUENCE { hashAlgorithm AlgorithmIdentifier DEFAULT sha256,
//	                           certHash OCTET STRING, issuerSerial IssuerSerial OPTIONAL }
//	IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber INTEGER }
//
// The first identifier names the signer's certificate. An ESSCertIDv2 hash
// must be SHA-256, SHA-384 or SHA-512.
func ParseESSCertIDs(val cryptobyte.String, v2 bool) ([]ESSCertID, error) {
	var sc, ids cryptobyte.String
	if !val.ReadASN1(&sc, cbasn1.SEQUENCE) || !val.Empty() || !sc.ReadASN1(&ids, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("malformed signing-certificate attribute")
	}
	if !sc.Empty() && (!sc.SkipASN1(cbasn1.SEQUENCE) || !sc.Empty()) {
		return nil, fmt.Errorf("malformed signing-certificate policies")
	}
	var out []ESSCertID
	for !ids.Empty() {
		if len(out) == MaxESSCertIDs {
			return nil, fmt.Errorf("more than %d certificate identifiers", MaxESSCertIDs)
		}
		var id cryptobyte.String
		if !ids.ReadASN1(&id, cbasn1.SEQUENCE) {
			return nil, fmt.Errorf("malformed certificate identifier")
		}
		e, err := parseESSCertID(id, v2)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("signing-certificate attribute names no certificate")
	}
	return out, nil
}

func parseESSCertID(id cryptobyte.String, v2 bool) (ESSCertID, error) {
	e := ESSCertID{Hash: crypto.SHA1}
	if v2 {
		e.Hash = crypto.SHA256
		if id.PeekASN1Tag(cbasn1.SEQUENCE) {
			alg, ok := ParseAlgorithm(&id)
			if !ok {
				return e, fmt.Errorf("malformed certificate identifier hash algorithm")
			}
			if e.Hash, ok = DigestAlgorithm(alg); !ok {
				return e, fmt.Errorf("certificate identifier hash algorithm not accepted")
			}
		}
	}
	var h cryptobyte.String
	if !id.ReadASN1(&h, cbasn1.OCTET_STRING) || len(h) != e.Hash.Size() {
		return e, fmt.Errorf("malformed certHash")
	}
	e.CertHash = h
	if id.Empty() {
		return e, nil
	}
	var is, gns cryptobyte.String
	if !id.ReadASN1(&is, cbasn1.SEQUENCE) || !id.Empty() || !is.ReadASN1(&gns, cbasn1.SEQUENCE) || gns.Empty() {
		return e, fmt.Errorf("malformed issuerSerial")
	}
	e.HasIssuerSerial = true
	for !gns.Empty() {
		var gn cryptobyte.String
		var tag cbasn1.Tag
		if !gns.ReadAnyASN1Element(&gn, &tag) || len(e.Issuers) == MaxESSCertIDs {
			return e, fmt.Errorf("malformed issuerSerial issuer")
		}
		if tag == cbasn1.Tag(4).Constructed().ContextSpecific() {
			var wrap, name cryptobyte.String
			if !gn.ReadASN1(&wrap, tag) || !wrap.ReadASN1Element(&name, cbasn1.SEQUENCE) || !wrap.Empty() {
				return e, fmt.Errorf("malformed issuerSerial directoryName")
			}
			e.Issuers = append(e.Issuers, name)
		}
	}
	serial, ok := ReadInteger(&is)
	if !ok || !is.Empty() {
		return e, fmt.Errorf("malformed issuerSerial serialNumber")
	}
	e.Serial = serial
	return e, nil
}

// Matches reports whether the identifier names cert: the hash of its DER
// and, when issuerSerial is present, its serial number and an issuer
// directoryName equal to the certificate's issuer.
func (e ESSCertID) Matches(cert *x509.Certificate) bool {
	var sum []byte
	if e.Hash == crypto.SHA1 {
		s := sha1.Sum(cert.Raw) // identification only, as RFC 2634 defines it
		sum = s[:]
	} else {
		h := e.Hash.New()
		h.Write(cert.Raw)
		sum = h.Sum(nil)
	}
	if !bytes.Equal(sum, e.CertHash) {
		return false
	}
	if !e.HasIssuerSerial {
		return true
	}
	if !bytes.Equal(e.Serial, IntegerBytes(cert.SerialNumber)) {
		return false
	}
	for _, n := range e.Issuers {
		if bytes.Equal(n, cert.RawIssuer) {
			return true
		}
	}
	return false
}

// CheckSignature verifies the signature of si by cert over its signed
// attributes (RFC 5652 section 5.4), which must be present. The signature
// algorithm must use the SignerInfo's digest algorithm; rsaEncryption
// means PKCS #1 v1.5 with that digest. SHA-1 and unknown algorithms are
// refused. A signature that verified once in this process is not
// verified again (the check is remembered, keyed by the key, algorithm,
// signed attributes and signature).
func (si *SignerInfo) CheckSignature(cert *x509.Certificate) error {
	if si.SignedAttrsDER == nil {
		return fmt.Errorf("no signed attributes")
	}
	h, ok := DigestAlgorithm(si.DigestAlgorithm)
	if !ok {
		return fmt.Errorf("digest algorithm not accepted")
	}
	var alg x509.SignatureAlgorithm
	a := si.SignatureAlgorithm
	if a.OID.Equal(RawRSAEncryption) && a.NullOrAbsent() {
		alg = map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.SHA256WithRSA, crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA}[h]
	} else if alg, ok = SignatureAlgorithm(a); !ok || algHash(alg) != h {
		return fmt.Errorf("signature algorithm %v not accepted with digest %v", a.OID, h)
	}
	return checkSignatureMemo(cert, alg, si.SignedAttrsDER, si.Signature)
}

// algHash returns the digest of an x509 signature algorithm (zero for
// Ed25519, which CMS signers here do not use).
func algHash(alg x509.SignatureAlgorithm) crypto.Hash {
	switch alg {
	case x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256:
		return crypto.SHA256
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		return crypto.SHA384
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		return crypto.SHA512
	}
	return 0
}
