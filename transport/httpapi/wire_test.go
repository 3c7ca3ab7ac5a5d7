package httpapi_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// kindAPI fails every call with its error, to check the status mapping.
type kindAPI struct{ err error }

func (k kindAPI) Medium(context.Context, roamsign.MediumRequest) (*roamsign.MediumResponse, error) {
	return nil, k.err
}
func (k kindAPI) RequestOTP(context.Context, roamsign.OTPRequest) (*roamsign.OTPResponse, error) {
	return nil, k.err
}
func (k kindAPI) Sign(context.Context, roamsign.SignRequest) (*roamsign.SignResponse, error) {
	return nil, k.err
}
func (k kindAPI) Status(context.Context, roamsign.StatusRequest) (*roamsign.StatusResponse, error) {
	return nil, k.err
}

type staticAuth roamsign.HostID

func (s staticAuth) Authenticate(*http.Request) (roamsign.HostID, error) {
	return roamsign.HostID(s), nil
}

type retryErr struct{ e *roamsign.Error }

func (r retryErr) Error() string { return r.e.Error() }

func (r retryErr) Unwrap() error { return r.e }

func (retryErr) RetryAfter() time.Duration { return 42 * time.Second }

func TestEveryKindRoundTrips(t *testing.T) {
	want := map[roamsign.Kind]int{
		roamsign.ErrInvalidInput: 400, roamsign.ErrTooLarge: 413, roamsign.ErrUnauthenticated: 401,
		roamsign.ErrForbidden: 403, roamsign.ErrNotFound: 404, roamsign.ErrConflict: 409, roamsign.ErrUsed: 409,
		roamsign.ErrExpired: 410, roamsign.ErrAuthorization: 422, roamsign.ErrInvalidSignature: 422,
		roamsign.ErrLocked: 423, roamsign.ErrRateLimited: 429, roamsign.ErrUnavailable: 503,
		roamsign.ErrClosed: 503, roamsign.ErrDelivery: 503, roamsign.ErrUnsupported: 501, roamsign.ErrInternal: 500,
	}
	for _, k := range roamsign.Kinds() {
		t.Run(k.Code(), func(t *testing.T) {
			st, ok := want[k]
			if !ok {
				t.Fatalf("kind %s has no expected status in this test", k.Code())
			}
			if got := httpapi.StatusOf(k); got != st {
				t.Fatalf("StatusOf(%s) = %d, want %d", k.Code(), got, st)
			}
			srv := httptest.NewTLSServer(httpapi.Handler(kindAPI{roamsign.E(k, "test.Op", "failed with %s", k.Code())},
				httpapi.Options{Auth: staticAuth("h"), Logger: discard()}))
			defer srv.Close()
			c, _ := httpapi.NewClient(srv.URL, httpapi.ClientOptions{HTTPClient: srv.Client()})
			_, err := c.Medium(context.Background(), roamsign.MediumRequest{User: "900101145678"})
			if !errors.Is(err, k) {
				t.Fatalf("client error %v is not %s", err, k.Code())
			}
			var p *httpapi.Problem
			if !errors.As(err, &p) || p.Status != st || p.Code != k.Code() || p.Type != httpapi.ProblemType+k.Code() {
				t.Fatalf("problem %+v", p)
			}
			if st < 500 && !strings.Contains(err.Error(), "failed with "+k.Code()) {
				t.Fatalf("detail lost: %v", err)
			}
			if st >= 500 && strings.Contains(err.Error(), "failed with") {
				t.Fatalf("server detail leaked on %d: %v", st, err)
			}
			if (st == 429 || st == 503) && p.RetryAfter != 5*time.Second {
				t.Fatalf("Retry-After %v, want the 5 s default", p.RetryAfter)
			}
		})
	}
	t.Run("RetryAfterHint", func(t *testing.T) {
		srv := httptest.NewServer(httpapi.Handler(kindAPI{retryErr{roamsign.E(roamsign.ErrRateLimited, "t", "slow down")}},
			httpapi.Options{Auth: staticAuth("h"), Logger: discard()}))
		defer srv.Close()
		c, _ := httpapi.NewClient(srv.URL, httpapi.ClientOptions{})
		_, err := c.Sign(context.Background(), roamsign.SignRequest{})
		var p *httpapi.Problem
		if !errors.As(err, &p) || p.Status != 429 || p.RetryAfter != 42*time.Second {
			t.Fatalf("got %v %+v", err, p)
		}
	})
}

// okAPI answers every call, to reach the decoding layer.
type okAPI struct{ kindAPI }

func (okAPI) Sign(_ context.Context, r roamsign.SignRequest) (*roamsign.SignResponse, error) {
	if r.PIN.Reveal() != "Tr0ub4dor&3" || r.OTP.Reveal() != "123456" {
		return nil, roamsign.E(roamsign.ErrAuthorization, "t", "secrets did not arrive")
	}
	return &roamsign.SignResponse{TransactionID: "t1", Form: roamsign.FormRaw}, nil
}

const validSign = `{"challengeId":"c1","nonce":"AAECAwQFBgcICQoLDA0ODw==","pin":"Tr0ub4dor&3","otp":"123456",` +
	`"hashes":[{"algorithm":"SHA-256","value":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}],"requestId":"r1"}`

func TestRequestLimits(t *testing.T) {
	srv := httptest.NewServer(httpapi.Handler(okAPI{}, httpapi.Options{Auth: staticAuth("h"), MaxBodyBytes: 4096, Logger: discard()}))
	defer srv.Close()
	big := `{"challengeId":"` + strings.Repeat("a", 5000) + `"}`
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		code                            string
	}{
		{"valid", "POST", "/v1/sign", "application/json", validSign, 200, ""},
		{"charset", "POST", "/v1/sign", "application/json; charset=utf-8", validSign, 200, ""},
		{"oversized", "POST", "/v1/sign", "application/json", big, 413, "too_large"},
		{"unknown field", "POST", "/v1/sign", "application/json", strings.Replace(validSign, `"requestId"`, `"extra":1,"requestId"`, 1), 400, "invalid_input"},
		{"trailing data", "POST", "/v1/sign", "application/json", validSign + `{}`, 400, "invalid_input"},
		{"two documents", "POST", "/v1/sign", "application/json", validSign + "\n" + validSign, 400, "invalid_input"},
		{"not json", "POST", "/v1/sign", "application/json", `pin=1`, 400, "invalid_input"},
		{"empty", "POST", "/v1/sign", "application/json", ``, 400, "invalid_input"},
		{"wrong type", "POST", "/v1/sign", "application/json", `{"pin":5}`, 400, "invalid_input"},
		{"deep", "POST", "/v1/sign", "application/json", strings.Repeat("[", 40) + strings.Repeat("]", 40), 400, "invalid_input"},
		{"bad user", "POST", "/v1/medium", "application/json", `{"user":"12345"}`, 400, "invalid_input"},
		{"bad hash alg", "POST", "/v1/otp", "application/json", `{"user":"900101145678","hashes":[{"algorithm":"MD5","value":""}]}`, 400, "invalid_input"},
		{"no content type", "POST", "/v1/sign", "", validSign, 415, "invalid_input"},
		{"form content type", "POST", "/v1/sign", "application/x-www-form-urlencoded", validSign, 415, "invalid_input"},
		{"other charset", "POST", "/v1/sign", "application/json; charset=latin1", validSign, 415, "invalid_input"},
		{"wrong method", "GET", "/v1/sign", "", "", 405, "invalid_input"},
		{"unknown path", "POST", "/v1/nope", "application/json", "{}", 404, "not_found"},
		{"unversioned", "POST", "/sign", "application/json", validSign, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if resp.Header.Get("X-Request-ID") == "" {
				t.Fatalf("no X-Request-ID")
			}
			if tc.code == "" {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			var p httpapi.Problem
			dec := json.NewDecoder(strings.NewReader(string(body)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				t.Fatalf("problem body: %v: %s", err, body)
			}
			if p.Code != tc.code || p.Status != tc.status || p.Instance != tc.path {
				t.Fatalf("problem %+v", p)
			}
			if strings.Contains(string(body), "Tr0ub4dor") || strings.Contains(string(body), "123456") {
				t.Fatalf("secret echoed: %s", body)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "POST" {
				t.Fatalf("Allow %q", resp.Header.Get("Allow"))
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(httpapi.Handler(slowAPI{}, httpapi.Options{Auth: staticAuth("h"), Timeout: 50 * time.Millisecond, Logger: discard()}))
	defer srv.Close()
	c, _ := httpapi.NewClient(srv.URL, httpapi.ClientOptions{})
	_, err := c.Medium(context.Background(), roamsign.MediumRequest{User: "900101145678"})
	if !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("timeout gave %v", err)
	}
}

type slowAPI struct{ kindAPI }

func (slowAPI) Medium(ctx context.Context, _ roamsign.MediumRequest) (*roamsign.MediumResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestAPIKeys(t *testing.T) {
	k := &httpapi.APIKeys{}
	key, err := httpapi.NewAPIKey()
	require.NoError(t, err)
	require.NoError(t, k.Add("host-1", key))
	if err := k.Add("host-2", "short"); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("short key: %v", err)
	}
	if h, ok := k.Lookup(key); !ok || h != "host-1" {
		t.Fatalf("lookup: %q %v", h, ok)
	}
	if _, ok := k.Lookup(key + "x"); ok {
		t.Fatal("wrong key accepted")
	}
}

func FuzzDecodeSign(f *testing.F) {
	f.Add([]byte(validSign))
	f.Add([]byte(`{"hashes":[{"algorithm":"SHA-512","value":"AA=="}]}`))
	f.Add([]byte(`{"nonce":"!!"}`))
	f.Add([]byte(`[[[[[[`))
	f.Add([]byte(`{"pin":"\u0000"}  `))
	h := httpapi.Handler(okAPI{}, httpapi.Options{Auth: staticAuth("h"), MaxBodyBytes: 8192, Logger: discard()})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range []string{"/v1/sign", "/v1/otp", "/v1/medium"} {
			req := httptest.NewRequest("POST", p, strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch rec.Code {
			case 200, 400, 413, 422, 501:
			default:
				t.Fatalf("%s: status %d for %q: %s", p, rec.Code, body, rec.Body)
			}
		}
	})
}

func TestNewServer(t *testing.T) {
	s := httpapi.NewServer(":0", http.NotFoundHandler(), &tls.Config{}, discard())
	if s.ReadHeaderTimeout == 0 || s.ReadTimeout == 0 || s.WriteTimeout == 0 || s.IdleTimeout == 0 || s.MaxHeaderBytes == 0 {
		t.Fatalf("server without limits: %+v", s)
	}
	if s.TLSConfig.MinVersion != tls.VersionTLS12 {
		t.Fatalf("TLS minimum %x", s.TLSConfig.MinVersion)
	}
}
