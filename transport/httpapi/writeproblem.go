package httpapi

import "net/http"

// WriteProblem answers r with err as an RFC 9457 problem+json document,
// exactly as Handler does: the status from the error's kind (see
// [StatusOf]), the kind's stable code, and no detail for server-side
// failures. Hosts that serve their own pages next to the API use it so
// that one error format reaches their browsers.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	writeProblem(w, r, err, 0, "", 0)
}
