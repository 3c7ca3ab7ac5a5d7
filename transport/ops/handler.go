package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/roamsign/roamsign"
)

// Check is a readiness check, for example an HSM session ping or a
// database ping. It must honour ctx.
type Check func(ctx context.Context) error

// Options configure [Handler].
type Options struct {
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

// Handler serves /healthz (the process is alive), /readyz (every Ready
// check passes; 503 with the failing names otherwise) and /metrics
// (Prometheus). Serve it on a separate, internal listener.
func Handler(opts Options) http.Handler {
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
					if r.Context().Err() == nil { // not the prober hanging up
						opts.Logger.WarnContext(ctx, "readiness check failed", "check", n, "kind", roamsign.KindOf(err).Code(), "err", err)
					}
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
