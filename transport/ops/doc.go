// Package ops serves a sign server's operational endpoints on an internal
// listener: /healthz (the process is alive), /readyz (named readiness
// checks such as an HSM session ping and a database ping) and /metrics
// (Prometheus).
//
// # Overview
//
// [Metrics] holds the Prometheus collectors of the HTTP layer (requests
// and latency per route, through transport/httpapi's Options.Metrics) and
// of the service's steps (service.Metrics), plus gauges registered at run
// time; [Handler] serves them with the readiness checks.
//
// It lives apart from transport/httpapi so that a host system that only
// needs httpapi.NewClient imports no metrics library: Prometheus and
// protobuf come in only with this package.
//
// # Security
//
// /readyz answers each check's name with "ok" or "fail", never the
// error's text; failures and recovered panics (value and stack) go to the
// log. Serve the handler on a listener that only operators reach.
//
// # Concurrency
//
// Handler and Metrics are safe for concurrent use.
package ops
