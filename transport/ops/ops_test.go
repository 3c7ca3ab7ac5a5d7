package ops_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/leakcheck"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/transport/httpapi"
	"github.com/roamsign/roamsign/transport/ops"
)

// Metrics serves both the HTTP layer and the service.
var (
	_ httpapi.RequestMetrics = (*ops.Metrics)(nil)
	_ service.Metrics        = (*ops.Metrics)(nil)
)

func TestOpsHandler(t *testing.T) {
	m := ops.NewMetrics()
	m.ObserveStep("sign", "ok", time.Millisecond)
	healthy := true
	srv := httptest.NewServer(ops.Handler(ops.Options{Metrics: m, Ready: map[string]ops.Check{
		"db": func(context.Context) error { return nil },
		"hsm": func(context.Context) error {
			if healthy {
				return nil
			}
			return errors.New("session closed")
		},
	}}))
	defer srv.Close()
	get := func(p string) (int, string) {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := get("/healthz"); st != 200 {
		t.Fatalf("healthz %d", st)
	}
	if st, b := get("/readyz"); st != 200 || !strings.Contains(b, `"hsm":"ok"`) {
		t.Fatalf("readyz %d %s", st, b)
	}
	healthy = false
	if st, b := get("/readyz"); st != 503 || !strings.Contains(b, `"hsm":"fail"`) || strings.Contains(b, "session closed") {
		t.Fatalf("readyz when HSM down: %d %s", st, b)
	}
	if st, b := get("/metrics"); st != 200 || !strings.Contains(b, `roamsign_step_seconds_count{outcome="ok",step="sign"} 1`) {
		t.Fatalf("metrics %d %s", st, b)
	}
}

// TestReadinessPanicIsLogged: a panic recovered in a readiness check is
// logged with its value and stack, and the check fails.
func TestReadinessPanicIsLogged(t *testing.T) {
	var opsLogs leakcheck.Buffer
	srv := httptest.NewServer(ops.Handler(ops.Options{Logger: opsLogs.Logger(), Ready: map[string]ops.Check{
		"hsm": func(context.Context) error { panic("session pool bug 9917") },
	}}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, string(body), `"hsm":"fail"`)
	assert.Contains(t, opsLogs.String(), "session pool bug 9917")
	assert.Contains(t, opsLogs.String(), "TestReadinessPanicIsLogged", "the stack names the panicking check")
	assert.NotContains(t, opsLogs.String(), "context canceled")
}
