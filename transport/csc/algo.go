package csc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"net/http"

	"github.com/roamsign/roamsign"
)

// Object identifiers of the signature algorithms and curves this face
// speaks (CSC API section 5, RFC 8017, RFC 5758, RFC 5480).
const (
	OIDRSA          = "1.2.840.113549.1.1.1"  // rsaEncryption: PKCS#1 v1.5, hash from hashAlgorithmOID
	OIDRSAPSS       = "1.2.840.113549.1.1.10" // RSASSA-PSS, parameters in signAlgoParams
	OIDSHA256RSA    = "1.2.840.113549.1.1.11"
	OIDSHA384RSA    = "1.2.840.113549.1.1.12"
	OIDSHA512RSA    = "1.2.840.113549.1.1.13"
	OIDECDSASHA256  = "1.2.840.10045.4.3.2"
	OIDECDSASHA384  = "1.2.840.10045.4.3.3"
	OIDECDSASHA512  = "1.2.840.10045.4.3.4"
	oidCurveP256    = "1.2.840.10045.3.1.7"
	oidCurveP384    = "1.3.132.0.34"
	oidCurveP521    = "1.3.132.0.35"
	oidMGF1         = "1.2.840.113549.1.1.8"
	rsaPSSTrailer   = 1
	maxSignAlgoText = 256
)

// scheme is how a key signs: the raw forms of the service.
type scheme int

const (
	schemeNone scheme = iota
	schemePKCS1
	schemePSS
	schemeECDSA
)

// form is the service output form that produces the scheme's signatures.
func (sc scheme) form() roamsign.OutputForm {
	if sc == schemePSS {
		return roamsign.FormRawPSS
	}
	return roamsign.FormRaw
}

// signAlgo is a parsed signAlgo (with signAlgoParams and
// hashAlgorithmOID): the scheme and the hash it signs.
type signAlgo struct {
	scheme scheme
	hash   roamsign.HashAlgorithm // 0: any (rsaEncryption without hashAlgorithmOID)
}

// parseSignAlgo reads signAlgo, signAlgoParams and hashAlgorithmOID as
// signatures/signHash gives them. hashOID may be empty when signAlgo
// implies the hash.
func parseSignAlgo(oid, params, hashOID string) (signAlgo, error) {
	if oid == "" {
		return signAlgo{}, badRequest("Missing (or invalid type) string parameter signAlgo")
	}
	var explicit roamsign.HashAlgorithm
	if hashOID != "" {
		h, err := hashAlgOf(hashOID)
		if err != nil {
			return signAlgo{}, err
		}
		explicit = h
	}
	implied := func(h roamsign.HashAlgorithm, sc scheme) (signAlgo, error) {
		if explicit != 0 && explicit != h {
			return signAlgo{}, badRequest("String parameter hashAlgorithmOID contradicts the signAlgo parameter")
		}
		return signAlgo{scheme: sc, hash: h}, nil
	}
	switch oid {
	case OIDRSA:
		if explicit == 0 {
			return signAlgo{}, badRequest("Missing (or invalid type) string parameter hashAlgorithmOID")
		}
		return signAlgo{scheme: schemePKCS1, hash: explicit}, nil
	case OIDSHA256RSA:
		return implied(roamsign.SHA256, schemePKCS1)
	case OIDSHA384RSA:
		return implied(roamsign.SHA384, schemePKCS1)
	case OIDSHA512RSA:
		return implied(roamsign.SHA512, schemePKCS1)
	case OIDECDSASHA256:
		return implied(roamsign.SHA256, schemeECDSA)
	case OIDECDSASHA384:
		return implied(roamsign.SHA384, schemeECDSA)
	case OIDECDSASHA512:
		return implied(roamsign.SHA512, schemeECDSA)
	case OIDRSAPSS:
		if params == "" {
			return signAlgo{}, badRequest("Missing (or invalid type) string parameter signAlgoParams")
		}
		h, err := parsePSSParams(params)
		if err != nil {
			return signAlgo{}, err
		}
		return implied(h, schemePSS)
	}
	return signAlgo{}, badRequest("Invalid parameter signAlgo")
}

// pssParams is RSASSA-PSS-params (RFC 8017 appendix A.2.3).
type pssParams struct {
	Hash         pkix.AlgorithmIdentifier `asn1:"explicit,tag:0,optional"`
	MGF          pkix.AlgorithmIdentifier `asn1:"explicit,tag:1,optional"`
	SaltLength   int                      `asn1:"explicit,tag:2,optional,default:20"`
	TrailerField int                      `asn1:"explicit,tag:3,optional,default:1"`
}

// parsePSSParams accepts the parameters the key store signs with: a
// SHA-2 hash, MGF1 with the same hash, a salt as long as the hash and
// trailer field 1. It returns the hash.
func parsePSSParams(b64 string) (roamsign.HashAlgorithm, error) {
	bad := badRequest("Invalid parameter signAlgoParams")
	if len(b64) > maxSignAlgoText {
		return 0, bad
	}
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return 0, bad
	}
	var p pssParams
	if rest, err := asn1.Unmarshal(der, &p); err != nil || len(rest) != 0 {
		return 0, bad
	}
	h, err := roamsign.HashAlgorithmFromOID(p.Hash.Algorithm)
	if err != nil {
		return 0, bad
	}
	var mgfHash pkix.AlgorithmIdentifier
	if p.MGF.Algorithm.String() != oidMGF1 {
		return 0, bad
	}
	if rest, err := asn1.Unmarshal(p.MGF.Parameters.FullBytes, &mgfHash); err != nil || len(rest) != 0 || !mgfHash.Algorithm.Equal(p.Hash.Algorithm) {
		return 0, bad
	}
	if p.SaltLength != h.Size() || p.TrailerField != rsaPSSTrailer {
		return 0, badRequest("Unsupported signAlgoParams: the salt must be as long as the hash")
	}
	return h, nil
}

// PSSParams returns the base64 DER RSASSA-PSS-params this service signs
// with for hash h (MGF1 with h, salt as long as h), for signAlgoParams.
func PSSParams(h roamsign.HashAlgorithm) string {
	id := pkix.AlgorithmIdentifier{Algorithm: h.OID(), Parameters: asn1.NullRawValue}
	mgfParams, _ := asn1.Marshal(id)
	der, _ := asn1.Marshal(pssParams{
		Hash:         id,
		MGF:          pkix.AlgorithmIdentifier{Algorithm: mustOID(oidMGF1), Parameters: asn1.RawValue{FullBytes: mgfParams}},
		SaltLength:   h.Size(),
		TrailerField: rsaPSSTrailer,
	})
	return base64.StdEncoding.EncodeToString(der)
}

func mustOID(s string) asn1.ObjectIdentifier {
	oid, err := parseOID(s)
	if err != nil {
		panic(err)
	}
	return oid
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	n, digits := 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || len(oid) >= 32 {
				return nil, badRequest("Invalid OID")
			}
			oid = append(oid, n)
			n, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits >= 9 {
			return nil, badRequest("Invalid OID")
		}
		n = n*10 + int(c-'0')
		digits++
	}
	if len(oid) < 2 {
		return nil, badRequest("Invalid OID")
	}
	return oid, nil
}

// hashAlgOf maps hashAlgorithmOID to a hash algorithm.
func hashAlgOf(oid string) (roamsign.HashAlgorithm, error) {
	o, err := parseOID(oid)
	if err == nil {
		if h, herr := roamsign.HashAlgorithmFromOID(o); herr == nil {
			return h, nil
		}
	}
	return 0, badRequest("Invalid parameter hashAlgorithmOID")
}

// hashBySize infers a SHA-2 algorithm from a digest length, for the v1.0.4
// calls that carry no hash algorithm.
func hashBySize(n int) (roamsign.HashAlgorithm, bool) {
	for _, h := range []roamsign.HashAlgorithm{roamsign.SHA256, roamsign.SHA384, roamsign.SHA512} {
		if h.Size() == n {
			return h, true
		}
	}
	return 0, false
}

// keyFacts describes a certificate's public key as credentials/info does:
// the signature algorithms it offers, its length in bits and, for EC keys,
// the curve.
func keyFacts(pub crypto.PublicKey, pss bool) (algos []string, bits int, curve string, sc scheme) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		algos = allSignAlgos(pss)[:4]
		if pss {
			algos = allSignAlgos(pss)[:5]
		}
		return algos, k.N.BitLen(), "", schemePKCS1
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			curve = oidCurveP256
		case elliptic.P384():
			curve = oidCurveP384
		case elliptic.P521():
			curve = oidCurveP521
		}
		return []string{OIDECDSASHA256, OIDECDSASHA384, OIDECDSASHA512}, k.Curve.Params().BitSize, curve, schemeECDSA
	}
	return nil, 0, "", schemeNone
}

// allSignAlgos lists info's signAlgorithms/algos.
func allSignAlgos(pss bool) []string {
	a := []string{OIDRSA, OIDSHA256RSA, OIDSHA384RSA, OIDSHA512RSA}
	if pss {
		a = append(a, OIDRSAPSS)
	}
	return append(a, OIDECDSASHA256, OIDECDSASHA384, OIDECDSASHA512)
}

// checkScheme refuses a signAlgo that the SAD's key or form cannot give.
func checkScheme(got signAlgo, keyScheme, authorised scheme) error {
	switch {
	case got.scheme == schemeECDSA && keyScheme != schemeECDSA,
		got.scheme != schemeECDSA && keyScheme == schemeECDSA:
		return badRequest("Invalid parameter signAlgo: not an algorithm of this credential's key")
	case got.scheme != authorised:
		return cscErr(http.StatusBadRequest, ErrCodeInvalidRequest,
			"Invalid parameter signAlgo: this SAD authorised another signature scheme (name signAlgo when authorising)")
	}
	return nil
}
