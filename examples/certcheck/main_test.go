package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/servercert"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, envVars map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, env{
		stdout: &out, stderr: &errb,
		getenv:  func(k string) string { return envVars[k] },
		now:     time.Now,
		openKey: noPKCS11,
	})
	return result{code, out.String(), errb.String()}
}

func mustFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestCLIWorkflow(t *testing.T) {
	dir := t.TempDir()
	at := func(n string) string { return filepath.Join(dir, n) }

	// 1. Key and CSR.
	r := runCLI(t, nil, "csr", "--dns", "portal.agency.gov.my,*.portal.agency.gov.my", "--dns", "www.agency.gov.my",
		"--org", "Test Agency", "--key-out", at("server.key"), "--csr-out", at("server.csr"))
	if r.code != 0 || !strings.Contains(r.stdout, "BEGIN CERTIFICATE REQUEST") || strings.Contains(r.stdout, "PRIVATE KEY-----") {
		t.Fatalf("csr: %+v", r)
	}
	if st, _ := os.Stat(at("server.key")); st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", st.Mode().Perm())
	}
	keyBefore := mustFile(t, at("server.key"))
	r = runCLI(t, nil, "csr", "--dns", "x.agency.gov.my", "--key-out", at("server.key"), "--csr-out", at("other.csr"))
	if r.code != 2 || !strings.Contains(r.stderr, "refusing to overwrite") || !bytes.Equal(keyBefore, mustFile(t, at("server.key"))) {
		t.Fatalf("csr over an existing key: %+v", r)
	}
	r = runCLI(t, nil, "csr", "--dns", "w*.agency.gov.my", "--key-out", at("bad.key"), "--csr-out", at("bad.csr"))
	if r.code != 2 || !strings.Contains(r.stderr, "wildcard") {
		t.Fatalf("bad wildcard: %+v", r)
	}
	if _, err := os.Stat(at("bad.key")); err == nil {
		t.Fatal("a key was written for a refused request")
	}

	// 2. The CA issues from the CSR and delivers a .p7b in the wrong order.
	root, err := testpki.NewRoot(testpki.Options{Name: "CLI Root"})
	require.NoError(t, err)
	inter, err := root.NewIntermediate(testpki.Options{Name: "CLI Issuing CA"})
	require.NoError(t, err)
	csr, err := servercert.ParseCSR(mustFile(t, at("server.csr")))
	require.NoError(t, err)
	cert, err := inter.Issue(&x509.Certificate{
		Subject: csr.Subject, DNSNames: csr.DNSNames,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, csr.PublicKey)
	require.NoError(t, err)
	p7, err := servercert.EncodePKCS7Certificates([]*x509.Certificate{inter.Cert, cert})
	require.NoError(t, err)
	mustWrite(t, at("delivered.p7b"), p7, 0o644)
	mustWrite(t, at("root.pem"), testpki.PEM(root.Cert), 0o644)
	mustWrite(t, at("server.crt"), testpki.PEM(cert), 0o644)

	// 3. Bundle check writes fullchain.pem and a .pfx.
	r = runCLI(t, map[string]string{"CERTCHECK_PFX_PASSWORD": "pfx-Secret-1"}, "bundle", "--cert", at("delivered.p7b"),
		"--key", at("server.key"), "--name", "portal.agency.gov.my,api.portal.agency.gov.my", "--roots", at("root.pem"),
		"--fullchain", at("fullchain.pem"), "--pfx", at("site.pfx"), "--json")
	if r.code != 0 {
		t.Fatalf("bundle: %+v", r)
	}
	var br struct {
		OK        bool   `json:"ok"`
		Complete  bool   `json:"complete"`
		Reordered bool   `json:"reordered"`
		Format    string `json:"format"`
		Fullchain string `json:"fullchain_file"`
		PFX       string `json:"pfx_file"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &br); err != nil {
		t.Fatalf("bundle JSON: %v\n%s", err, r.stdout)
	}
	if !br.OK || !br.Complete || !br.Reordered || br.Format != "pkcs7-der" || br.Fullchain == "" || br.PFX == "" {
		t.Fatalf("bundle result %+v", br)
	}
	certs, _, err := servercert.ParseCertificates(mustFile(t, at("fullchain.pem")))
	if err != nil || len(certs) != 2 || !bytes.Equal(certs[0].Raw, cert.Raw) || !bytes.Equal(certs[1].Raw, inter.Cert.Raw) {
		t.Fatalf("fullchain.pem: %v, %d certs", err, len(certs))
	}
	if strings.Contains(r.stdout, "pfx-Secret-1") || strings.Contains(r.stderr, "pfx-Secret-1") {
		t.Fatal("password printed")
	}
	if st, _ := os.Stat(at("site.pfx")); st.Mode().Perm() != 0o600 {
		t.Fatalf("pfx mode %v", st.Mode().Perm())
	}

	// 4. Wrong key: problems, nothing written.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherPEM, _ := servercert.MarshalPrivateKeyPEM(other)
	mustWrite(t, at("other.key"), otherPEM, 0o600)
	r = runCLI(t, nil, "bundle", "--cert", at("server.crt"), "--chain", at("delivered.p7b"), "--key", at("other.key"),
		"--roots", at("root.pem"), "--fullchain", at("never.pem"))
	if r.code != 1 || !strings.Contains(r.stdout, "does not match") || !strings.Contains(r.stdout, "NOT READY") {
		t.Fatalf("wrong key: %+v", r)
	}
	if _, err := os.Stat(at("never.pem")); err == nil {
		t.Fatal("fullchain written for a bad bundle")
	}

	// 5. Corrupt delivery names the warranty deadline.
	mustWrite(t, at("corrupt.cer"), p7[:len(p7)/2], 0o644)
	r = runCLI(t, nil, "bundle", "--cert", at("corrupt.cer"), "--accepted", "2026-11-03")
	if r.code != 2 || !strings.Contains(r.stderr, "corrupt certificate") || !strings.Contains(r.stderr, "2026-11-17") {
		t.Fatalf("corrupt: %+v", r)
	}
	r = runCLI(t, nil, "bundle", "--cert", at("corrupt.cer"), "--accepted", "2026-11-03", "--json")
	var je map[string]string
	if err := json.Unmarshal([]byte(r.stderr), &je); err != nil || je["code"] != "corrupt_certificate" || je["warranty_claim_by"] != "2026-11-17" {
		t.Fatalf("corrupt JSON: %v %+v", err, r)
	}
	r = runCLI(t, nil, "bundle", "--cert", at("corrupt.cer"))
	if r.code != 2 || !strings.Contains(r.stderr, "--accepted") {
		t.Fatalf("corrupt without acceptance date: %+v", r)
	}

	// 6. Same content for an extra server, new key.
	r = runCLI(t, nil, "recsr", "--from-cert", at("server.crt"), "--alg", "rsa2048", "--key-out", at("server2.key"), "--csr-out", at("server2.csr"), "--json")
	if r.code != 0 {
		t.Fatalf("recsr: %+v", r)
	}
	csr2, err := servercert.ParseCSR(mustFile(t, at("server2.csr")))
	if err != nil || !slices.Equal(csr2.DNSNames, csr.DNSNames) || csr2.Subject.String() != csr.Subject.String() {
		t.Fatalf("recsr content: %v %v", err, csr2)
	}
	r = runCLI(t, nil, "recsr", "--from-csr", at("server.csr"), "--key", at("server.key"), "--csr-out", at("server3.csr"))
	if r.code != 0 {
		t.Fatalf("recsr from csr: %+v", r)
	}
	r = runCLI(t, nil, "recsr", "--from-csr", at("server.csr"), "--key-uri", "pkcs11:token=web;object=tls?pin-value=123456", "--csr-out", at("server4.csr"))
	if r.code != 2 || !strings.Contains(r.stderr, "PKCS#11") || strings.Contains(r.stderr, "123456") {
		t.Fatalf("pkcs11 uri: %+v", r)
	}

	// 7. Grade the installed site.
	key, err := servercert.ParsePrivateKey(mustFile(t, at("server.key")))
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw, inter.Cert.Raw}, PrivateKey: key}},
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
	}
	srv.StartTLS()
	defer srv.Close()
	r = runCLI(t, nil, "grade", "--addr", srv.Listener.Addr().String(), "--servername", "portal.agency.gov.my", "--roots", at("root.pem"), "--json")
	var gr servercert.GradeReport
	if err := json.Unmarshal([]byte(r.stdout), &gr); err != nil || r.code != 0 || gr.Grade != "A+" {
		t.Fatalf("grade: %v %+v", err, r)
	}
	// The endpoint may be given as the URL a browser shows.
	r = runCLI(t, nil, "grade", "https://"+srv.Listener.Addr().String()+"/", "--servername", "portal.agency.gov.my", "--roots", at("root.pem"), "--json")
	if err := json.Unmarshal([]byte(r.stdout), &gr); err != nil || r.code != 0 || gr.Grade != "A+" {
		t.Fatalf("grade by URL: %v %+v", err, r)
	}
	r = runCLI(t, nil, "grade", "--addr", srv.Listener.Addr().String(), "--servername", "wrong.example.my", "--roots", at("root.pem"))
	if r.code != 1 || !strings.Contains(r.stdout, "Grade M") {
		t.Fatalf("grade mismatch: %+v", r)
	}

	// 8. Deadlines.
	r = runCLI(t, nil, "deadlines", "--delivered", "2026-11-02", "--accepted", "2026-11-03", "--today", "2026-11-10", "--json")
	var cl servercert.Checklist
	if err := json.Unmarshal([]byte(r.stdout), &cl); err != nil || r.code != 0 || cl.InstallBy.String() != "2026-11-17" {
		t.Fatalf("deadlines: %v %+v", err, r)
	}
	r = runCLI(t, nil, "deadlines", "--delivered", "2026-11-02", "--today", "2026-11-30")
	if r.code != 1 || !strings.Contains(r.stdout, "OVERDUE") {
		t.Fatalf("overdue: %+v", r)
	}
}

func TestCLIUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: certcheck"},
		{[]string{"help"}, 0, "commands:"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"csr"}, 2, "--dns and --csr-out are required"},
		{[]string{"csr", "--dns", "a.my", "--csr-out", "x.csr", "--country", "Malaysia"}, 2, "two-letter"},
		{[]string{"csr", "--dns", "a.my", "--csr-out", "x.csr"}, 2, "exactly one of --key"},
		{[]string{"recsr", "--csr-out", "x"}, 2, "--from-cert or --from-csr"},
		{[]string{"bundle"}, 2, "--cert is required"},
		{[]string{"bundle", "--cert", "/nonexistent/cert.pem"}, 2, "cannot read"},
		{[]string{"grade"}, 2, "give the endpoint: --addr host:port or https://host:port/"},
		{[]string{"grade", "http://portal.agency.gov.my/"}, 2, "must be https://"},
		{[]string{"grade", "a.my:443", "b.my:443"}, 2, "unexpected arguments: b.my:443"},
		{[]string{"deadlines", "--delivered", "3/11/2026"}, 2, "YYYY-MM-DD"},
		{[]string{"deadlines"}, 2, "delivery date is required"},
		{[]string{"deadlines", "--bogus"}, 2, "flag provided but not defined"},
	} {
		r := runCLI(t, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: code %d stderr %q, want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}

func mustWrite(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, perm))
}

func TestCLIFetchMissing(t *testing.T) {
	dir := t.TempDir()
	at := func(n string) string { return filepath.Join(dir, n) }
	root, _ := testpki.NewRoot(testpki.Options{})
	inter, _ := root.NewIntermediate(testpki.Options{})
	srv := testpki.NewCRLServer()
	defer srv.Close()
	srv.Set("/issuer.crt", inter.Cert.Raw)
	key, _ := servercert.GenerateKey(servercert.P256)
	cert, err := inter.Issue(&x509.Certificate{
		DNSNames: []string{"a.agency.gov.my"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		IssuingCertificateURL: []string{srv.URLFor("/issuer.crt")},
	}, key.Public())
	require.NoError(t, err)
	mustWrite(t, at("server.crt"), testpki.PEM(cert), 0o644)
	mustWrite(t, at("root.pem"), testpki.PEM(root.Cert), 0o644)

	r := runCLI(t, nil, "bundle", "--cert", at("server.crt"), "--roots", at("root.pem"))
	if r.code != 1 || !strings.Contains(r.stdout, "missing intermediate") || !strings.Contains(r.stdout, srv.URLFor("/issuer.crt")) {
		t.Fatalf("without fetch: %+v", r)
	}
	r = runCLI(t, nil, "bundle", "--cert", at("server.crt"), "--roots", at("root.pem"), "--fetch-missing", "--fullchain", at("fullchain.pem"))
	if r.code != 0 || !strings.Contains(r.stdout, "AIA      fetched") {
		t.Fatalf("with fetch: %+v", r)
	}
	certs, _, err := servercert.ParseCertificates(mustFile(t, at("fullchain.pem")))
	if err != nil || len(certs) != 2 || !bytes.Equal(certs[1].Raw, inter.Cert.Raw) {
		t.Fatalf("fullchain: %v %d", err, len(certs))
	}
}

// TestGradeAddress: grade takes host[:port] or an https:// URL.
func TestGradeAddress(t *testing.T) {
	for in, want := range map[string]string{
		"portal.agency.gov.my":               "portal.agency.gov.my:443",
		"portal.agency.gov.my:8443":          "portal.agency.gov.my:8443",
		"https://portal.agency.gov.my/":      "portal.agency.gov.my:443",
		"https://127.0.0.1:8443/":            "127.0.0.1:8443",
		"https://127.0.0.1:8443/dev/mailbox": "127.0.0.1:8443",
		"https://[::1]:8443/":                "[::1]:8443",
		"[::1]":                              "[::1]:443",
	} {
		got, err := gradeAddress(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"http://portal.agency.gov.my/", "https:///", "https://%zz/"} {
		_, err := gradeAddress(bad)
		require.Error(t, err, bad)
	}
}
