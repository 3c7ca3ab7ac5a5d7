package adapt_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/internal/softhsmtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/medium"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/otp/otptest"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/service/adapt"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/memory"
	"github.com/roamsign/roamsign/transport/httpapi"
	"github.com/roamsign/roamsign/transport/ops"
	"github.com/roamsign/roamsign/verify"
)

// mailOTP reads the OTP delivered for ch from the captured mail.
func (r *realParts) mailOTP(t testing.TB, _ roamsign.UserID, ch *roamsign.OTPResponse) string {
	m, ok := r.mail.For(ch.ChallengeID)
	if !ok {
		t.Fatalf("no OTP delivered for challenge %s", ch.ChallengeID)
	}
	return m.OTP.Reveal()
}

// auditStore is what the suite needs besides service.Store.
type auditStore interface {
	service.Store
	otp.Store
	ScanAudit(ctx context.Context, from int64, fn func(*roamsign.AuditRecord) error) error
}

// realParts is a service over SoftHSM (PKCS#11), the otp manager, a store
// backend and the raw and CMS signers.
type realParts struct {
	svc   *service.Service
	chal  service.Challenger
	otpFn func(t testing.TB, u roamsign.UserID, ch *roamsign.OTPResponse) string
	keys  *hsm.PKCS11Store
	st    auditStore
	mail  *otptest.Capture
	logs  *apitest.LogBuffer
	ca    *testpki.CA
	crls  *testpki.CRLServer
}

func newRealParts(t testing.TB, st auditStore, sessions int, cfg service.Config, met service.Metrics, otpOpts ...func(*otp.Config)) *realParts {
	t.Helper()
	ctx := context.Background()
	tok := softhsmtest.New(t)
	keys, err := hsm.OpenPKCS11(ctx, hsm.PKCS11Config{URI: tok.URI(), Sessions: sessions})
	if err != nil {
		t.Fatalf("OpenPKCS11: %v", err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	r := &realParts{keys: keys, st: st, mail: &otptest.Capture{Ch: roamsign.ChannelEmail}, logs: &apitest.LogBuffer{}}
	r.otpFn = r.mailOTP
	macKey := make([]byte, 32)
	_, _ = rand.Read(macKey)
	k, _ := otp.NewHMACKey(macKey)
	ocfg := otp.Config{Store: st, Key: k, Delivery: &otp.Delivery{Email: r.mail, Logger: r.logs.Logger()},
		UserRate: -1, UserHostRate: -1, HostRate: -1, Logger: r.logs.Logger()}
	for _, o := range otpOpts {
		o(&ocfg)
	}
	mgr, err := otp.New(ocfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PIN == (service.PINParams{}) {
		cfg.PIN = apitest.FastPIN
	}
	r.chal = adapt.OTP(mgr)
	r.svc, err = service.New(cfg, service.Deps{
		Store: st, Keys: adapt.Keys(keys), Challenges: r.chal, Logger: r.logs.Logger(), Metrics: met,
		Forms: map[roamsign.OutputForm]service.FormSigner{roamsign.FormRaw: adapt.Raw{}, roamsign.FormCMS: adapt.CMS{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.crls = testpki.NewCRLServer()
	t.Cleanup(r.crls.Close)
	root, err := testpki.NewRoot(testpki.Options{CRLURL: r.crls.URLFor("/root.crl")})
	if err != nil {
		t.Fatal(err)
	}
	if r.ca, err = root.NewIntermediate(testpki.Options{CRLURL: r.crls.URLFor("/int.crl")}); err != nil {
		t.Fatal(err)
	}
	for path, ca := range map[string]*testpki.CA{"/root.crl": root, "/int.crl": r.ca} {
		crl, err := ca.CRL(testpki.CRLOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r.crls.Set(path, crl)
	}
	return r
}

// checkAudit verifies the store's audit hash chain with package store.
func (r *realParts) checkAudit(t testing.TB) {
	t.Helper()
	res, err := store.VerifyAudit(context.Background(), r.st, store.VerifyOptions{})
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	if res.Records == 0 {
		t.Fatal("empty audit log")
	}
}

func (r *realParts) env() *apitest.Env {
	return &apitest.Env{
		API:   func(h roamsign.HostID) roamsign.API { return apitest.AsHost(r.svc, h) },
		Admin: r.svc,
		OTP:   r.otpFn,
		CA:    r.ca,
		Forms: []roamsign.OutputForm{roamsign.FormRaw, roamsign.FormCMS},
		CheckSignature: func(t testing.TB, f roamsign.OutputForm, chain [][]byte, h roamsign.Hash, sig []byte) {
			if f == roamsign.FormRaw {
				apitest.CheckRaw(t, chain, h, sig)
				return
			}
			leaf, _ := x509.ParseCertificate(chain[0])
			if err := adapt.CheckCMSDigest(sig, h, leaf); err != nil {
				t.Fatalf("CMS: %v", err)
			}
		},
		Audit: func(ctx context.Context, fn func(*roamsign.AuditRecord) error) error {
			return r.st.ScanAudit(ctx, 1, fn)
		},
		Logs: r.logs.String,
	}
}

// cmsBatch100 enrols an RSA-2048 SoftHSM user, signs 100 documents'
// hashes as CMS in one Sign, and checks every CMS with package verify and
// with openssl cms -verify (and that a tampered document fails).
func cmsBatch100(t *testing.T, r *realParts) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is required (install it with make deps): %v", err)
	}
	e := r.env()
	e.Algorithm = roamsign.RSA2048
	u := e.Enrol(t, apitest.HostA)
	dir := t.TempDir()
	docs := make([][]byte, 100)
	hs := make([]roamsign.Hash, len(docs))
	for i := range docs {
		docs[i] = make([]byte, 200+i)
		_, _ = rand.Read(docs[i])
		hs[i] = roamsign.NewHash(roamsign.SHA256, docs[i])
	}
	ch, code := e.Challenge(t, apitest.HostA, u.ID, hs)
	res, err := e.API(apitest.HostA).Sign(context.Background(), roamsign.SignRequest{
		ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: apitest.PIN, OTP: code, Hashes: hs,
		RequestID: roamsign.NewRequestID(), Form: roamsign.FormCMS,
	})
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	root := r.ca.Root().Cert
	caFile := filepath.Join(dir, "root.pem")
	chainFile := filepath.Join(dir, "chain.pem")
	must(t, os.WriteFile(caFile, testpki.PEM(root), 0o600))
	must(t, os.WriteFile(chainFile, testpki.PEM(r.ca.Cert), 0o600))
	for i, it := range res.Items {
		if it.Status != roamsign.ItemSigned {
			t.Fatalf("item %d: %+v", i, it)
		}
		content := filepath.Join(dir, "doc")
		sig := filepath.Join(dir, "doc.p7s")
		must(t, os.WriteFile(content, docs[i], 0o600))
		must(t, os.WriteFile(sig, it.Signature, 0o600))
		out, err := exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", content,
			"-CAfile", caFile, "-certfile", chainFile, "-purpose", "any", "-out", os.DevNull).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl cms -verify of item %d: %v\n%s", i, err, out)
		}
		if i == 0 {
			// A tampered document must fail.
			docs[0][0] ^= 1
			must(t, os.WriteFile(content, docs[0], 0o600))
			if out, err := exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", content,
				"-CAfile", caFile, "-certfile", chainFile, "-purpose", "any", "-out", os.DevNull).CombinedOutput(); err == nil {
				t.Fatalf("openssl accepted a tampered document: %s", out)
			}
		}
	}
	// Every CMS verifies with package verify (chain, key usage, CRLs).
	v, err := verify.New(verify.Config{Anchors: []*x509.Certificate{root}})
	if err != nil {
		t.Fatal(err)
	}
	docs[0][0] ^= 1
	for i, it := range res.Items {
		results, err := v.VerifyCMS(context.Background(), verify.CMSRequest{Signature: it.Signature, Content: docs[i]})
		if err != nil || len(results) != 1 || results[0].Verdict != verify.Valid {
			t.Fatalf("verify.VerifyCMS item %d: %v %+v", i, err, results)
		}
	}
	r.checkAudit(t)
	if n := len(res.Chain); n != 3 {
		t.Fatalf("chain of %d certificates, want leaf, intermediate, root", n)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRateLimitOverHTTP: the OTP manager's per-user issuance limit reaches
// the host as 429 with a Retry-After that is the real time until a slot
// frees: the oldest challenge leaves the 15-minute window.
func TestRateLimitOverHTTP(t *testing.T) {
	r := newRealParts(t, memory.New(memory.Options{}), 2, service.Config{}, nil, func(c *otp.Config) { c.UserRate = 2 })
	h := apitest.ServeHTTP(t, r.svc, r.svc, r.logs.Logger())
	e := h.Env(t, r.env())
	u := e.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(1)
	e.Challenge(t, apitest.HostA, u.ID, hs)
	e.Challenge(t, apitest.HostA, u.ID, hs)
	_, err := e.API(apitest.HostA).RequestOTP(context.Background(), roamsign.OTPRequest{User: u.ID, Hashes: hs})
	if !errors.Is(err, roamsign.ErrRateLimited) {
		t.Fatalf("third OTP in the window: %v", err)
	}
	var p *httpapi.Problem
	if !errors.As(err, &p) || p.Status != 429 {
		t.Fatalf("problem %+v", p)
	}
	if p.RetryAfter < otp.DefaultRateWindow-time.Minute || p.RetryAfter > otp.DefaultRateWindow {
		t.Fatalf("Retry-After %v, want the time until the oldest challenge leaves the %v window", p.RetryAfter, otp.DefaultRateWindow)
	}
}

// TestReadiness: /readyz reports the SoftHSM session and the store, and
// turns 503 once the key store is closed.
func TestReadiness(t *testing.T) {
	r := newRealParts(t, memory.New(memory.Options{}), 2, service.Config{}, nil)
	st := r.st.(interface{ Ping(context.Context) error })
	srv := httptest.NewServer(ops.Handler(ops.Options{Ready: map[string]ops.Check{
		"hsm": adapt.KeyStoreCheck(r.keys), "db": st.Ping,
	}}))
	defer srv.Close()
	status := func() int {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status(); s != 200 {
		t.Fatalf("readyz %d with a working HSM", s)
	}
	_ = r.keys.Close()
	if s := status(); s != 503 {
		t.Fatalf("readyz %d with the HSM closed", s)
	}
}

// TestDirectory: a token holder known only to the agency directory
// (package medium) gets a Medium answer; roaming media from the directory
// are not offered.
func TestDirectory(t *testing.T) {
	r := newRealParts(t, memory.New(memory.Options{}), 1, service.Config{}, nil)
	id := apitest.NewUserID()
	dirRes, err := medium.NewStatic(map[roamsign.UserID]medium.Entry{id: {Media: []roamsign.MediumKind{roamsign.MediumRoaming, roamsign.MediumToken}}})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Config{PIN: apitest.FastPIN}, service.Deps{Store: r.st, Keys: adapt.Keys(r.keys),
		Challenges: r.chal, Directory: adapt.Directory(dirRes)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := svc.Medium(roamsign.WithHost(context.Background(), apitest.HostA), roamsign.MediumRequest{User: id})
	if err != nil || m.Use != roamsign.MediumToken || len(m.Media) != 1 {
		t.Fatalf("directory answer %+v %v", m, err)
	}
}
