package verify

import (
	"bytes"
	"encoding/asn1"
	"fmt"

	"github.com/roamsign/roamsign"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CMS object identifiers (RFC 5652, RFC 5035, RFC 6211, RFC 3161).
var (
	oidSignedData         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidData               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidTSTInfo            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidAttrContentType    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSigningCert    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidAttrSigningCertV2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidAttrAlgProtection  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 52}
	oidAttrTimestampToken = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidSHA1               = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
)

// Limits of the CMS parser.
const (
	maxCMSCerts   = 32
	maxCMSSigners = 16
	maxCMSAttrs   = 64
)

// signedData is a parsed CMS SignedData (DER only).
type signedData struct {
	eContentType asn1.ObjectIdentifier
	eContent     []byte // nil when detached
	hasEContent  bool
	certs        [][]byte
	signers      []signerInfo
}

type signerInfo struct {
	version       int
	issuer        []byte // issuerAndSerialNumber issuer (raw Name)
	serial        []byte // INTEGER content bytes
	ski           []byte // subjectKeyIdentifier form
	digestAlg     algorithmIdentifier
	signedAttrs   []byte // the [0] IMPLICIT element, tag included
	attrs         []attribute
	sigAlg        algorithmIdentifier
	signature     []byte
	unsignedAttrs []attribute
}

type attribute struct {
	oid    rawOID
	values []cryptobyte.String // each value element, tag included
}

// parseSignedData parses a DER ContentInfo holding SignedData.
func parseSignedData(der []byte, max int) (sd *signedData, err error) {
	const op = "verify.parseCMS"
	if len(der) > max {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "CMS signature of %d bytes exceeds the %d byte limit", len(der), max)
	}
	bad := func(what string) error {
		return roamsign.E(roamsign.ErrInvalidInput, op, "malformed CMS: %s", what)
	}
	defer func() {
		if p := recover(); p != nil {
			sd, err = nil, bad(fmt.Sprint("parser fault: ", p))
		}
	}()
	in := cryptobyte.String(der)
	var ci, content cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, bad("ContentInfo is not a DER SEQUENCE")
	}
	if !ci.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(oidSignedData) {
		return nil, bad("content type is not signedData")
	}
	if !ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() {
		return nil, bad("content")
	}
	var s cryptobyte.String
	if !content.ReadASN1(&s, cbasn1.SEQUENCE) || !content.Empty() {
		return nil, bad("SignedData")
	}
	var version int64
	if !s.ReadASN1Int64WithTag(&version, cbasn1.INTEGER) || version < 1 || version > 5 {
		return nil, bad("SignedData version")
	}
	var digestAlgs cryptobyte.String
	if !s.ReadASN1(&digestAlgs, cbasn1.SET) {
		return nil, bad("digestAlgorithms")
	}
	for !digestAlgs.Empty() {
		if _, ok := readAlgorithm(&digestAlgs); !ok {
			return nil, bad("digestAlgorithm")
		}
	}
	sd = &signedData{}
	var eci cryptobyte.String
	if !s.ReadASN1(&eci, cbasn1.SEQUENCE) || !eci.ReadASN1ObjectIdentifier(&sd.eContentType) {
		return nil, bad("encapContentInfo")
	}
	if !eci.Empty() {
		var ec, oct cryptobyte.String
		if !eci.ReadASN1(&ec, cbasn1.Tag(0).Constructed().ContextSpecific()) || !eci.Empty() ||
			!ec.ReadASN1(&oct, cbasn1.OCTET_STRING) || !ec.Empty() {
			return nil, bad("eContent (only a primitive DER OCTET STRING is accepted)")
		}
		sd.eContent, sd.hasEContent = oct, true
	}
	if s.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var certs cryptobyte.String
		s.ReadASN1(&certs, cbasn1.Tag(0).Constructed().ContextSpecific())
		for !certs.Empty() {
			var c cryptobyte.String
			if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
				return nil, bad("certificates (only X.509 certificates are accepted)")
			}
			if len(sd.certs) == maxCMSCerts {
				return nil, roamsign.E(roamsign.ErrTooLarge, op, "more than %d certificates", maxCMSCerts)
			}
			sd.certs = append(sd.certs, c)
		}
	}
	if s.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		var crls cryptobyte.String
		s.ReadASN1(&crls, cbasn1.Tag(1).Constructed().ContextSpecific())
	}
	var sis cryptobyte.String
	if !s.ReadASN1(&sis, cbasn1.SET) || !s.Empty() {
		return nil, bad("signerInfos")
	}
	for !sis.Empty() {
		if len(sd.signers) == maxCMSSigners {
			return nil, roamsign.E(roamsign.ErrTooLarge, op, "more than %d signers", maxCMSSigners)
		}
		si, err := parseSignerInfo(&sis)
		if err != nil {
			return nil, bad(err.Error())
		}
		sd.signers = append(sd.signers, si)
	}
	if len(sd.signers) == 0 {
		return nil, bad("no signerInfo")
	}
	return sd, nil
}

func parseSignerInfo(s *cryptobyte.String) (signerInfo, error) {
	var si signerInfo
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return si, fmt.Errorf("signerInfo")
	}
	var v int64
	if !seq.ReadASN1Int64WithTag(&v, cbasn1.INTEGER) {
		return si, fmt.Errorf("signerInfo version")
	}
	si.version = int(v)
	switch {
	case seq.PeekASN1Tag(cbasn1.SEQUENCE):
		var ias cryptobyte.String
		seq.ReadASN1(&ias, cbasn1.SEQUENCE)
		var name cryptobyte.String
		if !ias.ReadASN1Element(&name, cbasn1.SEQUENCE) {
			return si, fmt.Errorf("sid issuer")
		}
		serial, ok := readIntegerBytes(&ias)
		if !ok || !ias.Empty() {
			return si, fmt.Errorf("sid serial")
		}
		si.issuer, si.serial = name, serial
		if v != 1 {
			return si, fmt.Errorf("signerInfo version does not match sid")
		}
	case seq.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific()):
		var ski cryptobyte.String
		seq.ReadASN1(&ski, cbasn1.Tag(0).ContextSpecific())
		if len(ski) == 0 || v != 3 {
			return si, fmt.Errorf("sid subjectKeyIdentifier")
		}
		si.ski = ski
	default:
		return si, fmt.Errorf("sid")
	}
	var ok bool
	if si.digestAlg, ok = readAlgorithm(&seq); !ok {
		return si, fmt.Errorf("digestAlgorithm")
	}
	if seq.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var full cryptobyte.String
		seq.ReadASN1Element(&full, cbasn1.Tag(0).Constructed().ContextSpecific())
		si.signedAttrs = full
		var body cryptobyte.String
		full.ReadASN1(&body, cbasn1.Tag(0).Constructed().ContextSpecific())
		attrs, err := parseAttributes(body)
		if err != nil {
			return si, fmt.Errorf("signedAttrs: %w", err)
		}
		si.attrs = attrs
	}
	if si.sigAlg, ok = readAlgorithm(&seq); !ok {
		return si, fmt.Errorf("signatureAlgorithm")
	}
	var sig cryptobyte.String
	if !seq.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return si, fmt.Errorf("signature")
	}
	si.signature = sig
	if seq.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		var body cryptobyte.String
		seq.ReadASN1(&body, cbasn1.Tag(1).Constructed().ContextSpecific())
		attrs, err := parseAttributes(body)
		if err != nil {
			return si, fmt.Errorf("unsignedAttrs: %w", err)
		}
		si.unsignedAttrs = attrs
	}
	if !seq.Empty() {
		return si, fmt.Errorf("trailing data in signerInfo")
	}
	return si, nil
}

// parseAttributes reads the content of a SET OF Attribute. An attribute
// type may appear only once.
func parseAttributes(body cryptobyte.String) ([]attribute, error) {
	var out []attribute
	for !body.Empty() {
		if len(out) == maxCMSAttrs {
			return nil, fmt.Errorf("more than %d attributes", maxCMSAttrs)
		}
		var a cryptobyte.String
		var at attribute
		var vals cryptobyte.String
		if !body.ReadASN1(&a, cbasn1.SEQUENCE) || !readRawOID(&a, &at.oid) ||
			!a.ReadASN1(&vals, cbasn1.SET) || !a.Empty() {
			return nil, fmt.Errorf("attribute")
		}
		for !vals.Empty() {
			var v cryptobyte.String
			var tag cbasn1.Tag
			if !vals.ReadAnyASN1Element(&v, &tag) {
				return nil, fmt.Errorf("attribute value")
			}
			at.values = append(at.values, v)
		}
		for _, prev := range out {
			if bytes.Equal(prev.oid, at.oid) {
				return nil, fmt.Errorf("attribute %s appears twice", at.oid)
			}
		}
		out = append(out, at)
	}
	return out, nil
}

// attr returns the attribute with the given type, or nil.
func attr(attrs []attribute, oid rawOID) *attribute {
	for i := range attrs {
		if bytes.Equal(attrs[i].oid, oid) {
			return &attrs[i]
		}
	}
	return nil
}
