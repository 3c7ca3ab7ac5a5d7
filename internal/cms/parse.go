package cms

import (
	"bytes"
	"encoding/asn1"
	"fmt"

	"github.com/roamsign/roamsign"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Limits of the parser.
const (
	MaxCertificates    = 64
	MaxSigners         = 16
	MaxAttributes      = 64
	MaxRevocationInfos = 64
)

var (
	tagCtx0  = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagCtx1  = cbasn1.Tag(1).Constructed().ContextSpecific()
	tagCtx0P = cbasn1.Tag(0).ContextSpecific()
)

// SignedData is a parsed CMS SignedData.
type SignedData struct {
	Version      int
	EContentType asn1.ObjectIdentifier
	// EContent is the encapsulated content; HasEContent is false for a
	// detached signature.
	EContent    []byte
	HasEContent bool
	// Certificates are the X.509 certificates of the certificates field
	// (other certificate formats are skipped).
	Certificates [][]byte
	// CRLs and OCSPResponses are the revocation information of the crls
	// field: CertificateLists, and OCSPResponses carried as
	// id-ri-ocsp-response (RFC 5940). Other formats are skipped.
	CRLs          [][]byte
	OCSPResponses [][]byte
	SignerInfos   []SignerInfo
	// Head is the DER of the SignedData fields before signerInfos.
	Head []byte
	// RawDigestAlgorithms, RawEncapContentInfo and RawCertificates are the
	// DER elements of those fields (RawCertificates nil when absent);
	// RawRevocationInfo holds each RevocationInfoChoice; RawSignerInfos is
	// the signerInfos SET. They let a caller rebuild the SignedData.
	RawDigestAlgorithms, RawEncapContentInfo, RawCertificates []byte
	RawRevocationInfo                                         [][]byte
	RawSignerInfos                                            []byte
	// BER is true when the input was not DER and was re-encoded.
	BER bool
}

// SignerInfo is one parsed SignerInfo.
type SignerInfo struct {
	Version int
	// Issuer (raw Name) and Serial (INTEGER content) name the signer by
	// issuerAndSerialNumber; SKI by subjectKeyIdentifier.
	Issuer, Serial, SKI []byte
	DigestAlgorithm     AlgorithmIdentifier
	// SignedAttrsDER is the DER SET OF the signed attributes, the bytes the
	// signature covers (RFC 5652 section 5.4); nil when there are none.
	SignedAttrsDER     []byte
	SignedAttrs        []Attribute
	SignatureAlgorithm AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      []Attribute
	// Head is the DER of the SignerInfo fields before the signature, and
	// UnsignedRaw the DER of each unsigned Attribute, for rebuilding.
	Head        []byte
	UnsignedRaw [][]byte
}

// Attribute is an attribute with its values (each a DER element).
type Attribute struct {
	OID    RawOID
	Values []cryptobyte.String
}

// Attr returns the first attribute of the given type, or nil.
func Attr(attrs []Attribute, oid RawOID) *Attribute {
	for i := range attrs {
		if bytes.Equal(attrs[i].OID, oid) {
			return &attrs[i]
		}
	}
	return nil
}

// ParseSignedData parses a ContentInfo holding SignedData, DER or BER, of
// at most max bytes. Errors are of kind ErrTooLarge or ErrInvalidInput.
func ParseSignedData(op string, der []byte, max int) (sd *SignedData, err error) {
	if len(der) > max {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "CMS of %d bytes exceeds the %d byte limit", len(der), max)
	}
	bad := func(what string) error {
		return roamsign.E(roamsign.ErrInvalidInput, op, "malformed CMS: %s", what)
	}
	defer func() {
		if p := recover(); p != nil {
			sd, err = nil, bad(fmt.Sprint("parser fault: ", p))
		}
	}()
	in, err := ToDER(der)
	if err != nil {
		return nil, bad("neither DER nor BER")
	}
	sd = &SignedData{BER: len(in) != len(der) || !bytes.Equal(in, der)}
	s := cryptobyte.String(in)
	var ci, content, body cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !s.ReadASN1(&ci, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, bad("ContentInfo is not a SEQUENCE")
	}
	if !ci.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(OIDSignedData) {
		return nil, bad("content type is not signedData")
	}
	if !ci.ReadASN1(&content, tagCtx0) || !ci.Empty() || !content.ReadASN1(&body, cbasn1.SEQUENCE) || !content.Empty() {
		return nil, bad("SignedData")
	}
	if err := sd.parseBody(body); err != nil {
		return nil, bad(err.Error())
	}
	return sd, nil
}

func (sd *SignedData) parseBody(s cryptobyte.String) error {
	all := s
	var version int64
	if !s.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || version < 1 || version > 5 {
		return fmt.Errorf("SignedData version")
	}
	sd.Version = int(version)
	var rawDA, rawECI cryptobyte.String
	if !s.ReadASN1Element(&rawDA, cbasn1.SET) || !s.ReadASN1Element(&rawECI, cbasn1.SEQUENCE) {
		return fmt.Errorf("digestAlgorithms or encapContentInfo")
	}
	sd.RawDigestAlgorithms, sd.RawEncapContentInfo = rawDA, rawECI
	var digestAlgs, eci cryptobyte.String
	rawDA.ReadASN1(&digestAlgs, cbasn1.SET)
	for !digestAlgs.Empty() {
		if _, ok := ParseAlgorithm(&digestAlgs); !ok {
			return fmt.Errorf("digestAlgorithm")
		}
	}
	if !rawECI.ReadASN1(&eci, cbasn1.SEQUENCE) || !eci.ReadASN1ObjectIdentifier(&sd.EContentType) {
		return fmt.Errorf("encapContentInfo")
	}
	if !eci.Empty() {
		var ec, oct cryptobyte.String
		if !eci.ReadASN1(&ec, tagCtx0) || !eci.Empty() || !ec.ReadASN1(&oct, cbasn1.OCTET_STRING) || !ec.Empty() {
			return fmt.Errorf("eContent")
		}
		sd.EContent, sd.HasEContent = oct, true
	}
	if s.PeekASN1Tag(tagCtx0) {
		var el, certs cryptobyte.String
		s.ReadASN1Element(&el, tagCtx0)
		sd.RawCertificates = el
		if !el.ReadASN1(&certs, tagCtx0) {
			return fmt.Errorf("certificates")
		}
		if err := sd.parseCertificates(certs); err != nil {
			return err
		}
	}
	if s.PeekASN1Tag(tagCtx1) {
		var crls cryptobyte.String
		s.ReadASN1(&crls, tagCtx1)
		if err := sd.parseRevocationInfo(crls); err != nil {
			return err
		}
	}
	sd.Head = all[:len(all)-len(s)]
	var sis, rawSIs cryptobyte.String
	if !s.ReadASN1Element(&rawSIs, cbasn1.SET) {
		return fmt.Errorf("signerInfos")
	}
	sd.RawSignerInfos = rawSIs
	if !rawSIs.ReadASN1(&sis, cbasn1.SET) || !s.Empty() {
		return fmt.Errorf("signerInfos")
	}
	for !sis.Empty() {
		if len(sd.SignerInfos) == MaxSigners {
			return fmt.Errorf("more than %d signers", MaxSigners)
		}
		si, err := parseSignerInfo(&sis)
		if err != nil {
			return err
		}
		sd.SignerInfos = append(sd.SignerInfos, si)
	}
	if len(sd.SignerInfos) == 0 {
		return fmt.Errorf("no signerInfo")
	}
	return nil
}

// parseCertificates reads a CertificateSet, keeping X.509 certificates.
func (sd *SignedData) parseCertificates(certs cryptobyte.String) error {
	for !certs.Empty() {
		var c cryptobyte.String
		var tag cbasn1.Tag
		if !certs.ReadAnyASN1Element(&c, &tag) {
			return fmt.Errorf("certificates")
		}
		if tag != cbasn1.SEQUENCE {
			continue // attribute certificates and other formats
		}
		if len(sd.Certificates) == MaxCertificates {
			return fmt.Errorf("more than %d certificates", MaxCertificates)
		}
		sd.Certificates = append(sd.Certificates, c)
	}
	return nil
}

// parseRevocationInfo reads RevocationInfoChoices (RFC 5652 section
// 10.2.1): CertificateLists and OtherRevocationInfoFormat.
func (sd *SignedData) parseRevocationInfo(s cryptobyte.String) error {
	for !s.Empty() {
		if len(sd.CRLs)+len(sd.OCSPResponses) == MaxRevocationInfos {
			return fmt.Errorf("more than %d revocation information objects", MaxRevocationInfos)
		}
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadAnyASN1Element(&el, &tag) {
			return fmt.Errorf("revocation information")
		}
		sd.RawRevocationInfo = append(sd.RawRevocationInfo, el)
		switch tag {
		case cbasn1.SEQUENCE:
			sd.CRLs = append(sd.CRLs, el)
		case tagCtx1:
			var other cryptobyte.String
			var format RawOID
			var val cryptobyte.String
			var vtag cbasn1.Tag
			if !el.ReadASN1(&other, tagCtx1) || !ReadRawOID(&other, &format) ||
				!other.ReadAnyASN1Element(&val, &vtag) || !other.Empty() {
				return fmt.Errorf("other revocation information")
			}
			if format.Equal(rawRevInfoOCSP) && vtag == cbasn1.SEQUENCE {
				sd.OCSPResponses = append(sd.OCSPResponses, val)
			}
		}
	}
	return nil
}

func parseSignerInfo(s *cryptobyte.String) (SignerInfo, error) {
	var si SignerInfo
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return si, fmt.Errorf("signerInfo")
	}
	all := seq
	var v int64
	if !seq.ReadASN1Int64WithTag(&v, cbasn1.INTEGER) {
		return si, fmt.Errorf("signerInfo version")
	}
	si.Version = int(v)
	switch {
	case seq.PeekASN1Tag(cbasn1.SEQUENCE):
		var ias, name cryptobyte.String
		seq.ReadASN1(&ias, cbasn1.SEQUENCE)
		if !ias.ReadASN1Element(&name, cbasn1.SEQUENCE) {
			return si, fmt.Errorf("sid issuer")
		}
		serial, ok := ReadInteger(&ias)
		if !ok || !ias.Empty() {
			return si, fmt.Errorf("sid serial")
		}
		if v != 1 {
			return si, fmt.Errorf("signerInfo version does not match sid")
		}
		si.Issuer, si.Serial = name, serial
	case seq.PeekASN1Tag(tagCtx0P):
		var ski cryptobyte.String
		seq.ReadASN1(&ski, tagCtx0P)
		if len(ski) == 0 || v != 3 {
			return si, fmt.Errorf("sid subjectKeyIdentifier")
		}
		si.SKI = ski
	default:
		return si, fmt.Errorf("sid")
	}
	var ok bool
	if si.DigestAlgorithm, ok = ParseAlgorithm(&seq); !ok {
		return si, fmt.Errorf("digestAlgorithm")
	}
	if seq.PeekASN1Tag(tagCtx0) {
		var body cryptobyte.String
		seq.ReadASN1(&body, tagCtx0)
		attrs, raws, err := parseAttributes(body, true)
		if err != nil {
			return si, fmt.Errorf("signedAttrs: %w", err)
		}
		si.SignedAttrs = attrs
		si.SignedAttrsDER = SetOf(raws)
	}
	if si.SignatureAlgorithm, ok = ParseAlgorithm(&seq); !ok {
		return si, fmt.Errorf("signatureAlgorithm")
	}
	si.Head = all[:len(all)-len(seq)]
	var sig cryptobyte.String
	if !seq.ReadASN1(&sig, cbasn1.OCTET_STRING) || len(sig) == 0 {
		return si, fmt.Errorf("signature")
	}
	si.Signature = sig
	if seq.PeekASN1Tag(tagCtx1) {
		var body cryptobyte.String
		seq.ReadASN1(&body, tagCtx1)
		attrs, raws, err := parseAttributes(body, false)
		if err != nil {
			return si, fmt.Errorf("unsignedAttrs: %w", err)
		}
		si.UnsignedAttrs, si.UnsignedRaw = attrs, raws
	}
	if !seq.Empty() {
		return si, fmt.Errorf("trailing data in signerInfo")
	}
	return si, nil
}

// parseAttributes reads the content of a SET OF Attribute. In a signed
// set an attribute type may appear only once.
func parseAttributes(body cryptobyte.String, unique bool) ([]Attribute, [][]byte, error) {
	var out []Attribute
	var raws [][]byte
	for !body.Empty() {
		if len(out) == MaxAttributes {
			return nil, nil, fmt.Errorf("more than %d attributes", MaxAttributes)
		}
		var full cryptobyte.String
		if !body.ReadASN1Element(&full, cbasn1.SEQUENCE) {
			return nil, nil, fmt.Errorf("attribute")
		}
		a := full
		var seq, vals cryptobyte.String
		var at Attribute
		if !a.ReadASN1(&seq, cbasn1.SEQUENCE) || !ReadRawOID(&seq, &at.OID) ||
			!seq.ReadASN1(&vals, cbasn1.SET) || !seq.Empty() {
			return nil, nil, fmt.Errorf("attribute")
		}
		for !vals.Empty() {
			var v cryptobyte.String
			var tag cbasn1.Tag
			if !vals.ReadAnyASN1Element(&v, &tag) {
				return nil, nil, fmt.Errorf("attribute value")
			}
			at.Values = append(at.Values, v)
		}
		if unique && Attr(out, at.OID) != nil {
			return nil, nil, fmt.Errorf("attribute %s appears twice", at.OID)
		}
		out = append(out, at)
		raws = append(raws, full)
	}
	return out, raws, nil
}

// RevocationArchival is the content of Adobe's adbe-revocationInfoArchival
// signed attribute (1.2.840.113583.1.1.8).
type RevocationArchival struct {
	CRLs          [][]byte
	OCSPResponses [][]byte
}

// ParseRevocationArchival reads an adbe-revocationInfoArchival value:
//
//	RevocationInfoArchival ::= SEQUENCE {
//	  crl          [0] EXPLICIT SEQUENCE of CRLs OPTIONAL,
//	  ocsp         [1] EXPLICIT SEQUENCE of OCSPResponse OPTIONAL,
//	  otherRevInfo [2] EXPLICIT SEQUENCE of OtherRevInfo OPTIONAL }
func ParseRevocationArchival(v cryptobyte.String) (*RevocationArchival, error) {
	var seq cryptobyte.String
	if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() {
		return nil, fmt.Errorf("malformed revocation archival attribute")
	}
	out := &RevocationArchival{}
	for i, dst := range []*[][]byte{&out.CRLs, &out.OCSPResponses} {
		var wrap, list cryptobyte.String
		var has bool
		if !seq.ReadOptionalASN1(&wrap, &has, cbasn1.Tag(i).Constructed().ContextSpecific()) {
			return nil, fmt.Errorf("malformed revocation archival attribute")
		}
		if !has {
			continue
		}
		if !wrap.ReadASN1(&list, cbasn1.SEQUENCE) || !wrap.Empty() {
			return nil, fmt.Errorf("malformed revocation archival attribute")
		}
		for !list.Empty() {
			var el cryptobyte.String
			if !list.ReadASN1Element(&el, cbasn1.SEQUENCE) || len(out.CRLs)+len(out.OCSPResponses) >= MaxRevocationInfos {
				return nil, fmt.Errorf("malformed revocation archival attribute")
			}
			*dst = append(*dst, el)
		}
	}
	return out, nil // otherRevInfo is not used
}
