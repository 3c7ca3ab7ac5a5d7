package csc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// version is a face of the API: CSC v2 (v2.0.0.2) or the v1.0.4 aliases.
type version int

const (
	v2 version = 2
	v1 version = 1
)

func (v version) prefix() string {
	if v == v1 {
		return "/csc/v1"
	}
	return "/csc/v2"
}

// access is what a route requires of the caller.
type access int

const (
	public     access = iota // info, the OpenAPI document, the OAuth 2.0 endpoints (which authenticate clients themselves)
	service                  // service authorization: a host credential or a service access token
	credential               // service authorization or a credential access token for the named credential
)

// route is one operation of the handler. The OpenAPI document lists
// exactly these (a test checks both directions).
type route struct {
	method, path string
	access       access
	in, out      func() any // body and answer types, for the OpenAPI checks; nil: none
	serve        func(s *server, w http.ResponseWriter, r *http.Request, c *caller)
}

// Handler serves the CSC API v2 under /csc/v2/ and its v1.0.4 aliases
// under /csc/v1/ over api: info, credentials/list, credentials/info,
// credentials/getChallenge (v1: credentials/sendOTP), credentials/authorize,
// credentials/extendTransaction, signatures/signHash and the OAuth 2.0
// authorization server (oauth2/authorize with its signing page,
// oauth2/pushed_authorize, oauth2/token, oauth2/revoke). Mount it at "/csc/".
func Handler(api roamsign.API, opts Options) http.Handler {
	o := opts.withDefaults()
	s := &server{api: api, opts: o, clients: map[string]*OAuthClient{}, mux: http.NewServeMux()}
	st := o.State
	if st == nil {
		st = newMemState()
	}
	s.sads = &table[*grant]{kind: "csc-sad", enc: encGrant, dec: decGrant}
	s.tokens = &table[*serviceToken]{kind: "csc-token", enc: encServiceToken, dec: decServiceToken}
	s.pending = &table[*pendingChallenge]{kind: "csc-challenge", enc: encPending, dec: decPending}
	s.pages = &table[*pageSession]{kind: "csc-page", enc: encPage, dec: s.decPage}
	s.codes = &table[*authCode]{kind: "csc-code", enc: encAuthCode, dec: s.decAuthCode}
	s.pushed = &table[*authzRequest]{kind: "csc-par", enc: encAuthz, dec: s.decAuthz}
	setTable(s.sads, st, o)
	setTable(s.tokens, st, o)
	setTable(s.pending, st, o)
	setTable(s.pages, st, o)
	setTable(s.codes, st, o)
	setTable(s.pushed, st, o)
	if lb, ok := api.(LateBinder); ok && o.Policy == PolicyCompatible {
		s.late = lb
	} else if o.Policy == PolicyCompatible {
		o.Logger.Warn("csc: the compatible policy needs an API with late binding; getChallenge without hashes stays refused")
	}
	for i := range o.Clients {
		c := o.Clients[i]
		s.clients[c.ID] = &c
	}
	s.routes = allRoutes()
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	s.mux.HandleFunc("/", s.notFound)
	return s
}

func setTable[V any](t *table[V], st StateStore, o Options) {
	t.st, t.max, t.now, t.log = st, o.MaxRecords, o.Now, o.Logger
}

// server is the handler's state. Everything it keeps is short-lived and
// bounded (see table); the durable state is in the service.
type server struct {
	api     roamsign.API
	late    LateBinder // PolicyCompatible with an API that offers it; nil: strict
	opts    Options
	clients map[string]*OAuthClient
	routes  []route
	sads    *table[*grant]            // SADs and credential access tokens
	tokens  *table[*serviceToken]     // service access tokens
	pending *table[*pendingChallenge] // explicit flow: challenges by caller and credential
	pages   *table[*pageSession]      // signing pages awaiting PIN and OTP
	codes   *table[*authCode]         // authorization codes
	pushed  *table[*authzRequest]     // pushed authorization requests
	mux     *http.ServeMux
}

// caller is who sent a request: the host system, the OAuth client acting
// for it ("" for a host credential) and, for a credential access token,
// the grant it carries.
type caller struct {
	host   roamsign.HostID
	client string
	grant  *grant
	token  string // the credential access token that carries grant
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// wrap authenticates (as the route asks), applies limits, the timeout and
// panic recovery, and logs the request.
func (s *server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		var c *caller
		defer func() {
			if p := recover(); p != nil {
				s.opts.Logger.ErrorContext(r.Context(), "csc handler panic", "route", rt.path)
				if rec.status == 0 {
					writeError(rec, cscErr(http.StatusInternalServerError, ErrCodeServerError, "internal error"), 0)
				}
			}
			attrs := []any{"method", r.Method, "route", rt.path, "status", rec.status, "ms", time.Since(start).Milliseconds()}
			if c != nil {
				attrs = append(attrs, "host", string(c.host), "client", c.client)
			}
			s.opts.Logger.InfoContext(r.Context(), "csc request", attrs...)
		}()
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
		r.Body = http.MaxBytesReader(rec, r.Body, s.opts.MaxBodyBytes)
		if rt.access != public {
			var err error
			if c, err = s.authenticate(r); err != nil {
				writeError(rec, err, 0)
				return
			}
			r = r.WithContext(roamsign.WithHost(ctx, c.host))
		}
		rt.serve(s, rec, r, c)
	})
}

// authenticate finds the caller: an access token this handler issued, or
// else the host credential accepted by opts.Auth.
func (s *server) authenticate(r *http.Request) (*caller, error) {
	if tok, ok := bearer(r); ok {
		if st, ok := s.tokens.get(r.Context(), tok); ok {
			return &caller{host: st.host, client: st.client}, nil
		}
		if g, ok := s.sads.get(r.Context(), tok); ok && g.token {
			return &caller{host: g.host, client: g.client, grant: g, token: tok}, nil
		}
	}
	if s.opts.Auth == nil {
		return nil, cscErr(http.StatusUnauthorized, ErrCodeInvalidToken, "The access token is not valid")
	}
	h, err := s.opts.Auth.Authenticate(r)
	if err != nil {
		if r.Header.Get("Authorization") == "" && (r.TLS == nil || len(r.TLS.PeerCertificates) == 0) {
			return nil, cscErr(http.StatusUnauthorized, ErrCodeInvalidRequest, "Authorization required")
		}
		return nil, cscErr(http.StatusUnauthorized, ErrCodeInvalidToken, "The access token is not valid")
	}
	return &caller{host: h}, nil
}

// serviceScope refuses a credential access token where service
// authorization is needed.
func (c *caller) serviceScope() error {
	if c.grant != nil {
		return cscErr(http.StatusUnauthorized, ErrCodeInvalidToken, "A credential access token cannot be used for this method")
	}
	return nil
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):]), true
	}
	return "", false
}

// notFound answers unknown paths: a CSC method this service does not
// implement is 501, another method on a known path 405, anything else 404.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	for _, rt := range s.routes {
		if rt.path == r.URL.Path {
			w.Header().Set("Allow", rt.method)
			writeJSON(w, http.StatusMethodNotAllowed, badRequest("Method "+r.Method+" not allowed"))
			return
		}
	}
	for _, v := range []version{v1, v2} {
		if m, ok := strings.CutPrefix(r.URL.Path, v.prefix()+"/"); ok && knownMethod(m) {
			writeJSON(w, http.StatusNotImplemented, cscErr(http.StatusNotImplemented, ErrCodeInvalidRequest, "Method "+m+" is not implemented"))
			return
		}
	}
	writeJSON(w, http.StatusNotFound, cscErr(http.StatusNotFound, ErrCodeInvalidRequest, "No such endpoint"))
}

// knownMethod reports the CSC methods of v1.0.4 and v2.0.0.2.
func knownMethod(m string) bool {
	switch m {
	case "auth/login", "auth/revoke", "credentials/list", "credentials/info", "credentials/authorize",
		"credentials/authorizeCheck", "credentials/getChallenge", "credentials/sendOTP", "credentials/extendTransaction",
		"signatures/signHash", "signatures/signDoc", "signatures/signPolling", "signatures/timestamp",
		"oauth2/authorize", "oauth2/pushed_authorize", "oauth2/token", "oauth2/revoke":
		return true
	}
	return false
}

// decodeJSON reads r's JSON body into v. The body must be application/json
// and within the size limit; members the specification defines have
// types, unknown members are ignored (as OAuth 2.0 ignores unknown
// parameters), an empty body is an empty object.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return badRequest("Content-Type must be application/json")
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return cscErr(http.StatusRequestEntityTooLarge, ErrCodeInvalidRequest, "Request body too large")
		}
		return badRequest("Unreadable request body")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return badRequest("Missing (or invalid type) " + jsonKind(te.Type) + "parameter " + te.Field)
		}
		return badRequest("Malformed JSON body")
	}
	return nil
}

// jsonKind names the JSON type a parameter of Go type t has, as the error
// descriptions of the CSC API tables do ("Missing (or invalid type)
// integer parameter numSignatures"), followed by a space; "" when none
// fits.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return ""
	}
	switch t.Kind() {
	case reflect.String:
		return "string "
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer "
	case reflect.Bool:
		return "boolean "
	case reflect.Slice, reflect.Array:
		return "array "
	case reflect.Struct, reflect.Map:
		return "object "
	}
	return ""
}

// recorder remembers the status written.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// baseURL is the public URL of the handler for r.
func (s *server) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	return "https://" + r.Host
}
