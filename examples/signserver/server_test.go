package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/transport/httpapi"
)

const (
	demoUser1, demoPIN1 = "850715015123", "Kewangan#2026"
	demoUser2, demoPIN2 = "900101145678", "Perakuan@77"
)

// TestServerEndToEnd runs the server as `signserver serve` does and checks
// what a host and an operator rely on: the HTTP API signs with the demo
// API key, a restart keeps the enrolled users, the subcommands verify the
// signed PDF, the audit chain and the key store, and shutdown is clean.
func TestServerEndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)

	serial := signHashAPI(t, s, demoUser1, demoPIN1, []byte("baucar PV2026/000123\n"))
	pdfPath := filepath.Join(t.TempDir(), "voucher-signed.pdf")
	require.NoError(t, os.WriteFile(pdfPath, signDemoPDF(t, s, demoUser2, demoPIN2), 0o600))
	checkPDF(t, pdfPath, 1)
	require.NoError(t, s.stop(), "graceful shutdown: run returned")

	// Restart on the same data directory: the users keep their keys,
	// certificates and PINs; nothing is enrolled again.
	s = startServer(t, dir)
	if again := signHashAPI(t, s, demoUser1, demoPIN1, []byte("baucar PV2026/000124\n")); again != serial {
		t.Fatalf("certificate serial changed across restart: %s, then %s (user enrolled again)", serial, again)
	}
	require.NoError(t, s.stop(), "graceful shutdown after restart: run returned")

	// The demo's PDFs are B-LTA: the signature and a document time-stamp.
	out, errOut, err := runCmd(t, "verify", pdfPath, "-data-dir", dir)
	if err != nil || !strings.Contains(out, pdfPath+": valid (2 signatures") {
		t.Fatalf("verify: err %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	out, errOut, err = runCmd(t, "verify", pdfPath, "-data-dir", dir, "--json")
	if err != nil {
		t.Fatalf("verify --json: %v\n%s", err, errOut)
	}
	var report struct {
		Verdict    string            `json:"verdict"`
		Signatures []json.RawMessage `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("verify --json does not print JSON: %v\n%s", err, out)
	}
	if report.Verdict != "valid" || len(report.Signatures) != 2 {
		t.Fatalf("verify --json: verdict %q with %d signatures, want valid with 2\n%s", report.Verdict, len(report.Signatures), out)
	}

	// A changed byte inside the signed range must turn the verdict.
	doc, err := os.ReadFile(pdfPath)
	require.NoError(t, err)
	i := strings.Index(string(doc), "PV2026/000123")
	if i < 0 {
		t.Fatal("voucher number not found in the signed PDF")
	}
	doc[i+len("PV2026/00012")] = '9'
	tampered := writeTemp(t, "tampered.pdf", doc)
	if out, _, err := runCmd(t, "verify", tampered, "-data-dir", dir); err == nil || strings.Contains(out, ": valid") {
		t.Fatalf("verify accepted a tampered PDF: err %v\n%s", err, out)
	}

	out, errOut, err = runCmd(t, "audit", "verify", "-data-dir", dir, "-quiet")
	if err != nil || !strings.Contains(out, "audit chain intact") {
		t.Fatalf("audit verify: err %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	out, errOut, err = runCmd(t, "keys", "list", "-data-dir", dir)
	if err != nil || !strings.HasSuffix(strings.TrimSpace(out), "\n3 keys") || !strings.Contains(out, auditKeyID) {
		t.Fatalf("keys list: want 3 keys (one per demo user and the audit checkpoint key); err %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
}

// signHashAPI signs the SHA-256 hash of data through the HTTP API as host
// "demo", as a host system does, and checks the signature against the
// returned certificate. It returns the certificate's serial number.
func signHashAPI(t *testing.T, s *testServer, user, pin string, data []byte) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := httpapi.NewClient(s.base, httpapi.ClientOptions{HTTPClient: s.hc, APIKey: s.apiKey()})
	require.NoError(t, err)
	id := roamsign.UserID(user)
	med, err := c.Medium(ctx, roamsign.MediumRequest{User: id})
	require.NoError(t, err, "Medium")
	if med.Use != roamsign.MediumRoamingOTP || med.Certificate == nil || len(med.Chain) == 0 {
		t.Fatalf("Medium: want a roaming OTP certificate, got %+v", med)
	}
	hashes := []roamsign.Hash{roamsign.NewHash(roamsign.SHA256, data)}
	ch, err := c.RequestOTP(ctx, roamsign.OTPRequest{User: id, Hashes: hashes, DataHeader: "test | " + user})
	require.NoError(t, err, "RequestOTP")
	otp := readOTP(t, s.hc, s.base, demoEmail(t, user), ch.VerificationCode)

	// Without the API key the host is refused.
	anon, _ := httpapi.NewClient(s.base, httpapi.ClientOptions{HTTPClient: s.hc})
	if _, err := anon.Medium(ctx, roamsign.MediumRequest{User: id}); err == nil {
		t.Fatal("Medium without an API key succeeded")
	}

	req := roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: roamsign.Secret(pin),
		OTP: roamsign.Secret(otp), Hashes: hashes, RequestID: fmt.Sprintf("test-%d", time.Now().UnixNano()), Form: roamsign.FormRaw}
	resp, err := c.Sign(ctx, req)
	require.NoError(t, err, "Sign")
	if len(resp.Items) != 1 || resp.Items[0].Status != roamsign.ItemSigned || len(resp.Chain) == 0 {
		t.Fatalf("Sign: want one signed item and a chain, got %+v", resp)
	}
	leaf, err := x509.ParseCertificate(resp.Chain[0])
	require.NoError(t, err)
	sig := resp.Items[0].Signature
	switch pub := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, hashes[0].Value, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, hashes[0].Value, sig) {
			err = fmt.Errorf("ECDSA signature does not verify")
		}
	default:
		err = fmt.Errorf("unexpected key type %T", pub)
	}
	require.NoError(t, err, "raw signature (%s) does not verify with the signer's certificate", resp.SignatureAlgorithm)
	if got := fmt.Sprintf("%x", leaf.SerialNumber); !strings.EqualFold(strings.TrimLeft(med.Certificate.SerialNumber, "0"), strings.TrimLeft(got, "0")) {
		t.Fatalf("Medium reports serial %s, Sign returned a certificate with serial %s", med.Certificate.SerialNumber, got)
	}

	// The OTP is single use: the same request again is refused.
	req.RequestID += "-again"
	if _, err := c.Sign(ctx, req); err == nil {
		t.Fatal("a used OTP signed again")
	}
	return med.Certificate.SerialNumber
}

// demoPrepared is the host demo's signing screen data.
type demoPrepared struct {
	Session string `json:"session"`
	Items   []struct {
		DataHeader string `json:"dataHeader"`
		Hash       string `json:"hash"`
	} `json:"items"`
	Challenge   roamsign.OTPResponse         `json:"challenge"`
	Certificate *roamsign.CertificateSummary `json:"certificate"`
}

// demoSignResult is the host demo's answer to a sign request.
type demoSignResult struct {
	TransactionID string `json:"transactionId"`
	Items         []struct {
		Status       string `json:"status"`
		Download     string `json:"download"`
		Verification struct {
			Verdict string `json:"verdict"`
		} `json:"verification"`
	} `json:"items"`
}

// signDemoPDF signs the first sample voucher through the host demo's JSON
// endpoints (the calls the page makes) and returns the signed PDF.
func signDemoPDF(t *testing.T, s *testServer, user, pin string) []byte {
	t.Helper()
	pdf, _, _ := signDemo(t, s, user, pin)
	return pdf
}

// signDemo is signDemoPDF that also returns the download link and the
// transaction id.
func signDemo(t *testing.T, s *testServer, user, pin string) (pdf []byte, link, tx string) {
	t.Helper()
	var p demoPrepared
	if code := s.postJSON("/demo/api/prepare", map[string]any{"signer": user, "level": "Perakuan 1", "docs": []string{sampleVouchers[0].ID}}, &p); code != http.StatusOK || p.Session == "" {
		t.Fatalf("prepare: status %d, %+v", code, p)
	}
	otp := readOTP(t, s.hc, s.base, demoEmail(t, user), p.Challenge.VerificationCode)
	var r demoSignResult
	if code := s.postJSON("/demo/api/sign", map[string]string{"session": p.Session, "pin": pin, "otp": otp}, &r); code != http.StatusOK {
		t.Fatalf("sign: status %d", code)
	}
	if len(r.Items) != 1 || r.Items[0].Status != "signed" || r.Items[0].Verification.Verdict != "valid" || r.Items[0].Download == "" {
		t.Fatalf("sign: want one signed, valid item with a download link, got %+v", r)
	}
	return s.get(r.Items[0].Download), r.Items[0].Download, r.TransactionID
}

// TestListenOnPortZero: `serve -listen 127.0.0.1:0` takes the port the
// kernel chose, prints it in the banner, and names it in the certificates
// it issues (the CRL distribution point), so scripts need not guess a free
// port that another process could take first.
func TestListenOnPortZero(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "-data-dir", dir, "-listen", "127.0.0.1:0", "-ops-listen", "127.0.0.1:0", "-log-level", "warn"}, fastArgon2...),
			strings.NewReader(""), stdout, stderr)
	}()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	banner := regexp.MustCompile(`API +https://(127\.0\.0\.1:\d+)/v1/\n +health +http://(127\.0\.0\.1:\d+)/readyz`)
	var m []string
	require.Eventually(t, func() bool {
		m = banner.FindStringSubmatch(stdout.String())
		return m != nil
	}, 60*time.Second, 20*time.Millisecond, "no banner:\n%s\n%s", stdout.String(), stderr.String())
	require.NotEqual(t, "127.0.0.1:0", m[1])

	s := &testServer{t: t, dir: dir, base: "https://" + m[1], ops: "http://" + m[2], done: done}
	s.waitReady()
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca", "ca.pem"))
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(caPEM))
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c, err := httpapi.NewClient(s.base, httpapi.ClientOptions{HTTPClient: hc, APIKey: s.apiKey()})
	require.NoError(t, err)
	med, err := c.Medium(ctx, roamsign.MediumRequest{User: demoUser1})
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(med.Chain[0])
	require.NoError(t, err)
	require.Len(t, leaf.CRLDistributionPoints, 1)
	assert.Equal(t, s.base+crlPath, leaf.CRLDistributionPoints[0], "the certificate names the port the server really listens on")
}
