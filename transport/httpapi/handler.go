package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// Options configure [Handler] and [AdminHandler]. The zero value of each
// field means the documented default; Auth is required.
type Options struct {
	// Auth authenticates the caller. For Handler the identity is the host
	// system passed to the API with roamsign.WithHost; for AdminHandler it
	// is the administrator and must come from a separate credential set.
	Auth Authenticator
	// MaxBodyBytes limits request bodies; larger ones get 413. Default
	// 1 MiB (a batch of 1000 SHA-512 hashes is about 100 KiB).
	MaxBodyBytes int64
	// Timeout bounds each call to the API. Default 60 seconds.
	Timeout time.Duration
	// RetryAfter is sent with 429 and 503 when the error carries no hint.
	// Default 5 seconds.
	RetryAfter time.Duration
	// Logger receives one line per request (method, route, status,
	// duration, request id, host; never a body). Default slog.Default().
	Logger *slog.Logger
	// Metrics, when set, counts requests and latencies per route
	// (transport/ops.Metrics, with Prometheus).
	Metrics RequestMetrics
}

// RequestMetrics counts the requests a handler serves. transport/ops
// implements it with Prometheus; it lives there so that a host that only
// needs the client imports no metrics library.
type RequestMetrics interface {
	ObserveRequest(route string, status int, d time.Duration)
}

func (o Options) withDefaults() Options {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// The routes. Paths are in OpenAPI form; the OpenAPI document lists
// exactly these (a test checks both directions).
const (
	PathMedium      = "/v1/medium"
	PathOTP         = "/v1/otp"
	PathSign        = "/v1/sign"
	PathTransaction = "/v1/transactions/{transactionId}"
	PathOpenAPI     = "/v1/openapi.json"

	PathEnrol       = "/v1/admin/enrol"
	PathImportChain = "/v1/admin/chain"
	PathSetPIN      = "/v1/admin/pin"
	PathResetPIN    = "/v1/admin/pin/reset"
	PathClearOTP    = "/v1/admin/otp/clear"
	PathDevice      = "/v1/admin/devices"
	PathDisable     = "/v1/admin/disable"
)

// route is one operation: its method, path, and the Go types of its body
// and answer (used by the OpenAPI checks).
type route struct {
	method, path string
	in, out      func() any // nil: no body / 204
	public       bool       // served without authentication
}

var apiRoutes = []route{
	{method: "POST", path: PathMedium, in: func() any { return new(roamsign.MediumRequest) }, out: func() any { return new(roamsign.MediumResponse) }},
	{method: "POST", path: PathOTP, in: func() any { return new(roamsign.OTPRequest) }, out: func() any { return new(roamsign.OTPResponse) }},
	{method: "POST", path: PathSign, in: func() any { return new(signWire) }, out: func() any { return new(roamsign.SignResponse) }},
	{method: "GET", path: PathTransaction, out: func() any { return new(roamsign.StatusResponse) }},
	{method: "GET", path: PathOpenAPI, public: true},
}

var adminRoutes = []route{
	{method: "POST", path: PathEnrol, in: func() any { return new(roamsign.EnrolRequest) }, out: func() any { return new(roamsign.EnrolResponse) }},
	{method: "POST", path: PathImportChain, in: func() any { return new(roamsign.ImportChainRequest) }},
	{method: "POST", path: PathSetPIN, in: func() any { return new(setPINWire) }},
	{method: "POST", path: PathResetPIN, in: func() any { return new(resetPINWire) }},
	{method: "POST", path: PathClearOTP, in: func() any { return new(roamsign.ClearOTPBackoffRequest) }},
	{method: "POST", path: PathDevice, in: func() any { return new(roamsign.RegisterDeviceRequest) }},
	{method: "POST", path: PathDisable, in: func() any { return new(roamsign.DisableRequest) }},
}

// Handler serves api over HTTP: JSON bodies on versioned paths, RFC 9457
// problem+json errors, host authentication by opts.Auth, the OpenAPI
// document at /v1/openapi.json.
func Handler(api roamsign.API, opts Options) http.Handler {
	s := newServer(opts, apiRoutes)
	s.handle(PathMedium, jsonCall(s, api.Medium))
	s.handle(PathOTP, jsonCall(s, api.RequestOTP))
	s.handle(PathSign, jsonCall(s, func(ctx context.Context, w signWire) (*roamsign.SignResponse, error) {
		return api.Sign(ctx, w.request())
	}))
	s.handle(PathTransaction, func(w http.ResponseWriter, r *http.Request) {
		out, err := api.Status(r.Context(), roamsign.StatusRequest{TransactionID: r.PathValue("transactionId")})
		s.reply(w, r, out, err)
	})
	s.handle(PathOpenAPI, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(openAPIDocument)
	})
	return s
}

// AdminHandler serves the administration calls under /v1/admin/. Mount it
// on a separate listener or behind separate credentials: opts.Auth must
// accept administrators only.
func AdminHandler(admin roamsign.Admin, opts Options) http.Handler {
	s := newServer(opts, adminRoutes)
	s.handle(PathEnrol, jsonCall(s, admin.Enrol))
	s.handle(PathImportChain, jsonCall(s, noContent(admin.ImportChain)))
	s.handle(PathSetPIN, jsonCall(s, noContent(func(ctx context.Context, w setPINWire) error {
		return admin.SetPIN(ctx, roamsign.SetPINRequest{User: w.User, Old: roamsign.Secret(w.Old), New: roamsign.Secret(w.New)})
	})))
	s.handle(PathResetPIN, jsonCall(s, noContent(func(ctx context.Context, w resetPINWire) error {
		return admin.ResetPIN(ctx, roamsign.ResetPINRequest{User: w.User, New: roamsign.Secret(w.New)})
	})))
	s.handle(PathClearOTP, jsonCall(s, noContent(admin.ClearOTPBackoff)))
	s.handle(PathDevice, jsonCall(s, noContent(admin.RegisterDevice)))
	s.handle(PathDisable, jsonCall(s, noContent(admin.Disable)))
	return s
}

type server struct {
	opts   Options
	routes []route
	mux    *http.ServeMux
}

func newServer(opts Options, routes []route) *server {
	s := &server{opts: opts.withDefaults(), routes: routes, mux: http.NewServeMux()}
	s.mux.HandleFunc("/", s.notFound)
	return s
}

func (s *server) route(path string) route {
	for _, rt := range s.routes {
		if rt.path == path {
			return rt
		}
	}
	panic("httpapi: unknown route " + path)
}

func (s *server) handle(path string, h http.HandlerFunc) {
	rt := s.route(path)
	s.mux.Handle(rt.method+" "+rt.path, h)
}

type ctxKey int

const keyRequestID ctxKey = 0

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// ServeHTTP authenticates, applies limits and the timeout, dispatches and
// logs the request.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	observe(w, r, s.opts, s.routeName, func(rec *recorder, r *http.Request, host *roamsign.HostID) {
		ctx := r.Context()
		if r.URL.Path != PathOpenAPI {
			if s.opts.Auth == nil {
				writeProblem(rec, r, roamsign.E(roamsign.ErrUnauthenticated, "httpapi", "no authenticator configured"), 0, requestID(ctx), 0)
				return
			}
			h, err := s.opts.Auth.Authenticate(r)
			if err != nil {
				rec.Header().Set("WWW-Authenticate", `Bearer realm="roamsign"`)
				writeProblem(rec, r, err, http.StatusUnauthorized, requestID(ctx), 0)
				return
			}
			*host = h
			ctx = roamsign.WithHost(ctx, h)
		}
		ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
		r.Body = http.MaxBytesReader(rec, r.Body, s.opts.MaxBodyBytes)
		s.mux.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// observe runs serve for r with a request id — the caller's X-Request-ID
// when well formed, else a random one — answered in X-Request-ID and put
// in the context as the correlation id, and with a recorder as the
// writer. It recovers a panic (logged with its value and stack, answered
// 500), then counts the request in opts.Metrics and writes its log line.
// serve sets *host once the caller is authenticated.
func observe(w http.ResponseWriter, r *http.Request, opts Options, routeOf func(*http.Request) string, serve func(rec *recorder, r *http.Request, host *roamsign.HostID)) {
	start := time.Now()
	rid := r.Header.Get("X-Request-ID")
	if !validHostID(rid) {
		var b [12]byte
		_, _ = rand.Read(b[:])
		rid = hex.EncodeToString(b[:])
	}
	w.Header().Set("X-Request-ID", rid)
	rec := &recorder{ResponseWriter: w}
	r = r.WithContext(roamsign.WithCorrelationID(context.WithValue(r.Context(), keyRequestID, rid), rid))
	var host roamsign.HostID
	defer func() {
		if p := recover(); p != nil {
			opts.Logger.ErrorContext(r.Context(), "handler panic", "request_id", rid, "path", r.URL.Path,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if rec.status == 0 {
				writeProblem(rec, r, roamsign.E(roamsign.ErrInternal, "httpapi", "internal error"), 0, rid, 0)
			}
		}
		d := time.Since(start)
		route := routeOf(r)
		if opts.Metrics != nil {
			opts.Metrics.ObserveRequest(route, rec.status, d)
		}
		logRequest(opts.Logger, r, rec, route, d, rid, host)
	}()
	serve(rec, r, &host)
}

// logRequest writes the request's one log line: method, route, status,
// duration, request id and host, and for a failed request the whole error
// (what the problem details leave out), at level error for server-side
// failures. Errors never hold a PIN or OTP; bodies are never logged.
func logRequest(log *slog.Logger, r *http.Request, rec *recorder, route string, d time.Duration, rid string, host roamsign.HostID) {
	attrs := []any{"method", r.Method, "route", route, "status", rec.status, "ms", d.Milliseconds(), "request_id", rid, "host", string(host)}
	level := slog.LevelInfo
	if rec.err != nil {
		attrs = append(attrs, "code", problemKind(rec.err).Code(), "err", rec.err.Error())
	}
	if rec.status >= 500 {
		level = slog.LevelError
	}
	log.Log(r.Context(), level, "http request", attrs...)
}

// routeName names the route of r for logs and metrics.
func (s *server) routeName(r *http.Request) string {
	for _, rt := range s.routes {
		if rt.method == r.Method && matchPath(rt.path, r.URL.Path) {
			return rt.method + " " + rt.path
		}
	}
	return "unmatched"
}

// notFound answers unknown paths (404) and known paths with another
// method (405), both as problems.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, rt := range s.routes {
		if matchPath(rt.path, r.URL.Path) {
			allow = append(allow, rt.method)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, r, roamsign.E(roamsign.ErrInvalidInput, "httpapi", "method %s not allowed", r.Method), http.StatusMethodNotAllowed, requestID(r.Context()), 0)
		return
	}
	writeProblem(w, r, roamsign.E(roamsign.ErrNotFound, "httpapi", "no such endpoint"), 0, requestID(r.Context()), 0)
}

// matchPath matches an OpenAPI path template against a request path.
func matchPath(tmpl, path string) bool {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i := range ts {
		if strings.HasPrefix(ts[i], "{") {
			if ps[i] == "" {
				return false
			}
			continue
		}
		if ts[i] != ps[i] {
			return false
		}
	}
	return true
}

// jsonCall adapts call to a handler that checks the content type, decodes
// the body strictly and replies with the result.
func jsonCall[In, Out any](s *server, call func(context.Context, In) (Out, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := checkContentType(r); err != nil {
			s.fail(w, r, err, http.StatusUnsupportedMediaType)
			return
		}
		var in In
		if err := decodeStrict(r.Body, &in); err != nil {
			s.fail(w, r, err, 0)
			return
		}
		out, err := call(r.Context(), in)
		s.reply(w, r, out, err)
	}
}

// empty marks calls that answer 204 No Content.
type empty struct{}

func noContent[In any](call func(context.Context, In) error) func(context.Context, In) (*empty, error) {
	return func(ctx context.Context, in In) (*empty, error) {
		if err := call(ctx, in); err != nil {
			return nil, err
		}
		return nil, nil
	}
}

func checkContentType(r *http.Request) error {
	const op = "httpapi.contentType"
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return roamsign.E(roamsign.ErrInvalidInput, op, "Content-Type application/json required")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return roamsign.E(roamsign.ErrInvalidInput, op, "Content-Type must be application/json")
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return roamsign.E(roamsign.ErrInvalidInput, op, "unsupported Content-Type parameter")
		}
	}
	return nil
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error, status int) {
	writeProblem(w, r, err, status, requestID(r.Context()), s.opts.RetryAfter)
}

func (s *server) reply(w http.ResponseWriter, r *http.Request, out any, err error) {
	if err != nil {
		if r.Context().Err() != nil && roamsign.KindOf(err) == roamsign.KindUnknown {
			err = roamsign.Wrap(roamsign.ErrUnavailable, "httpapi", err, "request timed out")
		}
		s.fail(w, r, err, 0)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if e, ok := out.(*empty); ok && e == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(out)
}

// recorder remembers the status written and the error answered.
type recorder struct {
	http.ResponseWriter
	status int
	err    error
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.NewResponseController reach the connection through the
// recorder (a page that takes a large upload extends its read deadline).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}
