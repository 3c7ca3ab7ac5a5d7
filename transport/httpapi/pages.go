package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/roamsign/roamsign"
)

// The functions below let a host serve its own JSON endpoints next to the
// API (a signing page's back end, for example) with the API's rules: one
// request log, one error format and one request decoder.

// Pages wraps a host's own endpoints as Handler wraps the API, without
// authentication: every request gets a request id (X-Request-ID, and the
// correlation id of its context), a recovered panic is logged with its
// value and stack and answered 500, and one log line per request records
// the route pattern, status, duration and, for an answer written with
// [WriteProblem], the whole error that the problem details leave out. A
// nil logger means slog.Default().
func Pages(h http.Handler, log *slog.Logger) http.Handler {
	opts := Options{Logger: log}.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		observe(w, r, opts, patternOf, func(rec *recorder, r *http.Request, _ *roamsign.HostID) {
			h.ServeHTTP(rec, r)
		})
	})
}

// patternOf names a page request by the ServeMux pattern that matched it,
// so ids in paths stay out of the log.
func patternOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return "unmatched"
}

// WriteProblem answers r with err as an RFC 9457 problem+json document,
// exactly as Handler does: the status from the error's kind (see
// [StatusOf]), the kind's stable code, the plain-words [PublicDetail]
// (nothing for server-side failures) and the request id. Under [Pages]
// the whole error goes to the request's log line.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	rid := requestID(r.Context())
	if rid == "" {
		rid = roamsign.CorrelationID(r.Context())
	}
	writeProblem(w, r, err, 0, rid, 0)
}

// DecodeJSON decodes r's body into v as Handler decodes requests: the
// Content-Type must be application/json, the body at most limit bytes
// (roamsign.ErrTooLarge beyond), exactly one JSON value with no unknown
// fields or trailing data (roamsign.ErrInvalidInput otherwise).
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if err := checkContentType(r); err != nil {
		return err
	}
	return decodeStrict(http.MaxBytesReader(w, r.Body, limit), v)
}
