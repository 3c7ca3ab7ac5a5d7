package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roamsign/roamsign"
)

// Metrics holds the Prometheus collectors of the HTTP layer and of the
// service's steps. Its ObserveStep method satisfies service.Metrics, so the
// same value can be injected into the service.
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

func (m *Metrics) observeRequest(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Check is a readiness check, for example an HSM session ping or a
// database ping. It must honour ctx.
type Check func(ctx context.Context) error

// OpsOptions configure [OpsHandler].
type OpsOptions struct {
	// Ready lists the named checks of /readyz.
	Ready map[string]Check
	// Metrics, when set, is served at /metrics.
	Metrics *Metrics
	// CheckTimeout bounds each readiness check. Default 2 seconds.
	CheckTimeout time.Duration
	// Logger receives failed checks and recovered panics (with value and
	// stack). Default slog.Default().
	Logger *slog.Logger
}

// OpsHandler serves /healthz (the process is alive), /readyz (every Ready
// check passes; 503 with the failing names otherwise) and /metrics
// (Prometheus). Serve it on a separate, internal listener.
func OpsHandler(opts OpsOptions) http.Handler {
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		names := make([]string, 0, len(opts.Ready))
		for n := range opts.Ready {
			names = append(names, n)
		}
		sort.Strings(names)
		res := make(map[string]string, len(names))
		var mu sync.Mutex
		var wg sync.WaitGroup
		ok := true
		for _, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(r.Context(), opts.CheckTimeout)
				defer cancel()
				err := safeCheck(ctx, opts.Logger, n, opts.Ready[n])
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					opts.Logger.WarnContext(ctx, "readiness check failed", "check", n, "kind", roamsign.KindOf(err).Code(), "err", err)
					ok = false
					res[n] = "fail"
					return
				}
				res[n] = "ok"
			}()
		}
		wg.Wait()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": res})
	})
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Metrics.reg, promhttp.HandlerOpts{}))
	}
	return mux
}

// safeCheck runs c, turning a panic into a failed check that is logged
// with its value and stack.
func safeCheck(ctx context.Context, log *slog.Logger, name string, c Check) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.ErrorContext(ctx, "readiness check panic", "check", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = fmt.Errorf("readiness check %s panicked: %v", name, p)
		}
	}()
	return c(ctx)
}
