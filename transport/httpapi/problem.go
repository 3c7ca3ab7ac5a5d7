package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/roamsign/roamsign"
)

// ProblemType is the prefix of the RFC 9457 "type" member; the kind code
// follows it, for example "urn:roamsign:problem:locked".
const ProblemType = "urn:roamsign:problem:"

// Problem is an RFC 9457 problem details object as this API sends it. Code
// is the stable error kind code ([roamsign.Kind.Code]); clients branch on
// it, not on Detail. A Problem is also the cause inside the errors the
// client returns, so callers can read Status and RetryAfter with
// errors.As.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"requestId,omitempty"`
	// RetryAfter is the server's Retry-After, when it sent one (client side).
	RetryAfter time.Duration `json:"-"`
}

// Error describes the HTTP status.
func (p *Problem) Error() string { return "HTTP " + strconv.Itoa(p.Status) }

// StatusOf returns the HTTP status for an error kind.
func StatusOf(k roamsign.Kind) int {
	switch k {
	case roamsign.ErrInvalidInput:
		return http.StatusBadRequest
	case roamsign.ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	case roamsign.ErrUnauthenticated:
		return http.StatusUnauthorized
	case roamsign.ErrForbidden:
		return http.StatusForbidden
	case roamsign.ErrNotFound:
		return http.StatusNotFound
	case roamsign.ErrConflict, roamsign.ErrUsed:
		return http.StatusConflict
	case roamsign.ErrExpired:
		return http.StatusGone
	case roamsign.ErrAuthorization, roamsign.ErrInvalidSignature:
		return http.StatusUnprocessableEntity
	case roamsign.ErrLocked:
		return http.StatusLocked
	case roamsign.ErrRateLimited:
		return http.StatusTooManyRequests
	case roamsign.ErrUnavailable, roamsign.ErrClosed, roamsign.ErrDelivery:
		return http.StatusServiceUnavailable
	case roamsign.ErrUnsupported:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// kindOfStatus is the client's fallback when a response carries no known
// code (for example a proxy's error page).
func kindOfStatus(status int) roamsign.Kind {
	switch status {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusMethodNotAllowed:
		return roamsign.ErrInvalidInput
	case http.StatusRequestEntityTooLarge:
		return roamsign.ErrTooLarge
	case http.StatusUnauthorized:
		return roamsign.ErrUnauthenticated
	case http.StatusForbidden:
		return roamsign.ErrForbidden
	case http.StatusNotFound:
		return roamsign.ErrNotFound
	case http.StatusConflict:
		return roamsign.ErrConflict
	case http.StatusGone:
		return roamsign.ErrExpired
	case http.StatusUnprocessableEntity:
		return roamsign.ErrAuthorization
	case http.StatusLocked:
		return roamsign.ErrLocked
	case http.StatusTooManyRequests:
		return roamsign.ErrRateLimited
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return roamsign.ErrUnavailable
	case http.StatusNotImplemented:
		return roamsign.ErrUnsupported
	}
	return roamsign.ErrInternal
}

// retryAfterer is implemented by errors that know when to retry.
type retryAfterer interface{ RetryAfter() time.Duration }

// PublicDetail returns what a caller may be shown of err, in plain words:
// the message of the outermost [roamsign.Error] in its chain that has
// one, without the operation names and causes that err.Error() strings
// together (socket addresses, decoder texts, "service.Sign: otp.Check:
// …"), or the kind's generic text when no message is found. Problem
// details carry it for client errors (4xx); server-side failures (5xx)
// carry only the kind's generic text. The whole err belongs in the log,
// beside the request's correlation id.
func PublicDetail(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if re, ok := e.(*roamsign.Error); ok && re.Msg != "" {
			return re.Msg
		}
	}
	return problemKind(err).Error()
}

// Describe returns err as one line for a person at a command line: for an
// error with a kind, its [PublicDetail] with the stable code and, when the
// server answered with a problem, the request id under which the server
// logged the whole error, as in "the PIN or the OTP is wrong
// [authorization_failed; request 3f9c…]"; any other error (a local file
// that cannot be read, say) as its own text.
func Describe(err error) string {
	k := roamsign.KindOf(err)
	if k == roamsign.KindUnknown {
		return err.Error()
	}
	s := PublicDetail(err) + " [" + k.Code()
	var p *Problem
	if errors.As(err, &p) && p.RequestID != "" {
		s += "; request " + p.RequestID
	}
	return s + "]"
}

// problemKind is err's kind, ErrInternal when it has none.
func problemKind(err error) roamsign.Kind {
	if k := roamsign.KindOf(err); k != roamsign.KindUnknown {
		return k
	}
	return roamsign.ErrInternal
}

// writeProblem writes err as problem+json: the plain-words detail of
// [PublicDetail], and for server-side failures (5xx) only the generic kind
// text, so internals do not leak. When w is the request's recorder, err is
// kept for the request's log line.
func writeProblem(w http.ResponseWriter, r *http.Request, err error, status int, reqID string, retry time.Duration) {
	if rec, ok := w.(*recorder); ok {
		rec.err = err
	}
	k := problemKind(err)
	if status == 0 {
		status = StatusOf(k)
	}
	detail := PublicDetail(err)
	if status >= 500 {
		detail = k.Error()
	}
	p := Problem{
		Type: ProblemType + k.Code(), Title: k.Error(), Status: status, Detail: detail,
		Instance: r.URL.Path, Code: k.Code(), RequestID: reqID,
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		var ra retryAfterer
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			retry = ra.RetryAfter()
		}
		secs := int((retry + time.Second - 1) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}
