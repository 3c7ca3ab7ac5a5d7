package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/servercert"
)

// TestDefaultTLSGradesAPlus grades the server's default TLS configuration
// with the project's own grader: A+, with no cap (no CBC suites with SHA-1
// MACs, no key exchange without forward secrecy, no old protocol).
func TestDefaultTLSGradesAPlus(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := servercert.Grade(ctx, servercert.GradeRequest{Address: strings.TrimPrefix(s.base, "https://"), Roots: s.caPool})
	require.NoError(t, err)
	assert.Equal(t, "A+", rep.Grade, rep.Text())
	assert.Empty(t, rep.Caps, rep.Text())
}
