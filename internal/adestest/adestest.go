// Package adestest checks CMS signatures against ETSI EN 319 122-1 (CAdES
// baseline), the CMS part of ETSI EN 319 142-1 (PAdES baseline), RFC
// 5652, RFC 5035 and RFC 3161 with its own reading of the ASN.1
// (encoding/asn1, not the module's CMS code), the way an outside AdES
// validator reads them. It is test support: the checks fail the test.
package adestest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Profile says which baseline a CMS signature is checked against.
type Profile int

const (
	// CAdES is EN 319 122-1: the signing-time attribute is present.
	CAdES Profile = iota
	// PAdES is EN 319 142-1: no signing-time attribute (/M says it).
	PAdES
)

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSigningCert   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSigTimestamp  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidRSAPSS        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type encapContent struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type SignedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	Encap            encapContent
	Certificates     []asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             []asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []SignerInfo    `asn1:"set"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type Attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

type SignerInfo struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      []Attribute `asn1:"optional,tag:1"`
}

type essCertIDv2 struct {
	HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"`
	CertHash      []byte
	IssuerSerial  struct {
		Issuer []asn1.RawValue
		Serial *big.Int
	} `asn1:"optional"`
}

type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	Rest []asn1.RawValue `asn1:"optional"` // serialNumber, genTime, ...
}

func hashOf(t testing.TB, oid asn1.ObjectIdentifier) crypto.Hash {
	t.Helper()
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256
	case oid.Equal(oidSHA384):
		return crypto.SHA384
	case oid.Equal(oidSHA512):
		return crypto.SHA512
	}
	t.Fatalf("digest algorithm %v is not one of EN 319 142-1's SHA-2", oid)
	return 0
}

// ParseSignedData reads a DER ContentInfo holding SignedData, with no
// trailing bytes.
func ParseSignedData(t testing.TB, der []byte) *SignedData {
	t.Helper()
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	require.NoError(t, err)
	require.Empty(t, rest, "bytes after the ContentInfo")
	require.True(t, ci.ContentType.Equal(oidSignedData), "content type %v", ci.ContentType)
	var sd SignedData
	rest, err = asn1.Unmarshal(ci.Content.Bytes, &sd)
	require.NoError(t, err)
	require.Empty(t, rest)
	return &sd
}

// attrs reads the DER SET OF Attribute of a [0] IMPLICIT signedAttrs,
// checking that its elements are in DER order (X.690 clause 11.6).
func attrs(t testing.TB, raw asn1.RawValue) ([]Attribute, []byte) {
	t.Helper()
	der := append([]byte{0x31}, raw.FullBytes[1:]...) // the SET OF that is signed
	var list []Attribute
	_, err := asn1.UnmarshalWithParams(der, &list, "set")
	require.NoError(t, err)
	var elems [][]byte
	for rest := raw.Bytes; len(rest) > 0; {
		var el asn1.RawValue
		var err error
		rest, err = asn1.Unmarshal(rest, &el)
		require.NoError(t, err)
		elems = append(elems, el.FullBytes)
	}
	for i := 1; i < len(elems); i++ {
		require.True(t, bytes.Compare(elems[i-1], elems[i]) <= 0, "signed attributes not in DER SET OF order")
	}
	return list, der
}

func values(list []Attribute, oid asn1.ObjectIdentifier) [][]asn1.RawValue {
	var out [][]asn1.RawValue
	for _, a := range list {
		if a.Type.Equal(oid) {
			out = append(out, a.Values)
		}
	}
	return out
}

// CheckBB checks the CMS signature der (a ContentInfo) of the detached
// content against the B-B level of profile (EN 319 122-1 clause 6.3 and
// its additional requirements, or EN 319 142-1 clause 6.3 for the CMS of
// a PAdES signature) with leaf as the signer, and returns its SignedData.
func CheckBB(t testing.TB, der, content []byte, leaf *x509.Certificate, profile Profile) *SignedData {
	t.Helper()
	sd := ParseSignedData(t, der)
	version := 1 // RFC 5652 clause 5.1: id-data, v1 SignerInfos, no attribute certificates
	for _, r := range sd.CRLs {
		if r.Class == asn1.ClassContextSpecific && r.Tag == 1 {
			version = 5 // other revocation information
		}
	}
	require.Equal(t, version, sd.Version, "SignedData version (RFC 5652 clause 5.1)")
	require.True(t, sd.Encap.EContentType.Equal(oidData), "eContentType id-data")
	require.Empty(t, sd.Encap.EContent.Bytes, "detached: no eContent")
	var found bool
	for _, c := range sd.Certificates {
		found = found || bytes.Equal(c.FullBytes, leaf.Raw)
	}
	require.True(t, found, "the signing certificate is in SignedData.certificates (requirement a)")
	require.Len(t, sd.SignerInfos, 1)
	si := sd.SignerInfos[0]
	require.Equal(t, 1, si.Version)
	require.Equal(t, leaf.RawIssuer, si.SID.Issuer.FullBytes)
	require.Zero(t, leaf.SerialNumber.Cmp(si.SID.Serial))
	var listed bool
	for _, a := range sd.DigestAlgorithms {
		listed = listed || a.Algorithm.Equal(si.DigestAlgorithm.Algorithm)
	}
	require.True(t, listed, "the signer's digest algorithm is in SignedData.digestAlgorithms")
	h := hashOf(t, si.DigestAlgorithm.Algorithm)

	list, signedDER := attrs(t, si.SignedAttrs)
	ct := values(list, oidContentType)
	require.Len(t, ct, 1, "content-type once")
	require.Len(t, ct[0], 1)
	var ctOID asn1.ObjectIdentifier
	_, err := asn1.Unmarshal(ct[0][0].FullBytes, &ctOID)
	require.NoError(t, err)
	require.True(t, ctOID.Equal(oidData), "content-type is id-data (requirement c)")

	md := values(list, oidMessageDigest)
	require.Len(t, md, 1, "message-digest once")
	var digest []byte
	_, err = asn1.Unmarshal(md[0][0].FullBytes, &digest)
	require.NoError(t, err)
	hw := h.New()
	hw.Write(content)
	require.Equal(t, hw.Sum(nil), digest, "message-digest is the digest of the signed content")

	st := values(list, oidSigningTime)
	if profile == PAdES {
		require.Empty(t, st, "PAdES: the signing-time attribute shall not be present (EN 319 142-1 clause 6.3)")
	} else {
		require.Len(t, st, 1, "CAdES-B-B: one signing-time attribute (EN 319 122-1 clause 6.3)")
		require.Len(t, st[0], 1)
		var tm time.Time
		_, err := asn1.Unmarshal(st[0][0].FullBytes, &tm)
		require.NoError(t, err, "signing-time is a UTCTime or GeneralizedTime")
		if y := tm.UTC().Year(); y >= 1950 && y < 2050 {
			require.Equal(t, asn1.TagUTCTime, st[0][0].Tag, "RFC 5652 clause 11.3: UTCTime from 1950 to 2049")
		}
	}
	require.Empty(t, values(list, oidSigningCert), "signing-certificate (v1, SHA-1) not used with SHA-2")
	sc := values(list, oidSigningCertV2)
	require.Len(t, sc, 1, "signing-certificate-v2 once")
	var scv2 struct {
		Certs []essCertIDv2
	}
	rest, err := asn1.Unmarshal(sc[0][0].FullBytes, &scv2)
	require.NoError(t, err)
	require.Empty(t, rest)
	require.NotEmpty(t, scv2.Certs)
	id := scv2.Certs[0]
	certHash := crypto.SHA256 // DEFAULT, which DER omits
	if id.HashAlgorithm.Algorithm != nil {
		require.False(t, id.HashAlgorithm.Algorithm.Equal(oidSHA256), "DER omits the DEFAULT sha256")
		certHash = hashOf(t, id.HashAlgorithm.Algorithm)
	}
	hw = certHash.New()
	hw.Write(leaf.Raw)
	require.Equal(t, hw.Sum(nil), id.CertHash, "ESSCertIDv2 certHash names the signer's certificate")
	if id.IssuerSerial.Serial != nil {
		require.Len(t, id.IssuerSerial.Issuer, 1)
		gn := id.IssuerSerial.Issuer[0]
		require.Equal(t, asn1.ClassContextSpecific, gn.Class)
		require.Equal(t, 4, gn.Tag, "GeneralName directoryName [4]")
		require.True(t, gn.IsCompound, "directoryName is EXPLICIT (Name is a CHOICE)")
		require.Equal(t, leaf.RawIssuer, gn.Bytes)
		require.Zero(t, leaf.SerialNumber.Cmp(id.IssuerSerial.Serial))
	}

	hw = h.New()
	hw.Write(signedDER)
	sum := hw.Sum(nil)
	switch k := leaf.PublicKey.(type) {
	case *ecdsa.PublicKey:
		require.True(t, ecdsa.VerifyASN1(k, sum, si.Signature), "signature over the DER signed attributes")
	case *rsa.PublicKey:
		if si.SignatureAlgorithm.Algorithm.Equal(oidRSAPSS) {
			require.NoError(t, rsa.VerifyPSS(k, h, sum, si.Signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}))
		} else {
			require.NoError(t, rsa.VerifyPKCS1v15(k, h, sum, si.Signature), "signature over the DER signed attributes")
		}
	default:
		t.Fatalf("unexpected key type %T", k)
	}
	return sd
}

// CheckToken checks an RFC 3161 TimeStampToken (a ContentInfo SignedData
// of a TSTInfo) whose imprint must be the digest of data, signed by a
// certificate with the critical id-kp-timeStamping extended key usage
// (RFC 3161 clause 2.3).
func CheckToken(t testing.TB, token, data []byte) {
	t.Helper()
	sd := ParseSignedData(t, token)
	require.True(t, sd.Encap.EContentType.Equal(oidTSTInfo), "eContentType id-ct-TSTInfo")
	var octets []byte
	_, err := asn1.Unmarshal(sd.Encap.EContent.Bytes, &octets)
	require.NoError(t, err)
	var info tstInfo
	_, err = asn1.Unmarshal(octets, &info)
	require.NoError(t, err)
	require.Equal(t, 1, info.Version)
	h := hashOf(t, info.MessageImprint.HashAlgorithm.Algorithm)
	hw := h.New()
	hw.Write(data)
	require.Equal(t, hw.Sum(nil), info.MessageImprint.HashedMessage, "the imprint is the digest of the time-stamped data")
	require.Len(t, sd.SignerInfos, 1)
	si := sd.SignerInfos[0]
	var tsa *x509.Certificate
	for _, c := range sd.Certificates {
		cert, err := x509.ParseCertificate(c.FullBytes)
		require.NoError(t, err)
		if bytes.Equal(cert.RawIssuer, si.SID.Issuer.FullBytes) && cert.SerialNumber.Cmp(si.SID.Serial) == 0 {
			tsa = cert
		}
	}
	require.NotNil(t, tsa, "the token carries its TSA certificate (certReq)")
	require.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}, tsa.ExtKeyUsage)
	var critical bool
	for _, e := range tsa.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			critical = e.Critical
		}
	}
	require.True(t, critical, "the TSA's extended key usage is critical")
	list, _ := attrs(t, si.SignedAttrs)
	require.Len(t, append(values(list, oidSigningCertV2), values(list, oidSigningCert)...), 1, "ESS signing certificate in the token (RFC 5816)")
}

// CheckBT checks the signature-time-stamp unsigned attribute: one token
// over the signature value (EN 319 122-1 and EN 319 142-1 clause 6.3, B-T).
func CheckBT(t testing.TB, sd *SignedData) {
	t.Helper()
	si := sd.SignerInfos[0]
	var tokens []asn1.RawValue
	for _, a := range si.UnsignedAttrs {
		if a.Type.Equal(oidSigTimestamp) {
			tokens = append(tokens, a.Values...)
		}
	}
	require.Len(t, tokens, 1, "one signature-time-stamp")
	CheckToken(t, tokens[0].FullBytes, si.Signature)
}

// The unsigned attributes of the extended CAdES forms that a CAdES-B-LT
// signature leaves out (EN 319 122-1 clause 6.3: its validation material
// is in SignedData.certificates and SignedData.crls).
var extendedOnly = map[string]asn1.ObjectIdentifier{
	"complete-certificate-references":    {1, 2, 840, 113549, 1, 9, 16, 2, 21},
	"complete-revocation-references":     {1, 2, 840, 113549, 1, 9, 16, 2, 22},
	"certificate-values":                 {1, 2, 840, 113549, 1, 9, 16, 2, 23},
	"revocation-values":                  {1, 2, 840, 113549, 1, 9, 16, 2, 24},
	"time-stamped-certs-crls-references": {1, 2, 840, 113549, 1, 9, 16, 2, 26},
}

var oidOCSPRevInfo = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 16, 2}

// CheckLT checks the CAdES-B-LT form (EN 319 122-1 clause 6.3): none of
// the extended forms' attributes; every certificate of certs (the signer's
// and the TSAs' paths) in SignedData.certificates; SignedData.crls holding
// DER CRLs and, as id-ri-ocsp-response other revocation information (RFC
// 5940), complete OCSPResponses; the SignedData version 5 exactly when
// other revocation information is there (RFC 5652 clause 5.1). It returns
// the number of CRLs and of OCSP responses.
func CheckLT(t testing.TB, sd *SignedData, certs []*x509.Certificate) (crls, ocsps int) {
	t.Helper()
	for name, oid := range extendedOnly {
		for _, a := range sd.SignerInfos[0].UnsignedAttrs {
			require.False(t, a.Type.Equal(oid), "CAdES-B-LT: no %s attribute", name)
		}
	}
	have := map[string]bool{}
	for _, c := range sd.Certificates {
		have[string(c.FullBytes)] = true
	}
	for _, c := range certs {
		require.True(t, have[string(c.Raw)], "%s is in SignedData.certificates", c.Subject)
	}
	for _, r := range sd.CRLs {
		switch {
		case r.Class == asn1.ClassUniversal && r.Tag == asn1.TagSequence:
			_, err := x509.ParseRevocationList(r.FullBytes)
			require.NoError(t, err, "a CRL in SignedData.crls")
			crls++
		case r.Class == asn1.ClassContextSpecific && r.Tag == 1 && r.IsCompound:
			var format asn1.ObjectIdentifier
			rest, err := asn1.Unmarshal(r.Bytes, &format)
			require.NoError(t, err)
			require.True(t, format.Equal(oidOCSPRevInfo), "other revocation information is id-ri-ocsp-response")
			var resp struct {
				Status asn1.Enumerated
				Bytes  asn1.RawValue `asn1:"explicit,tag:0"`
			}
			rest, err = asn1.Unmarshal(rest, &resp)
			require.NoError(t, err, "id-ri-ocsp-response holds an OCSPResponse (RFC 5940)")
			require.Empty(t, rest)
			require.Zero(t, resp.Status)
			ocsps++
		default:
			t.Fatalf("SignedData.crls holds an element of class %d tag %d", r.Class, r.Tag)
		}
	}
	if ocsps > 0 {
		require.Equal(t, 5, sd.Version, "SignedData version 5 with other revocation information")
	} else {
		require.Equal(t, 1, sd.Version)
	}
	return crls, ocsps
}
