package httpapi

import "net/http"

// The two functions below let a host serve its own JSON endpoints next to
// the API (a signing page's back end, for example) with the API's rules:
// one error format and one request decoder.

// WriteProblem answers r with err as an RFC 9457 problem+json document,
// exactly as Handler does: the status from the error's kind (see
// [StatusOf]), the kind's stable code, and no detail for server-side
// failures.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	writeProblem(w, r, err, 0, "", 0)
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
