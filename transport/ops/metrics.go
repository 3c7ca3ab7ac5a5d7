package ops

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the Prometheus collectors of the HTTP layer and of the
// service's steps. Its ObserveRequest method satisfies
// httpapi.RequestMetrics and its ObserveStep method service.Metrics, so
// the same value can be injected into both.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	steps    *prometheus.HistogramVec
	gauges   sync.Mutex
}

// NewMetrics creates the collectors in a new registry, together with the
// Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roamsign_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roamsign_http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roamsign_step_seconds", Help: "Service step latency by step and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"step", "outcome"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.steps,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, to add collectors (for example the HSM
// session pool's gauges).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveStep records one service step (service.Metrics).
func (m *Metrics) ObserveStep(step, outcome string, d time.Duration) {
	m.steps.WithLabelValues(step, outcome).Observe(d.Seconds())
}

// GaugeFunc registers a gauge read from fn at scrape time (for example
// the HSM pool's idle and busy sessions).
func (m *Metrics) GaugeFunc(name, help string, fn func() float64) error {
	m.gauges.Lock()
	defer m.gauges.Unlock()
	return m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// ObserveRequest counts one HTTP request and its latency
// (httpapi.RequestMetrics).
func (m *Metrics) ObserveRequest(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}
