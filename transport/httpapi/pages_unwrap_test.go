package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPagesResponseController: a page handler under Pages reaches the
// connection through http.NewResponseController, so that one taking a
// large upload or sending a large download can extend the server's
// deadlines.
func TestPagesResponseController(t *testing.T) {
	got := make(chan error, 2)
	h := Pages(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		got <- rc.SetReadDeadline(time.Now().Add(time.Minute))
		got <- rc.SetWriteDeadline(time.Now().Add(time.Minute))
	}), slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/page")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.NoError(t, <-got, "read deadline")
	require.NoError(t, <-got, "write deadline")
}
