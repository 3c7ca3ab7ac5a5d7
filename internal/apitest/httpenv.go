package apitest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/transport/httpapi"
	"github.com/roamsign/roamsign/transport/ops"
)

// HTTPHarness serves an API and its Admin over TLS with httptest: host A
// authenticates with a client certificate, host B with an API key, and
// administrators with a separate admin key on a separate listener.
type HTTPHarness struct {
	API, Admin *httptest.Server
	ClientCA   *testpki.CA
	CertA      tls.Certificate
	HostKeyB   string
	AdminKey   string
	Metrics    *ops.Metrics
}

// ServeHTTP starts the harness; the servers stop when t ends.
func ServeHTTP(t testing.TB, api roamsign.API, admin roamsign.Admin, logger *slog.Logger) *HTTPHarness {
	t.Helper()
	h := &HTTPHarness{Metrics: ops.NewMetrics()}
	var err error
	if h.ClientCA, err = testpki.NewRoot(testpki.Options{}); err != nil {
		t.Fatal(err)
	}
	h.CertA = ClientCert(t, h.ClientCA, string(HostA))
	keys, adminKeys := &httpapi.APIKeys{}, &httpapi.APIKeys{}
	h.HostKeyB, _ = httpapi.NewAPIKey()
	h.AdminKey, _ = httpapi.NewAPIKey()
	if err := keys.Add(HostB, h.HostKeyB); err != nil {
		t.Fatal(err)
	}
	if err := adminKeys.Add("admin", h.AdminKey); err != nil {
		t.Fatal(err)
	}
	h.API = httptest.NewUnstartedServer(httpapi.Handler(api, httpapi.Options{
		Auth:   &httpapi.HostAuth{ClientCerts: true, Keys: keys},
		Logger: logger, Metrics: h.Metrics, MaxBodyBytes: 1 << 20,
	}))
	h.API.Config.ErrorLog = log.New(io.Discard, "", 0)
	h.API.TLS = &tls.Config{ClientCAs: h.ClientCA.Pool(), ClientAuth: tls.VerifyClientCertIfGiven}
	h.API.StartTLS()
	t.Cleanup(h.API.Close)
	h.Admin = httptest.NewUnstartedServer(httpapi.AdminHandler(admin, httpapi.Options{
		Auth: &httpapi.HostAuth{Keys: adminKeys}, Logger: logger,
	}))
	h.Admin.StartTLS()
	t.Cleanup(h.Admin.Close)
	return h
}

// ClientCert issues a TLS client certificate with common name cn.
func ClientCert(t testing.TB, ca *testpki.CA, cn string) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}, &k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: k, Leaf: c}
}

// Client returns a client of srv with the given TLS client certificate and
// API key.
func Client(t testing.TB, srv *httptest.Server, cert *tls.Certificate, key string) *httpapi.Client {
	t.Helper()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	if cert != nil {
		tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
	}
	tr.MaxIdleConnsPerHost = 128
	t.Cleanup(tr.CloseIdleConnections)
	c, err := httpapi.NewClient(srv.URL, httpapi.ClientOptions{HTTPClient: &http.Client{Transport: tr, Timeout: time.Minute}, APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Env returns a copy of e whose API and Admin are HTTP clients of h.
func (h *HTTPHarness) Env(t testing.TB, e *Env) *Env {
	out := *e
	a := Client(t, h.API, &h.CertA, "")
	b := Client(t, h.API, nil, h.HostKeyB)
	none := Client(t, h.API, nil, "")
	out.API = func(host roamsign.HostID) roamsign.API {
		switch host {
		case HostA:
			return a
		case HostB:
			return b
		}
		return none
	}
	out.Admin = Client(t, h.Admin, nil, h.AdminKey)
	return &out
}
