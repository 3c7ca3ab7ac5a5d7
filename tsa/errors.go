package tsa

import (
	"fmt"
	"time"

	"github.com/roamsign/roamsign"
)

// Reason says why an attempt at one authority gave no token. A Reason is
// an error, so errors.Is(err, tsa.ReasonNonce) finds it in the error that
// [Client.Stamp] returns; its [Reason.Kind] is the roamsign kind callers
// branch on. Reasons are also the failure labels of [Observation].
type Reason string

// The reasons. Their text never changes once released.
const (
	// ReasonUnavailable: no HTTP answer (connection refused, DNS, TLS) or
	// HTTP 5xx.
	ReasonUnavailable Reason = "unavailable"
	// ReasonTimeout: no complete answer within Config.Timeout.
	ReasonTimeout Reason = "timeout"
	// ReasonQuota: the authority refused for quota (HTTP 429).
	ReasonQuota Reason = "quota"
	// ReasonLimited: not sent: the authority's configured quota is spent
	// or it is in back-off after a refusal.
	ReasonLimited Reason = "limited"
	// ReasonHTTP: an HTTP status other than 200, 429 or 5xx, or a reply
	// that is not application/timestamp-reply.
	ReasonHTTP Reason = "http_status"
	// ReasonOversize: the reply exceeds Config.MaxReplySize.
	ReasonOversize Reason = "oversize"
	// ReasonMalformed: the reply or its token does not parse.
	ReasonMalformed Reason = "malformed"
	// ReasonRejected: the PKIStatus is not granted (rejection, waiting,
	// revocation warning or notification).
	ReasonRejected Reason = "rejected"
	// ReasonNoToken: the status is granted but no token came with it.
	ReasonNoToken Reason = "no_token"
	// ReasonNonce: the token's nonce is not the request's.
	ReasonNonce Reason = "nonce"
	// ReasonImprint: the token's message imprint (algorithm or digest) is
	// not the request's.
	ReasonImprint Reason = "imprint"
	// ReasonPolicy: the token's policy is not the requested one.
	ReasonPolicy Reason = "policy"
	// ReasonTime: genTime is further from the local clock than
	// Config.MaxClockSkew.
	ReasonTime Reason = "time"
	// ReasonSignature: the token's CMS signature, content-type or
	// message-digest attribute does not verify.
	ReasonSignature Reason = "signature"
	// ReasonSigningCert: the signer's certificate is missing, or the ESS
	// signing-certificate attribute or the tsa name does not name it.
	ReasonSigningCert Reason = "signing_certificate"
	// ReasonNotTSA: the signer's certificate is not a time-stamping
	// certificate (RFC 3161 section 2.3: one critical extended key usage,
	// id-kp-timeStamping only).
	ReasonNotTSA Reason = "not_tsa"
	// ReasonChain: the caller's [ChainChecker] refused the TSA's path at
	// genTime.
	ReasonChain Reason = "chain"
)

// Reasons returns every reason, for metrics that pre-create their series.
func Reasons() []Reason {
	return []Reason{ReasonUnavailable, ReasonTimeout, ReasonQuota, ReasonLimited, ReasonHTTP, ReasonOversize,
		ReasonMalformed, ReasonRejected, ReasonNoToken, ReasonNonce, ReasonImprint, ReasonPolicy, ReasonTime,
		ReasonSignature, ReasonSigningCert, ReasonNotTSA, ReasonChain}
}

// Error returns the reason's text.
func (r Reason) Error() string { return "time-stamp " + string(r) }

// Kind maps the reason to a roamsign error kind: ErrRateLimited for quota
// and local limits, ErrInvalidSignature for a token that does not verify,
// ErrUnavailable for the rest (the authority did not give a usable answer).
func (r Reason) Kind() roamsign.Kind {
	switch r {
	case ReasonQuota, ReasonLimited:
		return roamsign.ErrRateLimited
	case ReasonNonce, ReasonImprint, ReasonPolicy, ReasonTime, ReasonSignature, ReasonSigningCert, ReasonNotTSA, ReasonChain:
		return roamsign.ErrInvalidSignature
	}
	return roamsign.ErrUnavailable
}

// Error is the failure of one attempt at one authority. errors.Is matches
// its Reason and the Reason's roamsign kind.
type Error struct {
	// TSA is the authority's URL.
	TSA    string
	Reason Reason
	// Status is the HTTP status, 0 when none was received.
	Status int
	// RetryAfter is how long the authority may not be asked again (quota,
	// back-off), zero when it may be asked at once.
	RetryAfter time.Duration
	// Msg details the failure; Err is the underlying cause, may be nil.
	Msg string
	Err error
}

// Error formats the failure as "tsa <url>: <reason>: <msg>: <cause>".
func (e *Error) Error() string {
	s := fmt.Sprintf("tsa %s: %s", e.TSA, string(e.Reason))
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the Reason and its roamsign kind.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case Reason:
		return t == e.Reason
	case roamsign.Kind:
		return t == e.Reason.Kind()
	}
	return false
}
