package csc_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// postJSON posts body to path with token and checks the status; it
// decodes the answer into out when out is not nil.
func postJSON(t *testing.T, e *env, token, path string, body any, status int, out any) http.Header {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	ans, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, status, resp.StatusCode, "POST %s: %s", path, ans)
	if out != nil {
		require.NoError(t, json.Unmarshal(ans, out), "%s", ans)
	}
	return resp.Header
}
