// Package httpapi is the HTTP transport of [roamsign.API]: a server
// [Handler] (plus [AdminHandler]) and a [Client] that implements the same
// interface, so a host system is written once. Health, readiness and
// Prometheus metrics are in transport/ops, so a host that only uses the
// client imports none of them.
//
// # Overview
//
// Operations are JSON over HTTPS on versioned paths:
//
//	POST /v1/medium                        Medium
//	POST /v1/otp                           RequestOTP
//	POST /v1/sign                          Sign
//	GET  /v1/transactions/{transactionId}  Status
//	GET  /v1/openapi.json                  the OpenAPI 3.1 document (no auth)
//
// and, on the admin handler, POST /v1/admin/enrol, /chain, /pin,
// /pin/reset, /otp/clear, /devices and /disable. Errors are RFC 9457
// problem+json objects whose "code" is the stable [roamsign.Kind] code; [StatusOf]
// maps kinds to statuses (400, 401, 403, 404, 409, 410, 413, 415, 422,
// 423, 429, 501, 503, 500). The client maps them back, so
// errors.Is(err, roamsign.ErrLocked) works through HTTP, and exposes the
// status and Retry-After through [*Problem].
//
// # Configuration
//
// [Options] sets the authenticator (required), the body limit (1 MiB), the
// per-call timeout (60 s), the default Retry-After for 429 and 503 (5 s),
// the logger and the [RequestMetrics] (transport/ops.Metrics). The
// http.Server around the handler should set ReadHeaderTimeout, ReadTimeout
// and WriteTimeout as well ([NewServer] does).
//
// # Security
//
// Host systems authenticate with a client certificate verified by the TLS
// layer (host id = subject CN, or [HostAuth].CertHost) or with an API key
// ([APIKeys] keeps SHA-256 digests only and compares in constant time).
// Administrators use a separate handler and credential set. Request bodies
// are decoded strictly: unknown fields, object keys given twice (compared
// ignoring case, as encoding/json matches fields), trailing data,
// excessive nesting and bodies over the limit are refused before the API
// is called; the Content-Type must be application/json. PIN and OTP travel
// only in request bodies, through wire types of this package, and are
// never logged; the per-request log line holds method, route, status,
// duration, request id and host, and for a failure the stable code and the
// whole error. Problem details carry only the error's plain-words message
// ([PublicDetail]: no operation names, socket addresses or decoder texts)
// with the stable code and the request id, and for 5xx errors only the
// kind's generic text. A panic in a handler or a readiness check is
// logged with its value and stack. [NewServer] offers TLS 1.2 and 1.3
// with forward-secret AEAD suites only ([ModernCipherSuites]).
//
// # Concurrency
//
// Handlers and Client are safe for concurrent use.
package httpapi
