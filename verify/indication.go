package verify

// Indication is the overall status of a validation, modelled on the main
// status indications of ETSI EN 319 102-1 (clause 5.1.3, table 4):
// passed (TOTAL-PASSED), failed (TOTAL-FAILED) or indeterminate
// (INDETERMINATE).
//
// An Indication is passed exactly when the [Verdict] is Valid, and failed
// only when the Verdict is Invalid. An Invalid verdict may come with an
// indeterminate indication: EN 319 102-1 calls a signature whose chain
// does not validate, or whose certificate is revoked or expired without a
// proof of existence before that time, indeterminate (more evidence could
// change the outcome), while this package, failing closed, calls it
// invalid.
type Indication string

// The indications.
const (
	IndicationPassed        Indication = "passed"
	IndicationFailed        Indication = "failed"
	IndicationIndeterminate Indication = "indeterminate"
)

// SubIndication says why a validation did not pass: the sub-indications
// of ETSI EN 319 102-1 (clause 5.1.3, table 5) that this package produces,
// written in lower case, plus SubRevocationNotChecked. Each belongs to one
// indication ([SubIndication.Indication]).
type SubIndication string

// Sub-indications of a failed validation.
const (
	// SubFormatFailure: the signature or document is not conformant to its
	// format (malformed CMS, missing signed attributes, a wrong
	// content-type, an unusable PDF byte range).
	SubFormatFailure SubIndication = "format_failure"
	// SubHashFailure: the signed data does not match the signed digest.
	SubHashFailure SubIndication = "hash_failure"
	// SubSigCryptoFailure: the signature value does not verify with the
	// signer's public key.
	SubSigCryptoFailure SubIndication = "sig_crypto_failure"
	// SubRevoked: the signing certificate was revoked before a proven
	// signing time (a timestamp).
	SubRevoked SubIndication = "revoked"
	// SubExpired: the signing certificate had expired at a proven signing
	// time (a timestamp).
	SubExpired SubIndication = "expired"
	// SubNotYetValid: a proven signing time is before the signing
	// certificate's notBefore.
	SubNotYetValid SubIndication = "not_yet_valid"
)

// Sub-indications of an indeterminate validation.
const (
	// SubSigConstraintsFailure: the signature does not meet the validation
	// constraints (a timestamp token that does not verify, CMS algorithm
	// protection that disagrees, a PDF modified after signing in a way its
	// permissions do not allow).
	SubSigConstraintsFailure SubIndication = "sig_constraints_failure"
	// SubChainConstraintsFailure: a path to an anchor exists but breaks a
	// rule of RFC 5280 path validation or the signing certificate's
	// constraints (key usage, basic constraints, name constraints,
	// policies, path length, unknown critical extensions).
	SubChainConstraintsFailure SubIndication = "chain_constraints_failure"
	// SubCertificateChainGeneralFailure: the certificates of a path are
	// unusable for another reason (a certificate signature that does not
	// verify).
	SubCertificateChainGeneralFailure SubIndication = "certificate_chain_general_failure"
	// SubCryptoConstraintsFailure: an algorithm or key is not accepted
	// (SHA-1, DSA, short RSA keys, unknown algorithms).
	SubCryptoConstraintsFailure SubIndication = "crypto_constraints_failure"
	// SubNoSigningCertificateFound: the signer's certificate is missing or
	// does not match the ESS signing-certificate attribute.
	SubNoSigningCertificateFound SubIndication = "no_signing_certificate_found"
	// SubNoCertificateChainFound: no path leads to a configured anchor.
	SubNoCertificateChainFound SubIndication = "no_certificate_chain_found"
	// SubRevokedNoPOE: the signing certificate is revoked and no proof of
	// existence (timestamp) shows the signature was made before.
	SubRevokedNoPOE SubIndication = "revoked_no_poe"
	// SubRevokedCANoPOE: a CA certificate of the path is revoked.
	SubRevokedCANoPOE SubIndication = "revoked_ca_no_poe"
	// SubOutOfBoundsNoPOE: a certificate of the path is expired or not yet
	// valid at the validation time and no proof of existence helps.
	SubOutOfBoundsNoPOE SubIndication = "out_of_bounds_no_poe"
	// SubTryLater: revocation status could not be determined (no fresh
	// CRL or OCSP response, a server that did not answer).
	SubTryLater SubIndication = "try_later"
	// SubSignedDataNotFound: the signed content could not be read.
	SubSignedDataNotFound SubIndication = "signed_data_not_found"
	// SubRevocationNotChecked is this package's own: revocation checking
	// was turned off by configuration (RevocationOff), so the result
	// cannot pass.
	SubRevocationNotChecked SubIndication = "revocation_not_checked"
)

// Indication returns the indication a sub-indication belongs to.
func (s SubIndication) Indication() Indication {
	switch s {
	case "":
		return IndicationPassed
	case SubFormatFailure, SubHashFailure, SubSigCryptoFailure, SubRevoked, SubExpired, SubNotYetValid:
		return IndicationFailed
	}
	return IndicationIndeterminate
}

// SubIndications lists every sub-indication, failed ones first.
func SubIndications() []SubIndication {
	return []SubIndication{
		SubFormatFailure, SubHashFailure, SubSigCryptoFailure, SubRevoked, SubExpired, SubNotYetValid,
		SubSigConstraintsFailure, SubChainConstraintsFailure, SubCertificateChainGeneralFailure,
		SubCryptoConstraintsFailure, SubNoSigningCertificateFound, SubNoCertificateChainFound,
		SubRevokedNoPOE, SubRevokedCANoPOE, SubOutOfBoundsNoPOE, SubTryLater, SubSignedDataNotFound,
		SubRevocationNotChecked,
	}
}

// defaultSub is the sub-indication of a check that did not pass and was
// recorded without one.
func defaultSub(check string, v Verdict) SubIndication {
	invalid := v == Invalid
	switch check {
	case CheckFormat, CheckAttributes, CheckByteRange:
		if invalid {
			return SubFormatFailure
		}
	case CheckDigest:
		if invalid {
			return SubHashFailure
		}
		return SubSignedDataNotFound
	case CheckSignature:
		if invalid {
			return SubSigCryptoFailure
		}
	case CheckChain, CheckKeyUsage:
		return SubChainConstraintsFailure
	case CheckRevocation:
		if invalid {
			return SubRevokedNoPOE
		}
		return SubTryLater
	}
	return SubSigConstraintsFailure
}

// Level is the profile a signature reaches. A baseline level is reported
// by what the signature proves, not by what it claims: each level needs
// the one before it.
type Level string

// Levels.
const (
	// LevelPKCS7: a SignerInfo without signed attributes (legacy
	// adbe.pkcs7.detached); not a CAdES or PAdES baseline signature.
	LevelPKCS7 Level = "pkcs7"
	// LevelCMS: signed attributes without an ESS signing-certificate(-v2)
	// attribute, a detached or attached CMS signature without the
	// signing-time attribute CAdES-B-B requires (EN 319 122-1), or a PDF
	// signature that is not PAdES baseline (EN 319
	// 142-1 clause 6.3): its /SubFilter is not ETSI.CAdES.detached, it has
	// no /M, or its CMS has a signing-time attribute; not a baseline
	// signature.
	LevelCMS Level = "cms"
	// LevelBB: CAdES-B-B / PAdES-B-B (ETSI EN 319 122-1, EN 319 142-1).
	LevelBB Level = "B-B"
	// LevelBT: B-B with a valid signature timestamp, or (PAdES) a valid
	// document timestamp covering the signature.
	LevelBT Level = "B-T"
	// LevelBLT: B-T whose validation material is in the signature or the
	// document's /DSS: the certificates of the signer's path and of the
	// path of the timestamp's authority (below the trust anchor) and the
	// CRLs or OCSP responses that decided their status.
	LevelBLT Level = "B-LT"
	// LevelBLTA: (PAdES) B-LT with a valid document timestamp over a
	// revision whose /DSS holds that material.
	LevelBLTA Level = "B-LTA"
)
