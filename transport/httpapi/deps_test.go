package httpapi_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientImportsNoMetrics: a host that uses only the client (this
// package, or the example host client) pulls in no metrics library;
// Prometheus and protobuf come only with transport/ops.
func TestClientImportsNoMetrics(t *testing.T) {
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to list dependencies")
	for _, pkg := range []string{"github.com/roamsign/roamsign/transport/httpapi", "github.com/roamsign/roamsign/examples/hostclient"} {
		out, err := exec.Command(goBin, "list", "-deps", pkg).CombinedOutput()
		require.NoError(t, err, "%s", out)
		deps := strings.Fields(string(out))
		require.Contains(t, deps, pkg)
		for _, d := range deps {
			for _, heavy := range []string{"github.com/prometheus/", "google.golang.org/protobuf/"} {
				assert.False(t, strings.HasPrefix(d, heavy), "%s imports %s", pkg, d)
			}
		}
	}
	// The check can fail: the ops package does pull Prometheus in.
	out, err := exec.Command(goBin, "list", "-deps", "github.com/roamsign/roamsign/transport/ops").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "github.com/prometheus/client_golang/prometheus\n")
}
