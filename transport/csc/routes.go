package csc

import (
	"context"
	"net/http"
)

// noContent marks methods that answer 204 No Content.
type noContent struct{}

// jsonFn is a JSON method: it reads In and answers Out (nil *noContent: 204).
type jsonFn[In, Out any] func(s *server, ctx context.Context, w http.ResponseWriter, c *caller, in *In) (*Out, error)

// jsonRoute makes a route of a JSON method.
func jsonRoute[In, Out any](path string, acc access, fn jsonFn[In, Out]) route {
	return route{
		method: http.MethodPost, path: path, access: acc,
		in:  func() any { return new(In) },
		out: func() any { return new(Out) },
		serve: func(s *server, w http.ResponseWriter, r *http.Request, c *caller) {
			in := new(In)
			if err := decodeJSON(r, in); err != nil {
				writeError(w, err, s.opts.RetryAfter)
				return
			}
			out, err := fn(s, r.Context(), w, c, in)
			if err != nil {
				if r.Context().Err() != nil && errorOf(err).Status == http.StatusInternalServerError {
					err = cscErr(http.StatusServiceUnavailable, ErrCodeTemporarilyUnavailable, "request timed out")
				}
				writeError(w, err, s.opts.RetryAfter)
				return
			}
			if _, empty := any(out).(*noContent); empty {
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			writeJSON(w, http.StatusOK, out)
		},
	}
}

// allRoutes is the handler's route table: CSC v2, the v1.0.4 aliases,
// the OAuth 2.0 endpoints of both and the OpenAPI document.
func allRoutes() []route {
	p2, p1 := v2.prefix(), v1.prefix()
	rs := []route{
		{method: http.MethodPost, path: p2 + "/info", access: public,
			in: func() any { return new(InfoRequest) }, out: func() any { return new(InfoResponse) },
			serve: func(s *server, w http.ResponseWriter, r *http.Request, _ *caller) {
				writeJSON(w, http.StatusOK, s.info(r))
			}},
		jsonRoute(p2+"/credentials/list", service, listV2),
		jsonRoute(p2+"/credentials/info", credential, credInfoV2),
		jsonRoute(p2+"/credentials/getChallenge", service, getChallengeV2),
		jsonRoute(p2+"/credentials/authorize", service, authorizeV2),
		jsonRoute(p2+"/credentials/extendTransaction", service, extendV2),
		jsonRoute(p2+"/signatures/signHash", credential, signHashV2),
		{method: http.MethodGet, path: p2 + "/openapi.json", access: public, serve: serveOpenAPI},
	}
	rs = append(rs, v1Routes(p1)...)
	for _, v := range []version{v2, v1} {
		rs = append(rs, oauthRoutes(v)...)
	}
	return rs
}
