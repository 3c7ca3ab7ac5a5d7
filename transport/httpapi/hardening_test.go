package httpapi_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/leakcheck"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// post sends body to path and returns the status, the decoded problem and
// the raw body.
func post(t *testing.T, h http.Handler, path, body string) (int, httpapi.Problem, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var p httpapi.Problem
	if rec.Code >= 300 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), rec.Body.String())
		require.Equal(t, rec.Header().Get("X-Request-ID"), p.RequestID, "the problem carries the correlation id")
	}
	return rec.Code, p, rec.Body.String()
}

// TestProblemDetailsCarryNoInternals: a problem's detail is the error's
// plain message and its stable code, never the operation names, socket
// addresses or decoder texts of the error chain; those go to the log line
// of the request, with the same correlation id.
func TestProblemDetailsCarryNoInternals(t *testing.T) {
	socket := errors.New("read tcp 127.0.0.1:5432->127.0.0.1:40312: i/o timeout")
	cases := []struct {
		name     string
		err      error
		body     string
		detail   string
		internal []string
	}{
		{"nested operations", roamsign.Wrap(roamsign.ErrAuthorization, "service.Sign",
			roamsign.E(roamsign.ErrAuthorization, "otp.Check", "the PIN or the OTP is wrong"), ""),
			`{"user":"900101145678"}`, "the PIN or the OTP is wrong", []string{"service.Sign", "otp.Check"}},
		{"socket address in the cause", roamsign.Wrap(roamsign.ErrNotFound, "medium.Lookup", socket, "the directory does not know this user"),
			`{"user":"900101145678"}`, "the directory does not know this user", []string{"127.0.0.1", "i/o timeout", "medium.Lookup"}},
		{"message only in the cause", roamsign.Wrap(roamsign.ErrLocked, "service.Sign", roamsign.E(roamsign.ErrLocked, "store.AddPINFailure", "PIN locked"), ""),
			`{"user":"900101145678"}`, "PIN locked", []string{"store.AddPINFailure", "service.Sign"}},
		{"unknown field", nil, `{"user":"900101145678","extra":1}`, `malformed JSON body: unknown field "extra"`, []string{"json:", "httpapi.decode"}},
		{"wrong type", nil, `{"user":5}`, "malformed JSON body", []string{"json:", "Go value", "httpapi.decode"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs leakcheck.Buffer
			h := httpapi.Handler(kindAPI{tc.err}, httpapi.Options{Auth: staticAuth("h"), Logger: logs.Logger()})
			status, p, raw := post(t, h, httpapi.PathMedium, tc.body)
			require.GreaterOrEqual(t, status, 400)
			assert.Contains(t, p.Detail, tc.detail)
			for _, in := range tc.internal {
				assert.NotContains(t, raw, in, "the problem shows an internal")
			}
			want := roamsign.ErrInvalidInput
			if tc.err != nil {
				want = roamsign.KindOf(tc.err)
			}
			assert.Equal(t, want.Code(), p.Code)

			// The log line of the request has the whole error under the
			// same correlation id.
			var line map[string]any
			for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				if strings.Contains(l, `"msg":"http request"`) {
					require.NoError(t, json.Unmarshal([]byte(l), &line))
				}
			}
			require.NotNil(t, line, "no request log line:\n%s", logs.String())
			assert.Equal(t, p.RequestID, line["request_id"])
			assert.Equal(t, p.Code, line["code"])
			if tc.err != nil {
				assert.Equal(t, tc.err.Error(), line["err"], "the log keeps the whole error")
			}
		})
	}

	// The client returns the plain detail too.
	srv := httptest.NewServer(httpapi.Handler(kindAPI{cases[1].err}, httpapi.Options{Auth: staticAuth("h"), Logger: discard()}))
	defer srv.Close()
	c, err := httpapi.NewClient(srv.URL, httpapi.ClientOptions{})
	require.NoError(t, err)
	_, err = c.Medium(context.Background(), roamsign.MediumRequest{User: "900101145678"})
	require.ErrorIs(t, err, roamsign.ErrNotFound)
	assert.Equal(t, "the directory does not know this user", httpapi.PublicDetail(err))
	assert.NotContains(t, err.Error(), "127.0.0.1")
}

// TestDuplicateKeysRefused: an object that names a key twice (in any
// letter case, since encoding/json matches fields ignoring case) is
// refused, so the server never reads another value than a proxy that
// keeps the first.
func TestDuplicateKeysRefused(t *testing.T) {
	h := httpapi.Handler(okAPI{}, httpapi.Options{Auth: staticAuth("h"), Logger: discard()})
	hash := `{"algorithm":"SHA-256","value":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}`
	for name, body := range map[string]string{
		"same key":           `{"user":"900101145678","user":"850715015123"}`,
		"other letter case":  `{"user":"900101145678","User":"850715015123"}`,
		"escaped spelling":   `{"user":"900101145678","\u0075ser":"850715015123"}`,
		"long s folds to s":  `{"challengeId":"c1","hashes":[` + hash + `],"hashe\u017f":[]}`,
		"in a nested object": `{"challengeId":"c1","hashes":[` + hash + `,{"algorithm":"SHA-256","algorithm":"SHA-512","value":"AA=="}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := httpapi.PathMedium
			if strings.Contains(body, "hashes") {
				path = httpapi.PathSign
			}
			status, p, _ := post(t, h, path, body)
			require.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "invalid_input", p.Code)
			assert.Contains(t, p.Detail, "given twice")
		})
	}
	// The same key in sibling objects is no repeat.
	status, _, raw := post(t, h, httpapi.PathSign, strings.Replace(validSign, `"hashes":[`, `"hashes":[`+hash+`,`, 1))
	assert.Equal(t, http.StatusOK, status, raw)
}

// panicAPI panics in Medium.
type panicAPI struct{ kindAPI }

func (panicAPI) Medium(context.Context, roamsign.MediumRequest) (*roamsign.MediumResponse, error) {
	panic("directory adapter bug 7431")
}

// TestPanicsAreLogged: a panic recovered in the handler is logged with its
// value and stack, and answered as a failure (transport/ops tests the
// readiness checks).
func TestPanicsAreLogged(t *testing.T) {
	var logs leakcheck.Buffer
	h := httpapi.Handler(panicAPI{}, httpapi.Options{Auth: staticAuth("h"), Logger: logs.Logger()})
	status, p, _ := post(t, h, httpapi.PathMedium, `{"user":"900101145678"}`)
	assert.Equal(t, http.StatusInternalServerError, status)
	assert.NotContains(t, p.Detail, "7431", "the panic value reached the caller")
	assert.Contains(t, logs.String(), "directory adapter bug 7431")
	assert.Contains(t, logs.String(), "panicAPI.Medium", "the stack names the panicking function")

}

// TestNewServerModernSuites: the default TLS 1.2 suites are ECDHE with
// AEAD ciphers only (no CBC with SHA-1, no RSA key exchange); a
// configuration that names its suites keeps them.
func TestNewServerModernSuites(t *testing.T) {
	s := httpapi.NewServer(":0", http.NotFoundHandler(), &tls.Config{}, discard())
	require.NotEmpty(t, s.TLSConfig.CipherSuites)
	for _, id := range s.TLSConfig.CipherSuites {
		name := tls.CipherSuiteName(id)
		assert.True(t, strings.HasPrefix(name, "TLS_ECDHE_"), name)
		assert.True(t, strings.HasSuffix(name, "_GCM_SHA256") || strings.HasSuffix(name, "_GCM_SHA384") || strings.HasSuffix(name, "_POLY1305_SHA256"), name)
	}
	own := &tls.Config{CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}
	s = httpapi.NewServer(":0", http.NotFoundHandler(), own, discard())
	assert.Equal(t, own.CipherSuites, s.TLSConfig.CipherSuites)
	assert.Zero(t, own.MinVersion, "the caller's configuration was modified")
}

// TestPagesLogTheDetail: a host's own endpoints under Pages answer
// problems with the plain detail and a request id, and log the whole
// error under that id; a panic is logged with its stack.
func TestPagesLogTheDetail(t *testing.T) {
	var logs leakcheck.Buffer
	mux := http.NewServeMux()
	mux.HandleFunc("POST /demo/api/prepare/{doc}", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteProblem(w, r, roamsign.Wrap(roamsign.ErrInvalidInput, "pdf.Prepare",
			roamsign.E(roamsign.ErrInvalidInput, "pdfx.readXref", "the document's cross-reference table is damaged"), ""))
	})
	mux.HandleFunc("GET /demo/boom", func(http.ResponseWriter, *http.Request) { panic("page bug 5521") })
	h := httpapi.Pages(mux, logs.Logger())

	status, p, raw := post(t, h, "/demo/api/prepare/secret-doc-id", `{}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "the document's cross-reference table is damaged", p.Detail)
	assert.NotContains(t, raw, "pdfx.readXref")
	require.NotEmpty(t, p.RequestID)
	assert.Contains(t, logs.String(), `"request_id":"`+p.RequestID+`"`)
	assert.Contains(t, logs.String(), `pdf.Prepare: pdfx.readXref: the document's cross-reference table is damaged`)
	assert.Contains(t, logs.String(), `"route":"POST /demo/api/prepare/{doc}"`)
	assert.NotContains(t, logs.String(), "secret-doc-id", "the path's ids stay out of the log")

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/demo/boom", nil))
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Contains(t, logs.String(), "page bug 5521")
	assert.Contains(t, logs.String(), "TestPagesLogTheDetail")
}
