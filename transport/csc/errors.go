package csc

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/roamsign/roamsign"
)

// The error codes of the CSC API error table (section 10.2) and of OAuth
// 2.0 (RFC 6749 section 5.2) that this package sends.
const (
	ErrCodeInvalidRequest         = "invalid_request"
	ErrCodeInvalidGrant           = "invalid_grant"
	ErrCodeInvalidClient          = "invalid_client"
	ErrCodeUnauthorizedClient     = "unauthorized_client"
	ErrCodeAccessDenied           = "access_denied"
	ErrCodeUnsupportedRespType    = "unsupported_response_type"
	ErrCodeUnsupportedGrantType   = "unsupported_grant_type"
	ErrCodeInvalidScope           = "invalid_scope"
	ErrCodeServerError            = "server_error"
	ErrCodeTemporarilyUnavailable = "temporarily_unavailable"
	ErrCodeExpiredToken           = "expired_token"
	ErrCodeInvalidToken           = "invalid_token"
	// ErrCodeInvalidAuthData answers credentials/authorize with a wrong
	// PIN or OTP (v2); which factor failed is never said.
	ErrCodeInvalidAuthData = "invalid_authentication_data"
)

// Error is a CSC error response: the HTTP status and the body members
// "error" and "error_description". The client returns it (wrapped in a
// [*roamsign.Error] of a matching kind) for every non-2xx answer.
type Error struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration `json:"-"`
}

// Error describes the CSC error.
func (e *Error) Error() string {
	s := "csc: " + strconv.Itoa(e.Status) + " " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// cscErr builds an error answer with the given status and code.
func cscErr(status int, code, desc string) *Error {
	return &Error{Status: status, Code: code, Description: desc}
}

// badRequest is the most common answer of the specification's tables:
// 400 invalid_request with a description.
func badRequest(desc string) *Error {
	return cscErr(http.StatusBadRequest, ErrCodeInvalidRequest, desc)
}

// errorOf maps an error from the API (or one built here) to the answer.
// Kinds map to the statuses the specification names: request problems
// are 400 invalid_request, authentication problems 401, overload 429 and
// 503, anything else 500 server_error without detail.
func errorOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	desc := ""
	var re *roamsign.Error
	if errors.As(err, &re) {
		desc = re.Msg
	}
	switch k := roamsign.KindOf(err); k {
	case roamsign.ErrInvalidInput, roamsign.ErrTooLarge, roamsign.ErrConflict, roamsign.ErrUnsupported:
		return badRequest(desc)
	case roamsign.ErrNotFound:
		return badRequest("Invalid parameter credentialID")
	case roamsign.ErrForbidden:
		return badRequest("The credential is disabled or not usable: " + desc)
	case roamsign.ErrUnauthenticated:
		return cscErr(http.StatusUnauthorized, ErrCodeInvalidToken, "The access token is not valid")
	case roamsign.ErrAuthorization:
		return cscErr(http.StatusBadRequest, ErrCodeInvalidAuthData, "The authentication data is invalid")
	case roamsign.ErrLocked:
		return badRequest("Credential locked")
	case roamsign.ErrExpired:
		return badRequest("The OTP has expired; request a new one")
	case roamsign.ErrUsed:
		return badRequest("The OTP was already used; request a new one")
	case roamsign.ErrRateLimited:
		return cscErr(http.StatusTooManyRequests, ErrCodeTemporarilyUnavailable, "Too many requests")
	case roamsign.ErrUnavailable, roamsign.ErrDelivery, roamsign.ErrClosed:
		return cscErr(http.StatusServiceUnavailable, ErrCodeTemporarilyUnavailable, k.Error())
	}
	return cscErr(http.StatusInternalServerError, ErrCodeServerError, "internal error")
}

// writeError answers with err as the specification's JSON error body.
func writeError(w http.ResponseWriter, err error, retry time.Duration) {
	e := errorOf(err)
	h := w.Header()
	if e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable {
		secs := int((retry + time.Second - 1) / time.Second)
		if secs < 1 {
			secs = 1
		}
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="csc", error="`+e.Code+`"`)
	}
	writeJSON(w, e.Status, e)
}

// writeJSON answers with v as JSON; nothing about it may be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// kindOfError maps an answer back to a roamsign kind on the client side.
func kindOfError(e *Error) roamsign.Kind {
	switch {
	case e.Code == ErrCodeInvalidAuthData || e.Code == "invalid_pin" || e.Code == "invalid_otp" || e.Code == ErrCodeAccessDenied:
		return roamsign.ErrAuthorization
	case e.Code == ErrCodeInvalidGrant:
		return roamsign.ErrAuthorization
	case e.Status == http.StatusUnauthorized || e.Code == ErrCodeInvalidToken || e.Code == ErrCodeExpiredToken || e.Code == ErrCodeInvalidClient:
		return roamsign.ErrUnauthenticated
	case e.Status == http.StatusTooManyRequests:
		return roamsign.ErrRateLimited
	case e.Status == http.StatusServiceUnavailable:
		return roamsign.ErrUnavailable
	case e.Status == http.StatusNotImplemented:
		return roamsign.ErrUnsupported
	case e.Status >= 500:
		return roamsign.ErrInternal
	}
	return roamsign.ErrInvalidInput
}
