package csc_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/transport/csc"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// clock is a test clock that tests move forward.
type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

// env is the CSC face over an in-memory service (with the raw, PSS
// forms), served over TLS: host A and host B authenticate with API keys.
type env struct {
	t     testing.TB
	d     *apitest.MemDeployment
	suite *apitest.Env
	srv   *httptest.Server
	clock *clock
	keyA  string
	keyB  string
	a, b  *csc.Client
	opts  csc.Options
}

func newEnv(t testing.TB, alg roamsign.KeyAlgorithm, mod func(*csc.Options)) *env {
	t.Helper()
	d := apitest.NewMemDeployment(t, service.Config{})
	e := &env{t: t, d: d, clock: &clock{at: time.Now()}}
	keys := &httpapi.APIKeys{}
	e.keyA, _ = httpapi.NewAPIKey()
	e.keyB, _ = httpapi.NewAPIKey()
	require.NoError(t, keys.Add(apitest.HostA, e.keyA))
	require.NoError(t, keys.Add(apitest.HostB, e.keyB))
	e.opts = csc.Options{
		Auth: &httpapi.HostAuth{Keys: keys}, OfferPSS: true, Now: e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&e.opts)
	}
	// The service allows late binding exactly when the face's policy is
	// compatible, as the example server configures them.
	svc, err := service.New(service.Config{PIN: apitest.FastPIN, LateBinding: e.opts.Policy == csc.PolicyCompatible}, service.Deps{
		Store: d.Store, Keys: d.Keys, Challenges: d.Challenges, Logger: d.Logs.Logger(),
		Forms: map[roamsign.OutputForm]service.FormSigner{roamsign.FormRawPSS: service.RawPSSSigner{}},
	})
	require.NoError(t, err)
	d.Service = svc
	e.suite = d.Env()
	e.suite.Algorithm = alg
	e.srv = httptest.NewTLSServer(csc.Handler(svc, e.opts))
	t.Cleanup(e.srv.Close)
	e.a = e.client(e.keyA)
	e.b = e.client(e.keyB)
	return e
}

func (e *env) client(token string) *csc.Client {
	c, err := csc.NewClient(e.srv.URL+"/csc/v2", csc.ClientOptions{HTTPClient: e.srv.Client(), AccessToken: token})
	require.NoError(e.t, err)
	return c
}

// authorize runs the explicit flow for hashes: getChallenge with the
// hashes, the OTP from the outbox, credentials/authorize with PIN and OTP.
func (e *env) authorize(t testing.TB, c *csc.Client, u apitest.User, hashes []roamsign.Hash, ext func(*csc.AuthorizeRequest)) string {
	t.Helper()
	ctx := context.Background()
	credID := csc.CredentialID(u.ID)
	oid := hashes[0].Algorithm.OID().String()
	vc, err := c.GetChallenge(ctx, csc.GetChallengeRequest{CredentialID: credID, AuthObjectID: "OTP",
		Hashes: csc.Hashes(hashes), HashAlgorithmOID: oid, Description: "DOC-1"})
	require.NoError(t, err)
	require.Len(t, vc, 4, "verification code")
	req := csc.AuthorizeRequest{CredentialID: credID, NumSignatures: len(hashes), Hashes: csc.Hashes(hashes), HashAlgorithmOID: oid,
		AuthData: []csc.AuthData{{ID: "PIN", Value: apitest.PIN.Reveal()}, {ID: "OTP", Value: e.d.Challenges.LastOTP(u.ID)}}}
	if ext != nil {
		ext(&req)
	}
	res, err := c.Authorize(ctx, req)
	require.NoError(t, err)
	require.NotEmpty(t, res.SAD)
	require.Positive(t, res.ExpiresIn)
	require.LessOrEqual(t, res.ExpiresIn, 300)
	return res.SAD
}

// signReq is a signHash request for an ECDSA or RSA PKCS#1 credential.
func signReq(u apitest.User, sad string, hashes []roamsign.Hash) csc.SignHashRequest {
	return csc.SignHashRequest{CredentialID: csc.CredentialID(u.ID), SAD: sad, Hashes: csc.Hashes(hashes),
		HashAlgorithmOID: hashes[0].Algorithm.OID().String(), SignAlgo: signAlgoFor(u, hashes[0].Algorithm)}
}

func signAlgoFor(u apitest.User, h roamsign.HashAlgorithm) string {
	if len(u.Chain[0]) > 0 && isEC(u) {
		return map[roamsign.HashAlgorithm]string{roamsign.SHA256: csc.OIDECDSASHA256, roamsign.SHA384: csc.OIDECDSASHA384, roamsign.SHA512: csc.OIDECDSASHA512}[h]
	}
	return csc.OIDRSA
}

// wantCSC checks that err is a CSC error with status and code.
func wantCSC(t *testing.T, err error, status int, code string) *csc.Error {
	t.Helper()
	require.Error(t, err)
	e, ok := csc.IsCSCError(err)
	require.True(t, ok, "not a CSC error: %v", err)
	require.Equal(t, status, e.Status, "status of %v", err)
	require.Equal(t, code, e.Code, "code of %v", err)
	return e
}

const badRequest = http.StatusBadRequest

// newBenchEnv is newEnv with RSA-2048 keys, the service's default.
func newBenchEnv(b *testing.B) *env { return newEnv(b, roamsign.RSA2048, nil) }
