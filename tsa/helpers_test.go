package tsa_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/devtsa"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/tsa"
)

// pki is a root, an intermediate and a TSA certified by the intermediate.
type pki struct {
	root, inter *testpki.CA
	tsa         *testpki.TSA
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	inter, err := root.NewIntermediate(testpki.Options{})
	require.NoError(t, err)
	ts, err := inter.NewTSA(testpki.LeafOptions{})
	require.NoError(t, err)
	return &pki{root: root, inter: inter, tsa: ts}
}

// checker validates TSA paths to the test root.
func (p *pki) checker() tsa.ChainChecker { return tsa.Roots(p.root.Pool()) }

// responder answers with real tokens of the test TSA.
func (p *pki) responder() *devtsa.Responder { return p.tsa.Responder() }

// signerResponder answers with tokens signed by a certificate from tmpl
// (issued by the intermediate), for certificates that are not proper TSA
// certificates.
func (p *pki) signerResponder(t testing.TB, tmpl *x509.Certificate) *devtsa.Responder {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	cert, err := p.inter.Issue(tmpl, k.Public())
	require.NoError(t, err)
	return &devtsa.Responder{Cert: cert, Key: k, Chain: []*x509.Certificate{p.inter.Cert}}
}

// server is an HTTP server that counts the requests it receives.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

func serve(t testing.TB, h http.Handler) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// hang answers nothing until the client gives up. It reads the request
// first, so that the server notices the client closing the connection.
func hang() http.Handler {
	return http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	})
}

// newClient builds a client for the given authorities.
func newClient(t testing.TB, cfg tsa.Config, tsas ...tsa.TSA) *tsa.Client {
	t.Helper()
	cfg.TSAs = append(cfg.TSAs, tsas...)
	c, err := tsa.New(cfg)
	require.NoError(t, err)
	return c
}

// recorder is a Metrics that keeps every observation.
type recorder struct {
	mu  sync.Mutex
	obs []tsa.Observation
}

func (r *recorder) ObserveTSA(o tsa.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.obs = append(r.obs, o)
}

func (r *recorder) all() []tsa.Observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tsa.Observation(nil), r.obs...)
}

// opensslVerify checks a token with `openssl ts -verify` against the
// digest it imprints, trusting the test root only.
func opensslVerify(t testing.TB, p *pki, token, digest []byte) {
	t.Helper()
	testpki.OpenSSLVerifyToken(t, token, digest, []*x509.Certificate{p.root.Cert}, []*x509.Certificate{p.inter.Cert})
}
