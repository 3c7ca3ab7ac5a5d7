package verify

import (
	"time"
)

// Verdict is the overall outcome of a verification. The zero value is not a
// verdict; every result carries one of the three constants.
type Verdict string

// The verdicts. Valid is returned only when every check passed; anything
// that could not be decided is Indeterminate, never Valid.
const (
	Valid         Verdict = "valid"
	Invalid       Verdict = "invalid"
	Indeterminate Verdict = "indeterminate"
)

// rank orders verdicts from best to worst.
func (v Verdict) rank() int {
	switch v {
	case Valid:
		return 0
	case Indeterminate:
		return 1
	default:
		return 2
	}
}

// worst returns the worse of two verdicts.
func worst(a, b Verdict) Verdict {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Check names. They are stable and meant for storage and display.
const (
	CheckFormat     = "format"     // the input parsed and has the required structure
	CheckDigest     = "digest"     // the content digest matches the signed one
	CheckAttributes = "attributes" // signed attributes (CMS) are present and consistent
	CheckSignature  = "signature"  // the cryptographic signature verifies
	CheckTimestamp  = "timestamp"  // the RFC 3161 timestamp token verifies
	CheckChain      = "chain"      // a path to a configured anchor exists at the trusted time
	CheckKeyUsage   = "key-usage"  // key usage and extended key usage allow signing
	CheckRevocation = "revocation" // no certificate of the path is revoked
	CheckByteRange  = "byte-range" // PDF: the signed ranges cover the file except the signature
	CheckIntegrity  = "integrity"  // PDF: nothing disallowed was changed after signing
)

// Check is the outcome of one rule.
type Check struct {
	Name    string  `json:"name"`
	Verdict Verdict `json:"verdict"`
	// SubIndication classifies a check that did not pass; empty when it
	// passed.
	SubIndication SubIndication `json:"subIndication,omitempty"`
	Reason        string        `json:"reason,omitempty"`
}

// Revocation status values.
const (
	RevGood    = "good"
	RevRevoked = "revoked"
	RevUnknown = "unknown"
	// RevNotChecked: revocation checking was turned off (RevocationOff).
	RevNotChecked = "not-checked"
)

// RevocationInfo reports the revocation status of one certificate.
type RevocationInfo struct {
	Subject string `json:"subject"`
	Serial  string `json:"serial"`
	// Status is RevGood, RevRevoked, RevUnknown or RevNotChecked.
	Status string `json:"status"`
	// Source is "crl", "delta-crl" or "ocsp": the kind of evidence that
	// decided; empty when unknown.
	Source string `json:"source,omitempty"`
	// Origin says where that evidence came from: OriginSupplied,
	// OriginSignature, OriginDSS, OriginDirectory or OriginFetched.
	Origin string `json:"origin,omitempty"`
	// URL is where the deciding CRL or OCSP response came from.
	URL string `json:"url,omitempty"`
	// Reason is the RFC 5280 reason name when revoked.
	Reason string `json:"reason,omitempty"`
	// RevokedAt is the revocation time when revoked.
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	// AfterSigningTime is true when the certificate was revoked after a
	// trusted (timestamped) signing time.
	AfterSigningTime bool `json:"afterSigningTime,omitempty"`
	// ProducedAt is the thisUpdate of the CRL (or OCSP response) used.
	ProducedAt *time.Time `json:"producedAt,omitempty"`
	// Detail explains an unknown status.
	Detail string `json:"detail,omitempty"`

	evidence [][]byte // DER of the deciding CRLs or OCSP response
}

// CertInfo identifies a certificate in a result.
type CertInfo struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
}

// Result is the outcome of verifying one signature. It marshals to JSON so
// a host can show and store it.
type Result struct {
	Verdict Verdict `json:"verdict"`
	// Indication and SubIndication are the machine-readable outcome
	// modelled on ETSI EN 319 102-1 (see [Indication]).
	Indication    Indication    `json:"indication"`
	SubIndication SubIndication `json:"subIndication,omitempty"`
	// Level is the signature's profile: LevelPKCS7, LevelCMS, LevelBB,
	// LevelBT, LevelBLT or LevelBLTA (ETSI EN 319 122-1 and EN 319 142-1;
	// see [Level]); empty for raw signatures, chains and document
	// timestamps.
	Level  Level   `json:"level,omitempty"`
	Checks []Check `json:"checks"`
	// Signer is the signing certificate, when it was found.
	Signer *CertInfo `json:"signer,omitempty"`
	// Chain lists the validated path, signer first, anchor last.
	Chain []CertInfo `json:"chain,omitempty"`
	// TrustedTime is the time the chain and revocation were evaluated at.
	TrustedTime time.Time `json:"trustedTime"`
	// TimeSource is TimeSourceTimestamp when TrustedTime comes from a
	// verified RFC 3161 token, else TimeSourceVerificationTime.
	TimeSource TimeSource `json:"timeSource"`
	// ClaimedSigningTime is the self-asserted signing-time attribute, shown
	// for information only; it is never used for validation.
	ClaimedSigningTime *time.Time `json:"claimedSigningTime,omitempty"`
	// Timestamp reports whether a timestamp token was present.
	TimestampPresent bool `json:"timestampPresent"`
	// Revocation holds one entry per certificate of the path below the anchor.
	Revocation []RevocationInfo `json:"revocation,omitempty"`
	// Policies are the certificate policies the path is valid for (RFC
	// 5280 section 6.1.5, the user-constrained policy set); "2.5.29.32.0"
	// (anyPolicy) when any.
	Policies []string `json:"policies,omitempty"`
	// Validation is the material that validated the signer: the path's
	// certificates and the deciding CRLs and OCSP responses, for a signer
	// that embeds what it validated. It is not part of the JSON form.
	Validation *ValidationData `json:"-"`

	lt *ltInfo // what the level rules read; nil for raw signatures and chains
}

// add records a check, with the default sub-indication of its name when it
// did not pass, and folds it into the overall outcome.
func (r *Result) add(name string, v Verdict, reason string) {
	r.addSub(name, v, "", reason)
}

// addSub records a check with an explicit sub-indication (empty: the
// default for the check's name) and folds it into the overall outcome.
func (r *Result) addSub(name string, v Verdict, sub SubIndication, reason string) {
	if v == Valid {
		sub = ""
	} else if sub == "" || (v == Indeterminate && sub.Indication() == IndicationFailed) {
		sub = defaultSub(name, v)
	}
	r.Checks = append(r.Checks, Check{Name: name, Verdict: v, SubIndication: sub, Reason: reason})
	if r.Verdict == "" {
		r.Verdict = v
	} else {
		r.Verdict = worst(r.Verdict, v)
	}
	r.fold(sub)
}

// fold updates the overall indication with one check's sub-indication:
// failed outranks indeterminate, and the first sub-indication of the
// winning kind is kept.
func (r *Result) fold(sub SubIndication) {
	if r.Indication == "" {
		r.Indication = IndicationPassed
	}
	if sub == "" {
		return
	}
	ind := sub.Indication()
	switch {
	case r.Indication == IndicationPassed,
		r.Indication == IndicationIndeterminate && ind == IndicationFailed:
		r.Indication, r.SubIndication = ind, sub
	}
}

// Failed reports the first check that did not pass, or nil.
func (r *Result) Failed() *Check {
	for i := range r.Checks {
		if r.Checks[i].Verdict != Valid {
			return &r.Checks[i]
		}
	}
	return nil
}

// Check returns the named check, or nil.
func (r *Result) Check(name string) *Check {
	for i := range r.Checks {
		if r.Checks[i].Name == name {
			return &r.Checks[i]
		}
	}
	return nil
}
