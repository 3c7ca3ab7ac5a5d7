package httpapi_test

import (
	"context"
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
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// httpDeployment serves a service over TLS: host A authenticates with a
// client certificate, host B with an API key, administrators with a
// separate admin key on a separate listener.
type httpDeployment struct {
	*apitest.MemDeployment
	api, admin *httptest.Server
	hostKeyB   string
	adminKey   string
	clientCA   *testpki.CA
	certA      tls.Certificate
	metrics    *httpapi.Metrics
}

func newHTTPDeployment(t testing.TB, api roamsign.API, admin roamsign.Admin, d *apitest.MemDeployment) *httpDeployment {
	t.Helper()
	h := &httpDeployment{MemDeployment: d, metrics: httpapi.NewMetrics()}
	var err error
	h.clientCA, err = testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.certA = clientCert(t, h.clientCA, string(apitest.HostA))
	keys := &httpapi.APIKeys{}
	h.hostKeyB, _ = httpapi.NewAPIKey()
	if err := keys.Add(apitest.HostB, h.hostKeyB); err != nil {
		t.Fatal(err)
	}
	adminKeys := &httpapi.APIKeys{}
	h.adminKey, _ = httpapi.NewAPIKey()
	if err := adminKeys.Add("admin", h.adminKey); err != nil {
		t.Fatal(err)
	}
	var logger = d.Logs.Logger()
	h.api = httptest.NewUnstartedServer(httpapi.Handler(api, httpapi.Options{
		Auth:   &httpapi.HostAuth{ClientCerts: true, Keys: keys},
		Logger: logger, Metrics: h.metrics, MaxBodyBytes: 256 << 10,
	}))
	h.api.Config.ErrorLog = log.New(io.Discard, "", 0)
	h.api.TLS = &tls.Config{ClientCAs: h.clientCA.Pool(), ClientAuth: tls.VerifyClientCertIfGiven}
	h.api.StartTLS()
	t.Cleanup(h.api.Close)
	h.admin = httptest.NewUnstartedServer(httpapi.AdminHandler(admin, httpapi.Options{
		Auth: &httpapi.HostAuth{Keys: adminKeys}, Logger: logger,
	}))
	h.admin.StartTLS()
	t.Cleanup(h.admin.Close)
	return h
}

func clientCert(t testing.TB, ca *testpki.CA, cn string) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}, &k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: k, Leaf: c}
}

// client returns a client of srv with the given TLS client certificate and
// API key.
func client(t testing.TB, srv *httptest.Server, cert *tls.Certificate, key string) *httpapi.Client {
	t.Helper()
	hc := srv.Client()
	tr := hc.Transport.(*http.Transport).Clone()
	if cert != nil {
		tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
	}
	tr.MaxIdleConnsPerHost = 64
	hc = &http.Client{Transport: tr}
	c, err := httpapi.NewClient(srv.URL, httpapi.ClientOptions{HTTPClient: hc, APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (h *httpDeployment) env(t testing.TB) *apitest.Env {
	e := h.MemDeployment.Env()
	a := client(t, h.api, &h.certA, "")
	b := client(t, h.api, nil, h.hostKeyB)
	none := client(t, h.api, nil, "")
	e.API = func(host roamsign.HostID) roamsign.API {
		switch host {
		case apitest.HostA:
			return a
		case apitest.HostB:
			return b
		}
		return none
	}
	e.Admin = client(t, h.admin, nil, h.adminKey)
	return e
}

func TestConformanceHTTP(t *testing.T) {
	d := apitest.NewMemDeployment(t, service.Config{})
	h := newHTTPDeployment(t, d.Service, d.Service, d)
	apitest.Run(t, h.env(t))
}

func TestHostAuthentication(t *testing.T) {
	d := apitest.NewMemDeployment(t, service.Config{})
	h := newHTTPDeployment(t, d.Service, d.Service, d)
	ctx := context.Background()
	e := h.env(t)
	u := e.Enrol(t, apitest.HostA)

	// A certificate from another CA fails the handshake.
	other, _ := testpki.NewRoot(testpki.Options{})
	rogue := clientCert(t, other, string(apitest.HostA))
	if _, err := client(t, h.api, &rogue, "").Medium(ctx, roamsign.MediumRequest{User: u.ID}); err == nil {
		t.Fatalf("certificate of an unknown CA was accepted")
	}
	// A verified certificate naming no valid host id.
	bad := clientCert(t, h.clientCA, "host a/../")
	_, err := client(t, h.api, &bad, "").Medium(ctx, roamsign.MediumRequest{User: u.ID})
	if !isKind(err, roamsign.ErrUnauthenticated) {
		t.Fatalf("certificate without a valid host id: %v", err)
	}
	// A wrong API key.
	_, err = client(t, h.api, nil, "rsk_not-a-key-but-long-enough-to-try-it").Medium(ctx, roamsign.MediumRequest{User: u.ID})
	if !isKind(err, roamsign.ErrUnauthenticated) {
		t.Fatalf("wrong API key: %v", err)
	}
	// A host key on the admin listener.
	err = client(t, h.admin, nil, h.hostKeyB).Disable(ctx, roamsign.DisableRequest{User: u.ID})
	if !isKind(err, roamsign.ErrUnauthenticated) {
		t.Fatalf("host key on the admin handler: %v", err)
	}
	// The certificate for host A works.
	if _, err := client(t, h.api, &h.certA, "").Medium(ctx, roamsign.MediumRequest{User: u.ID}); err != nil {
		t.Fatalf("host A certificate: %v", err)
	}
}

func isKind(err error, k roamsign.Kind) bool {
	return err != nil && roamsign.KindOf(err) == k
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
