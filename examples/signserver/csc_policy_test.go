package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/transport/csc"
)

// cscCall posts a CSC request with the demo host's API key, as an outside
// CSC client does, decodes the answer into out and returns the status and
// headers.
func cscCall(t *testing.T, s *testServer, path string, in, out any) (int, http.Header) {
	t.Helper()
	body, err := json.Marshal(in)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.apiKey())
	resp, err := s.hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	require.NoError(t, err)
	if out != nil && resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(b, out), "%s", b)
	}
	return resp.StatusCode, resp.Header
}

// TestCSCv1ClientDevServer is a CSC v1.0.4 client, unmodified, against
// the dev mode server (compatible policy): credentials/list and info,
// credentials/sendOTP without hashes, the OTP from the mailbox,
// credentials/authorize with the PDF's hash, PIN and OTP,
// signatures/signHash; the completed PDF verifies. With -csc-policy
// strict the same sendOTP is refused.
func TestCSCv1ClientDevServer(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := context.Background()
	credID := csc.CredentialID(demoUser1)
	var info csc.InfoResponseV1
	require.Equal(t, http.StatusOK, s.postJSON("/csc/v1/info", map[string]any{}, &info))
	require.Contains(t, info.Extensions, csc.ExtPolicyCompatible)

	var list csc.CredentialsListResponseV1
	st, _ := cscCall(t, s, "/csc/v1/credentials/list", map[string]any{"userID": demoUser1}, &list)
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, list.CredentialIDs, credID)
	var ci csc.CredentialInfoV1
	st, _ = cscCall(t, s, "/csc/v1/credentials/info", map[string]any{"credentialID": credID, "certificates": "chain"}, &ci)
	require.Equal(t, http.StatusOK, st)
	var chain []*x509.Certificate
	for _, c := range ci.Cert.Certificates {
		der, err := base64.StdEncoding.DecodeString(c)
		require.NoError(t, err)
		crt, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		chain = append(chain, crt)
	}
	doc := sampleVouchers[0].PDF()
	prep, err := pdf.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), chain, pdf.Options{Reason: "Perakuan 1"})
	require.NoError(t, err)
	hash := base64.StdEncoding.EncodeToString(prep.Digest())

	st, h := cscCall(t, s, "/csc/v1/credentials/sendOTP", map[string]any{"credentialID": credID}, nil)
	require.Equal(t, http.StatusNoContent, st)
	otp := readOTP(t, s.hc, s.base, demoEmail(t, demoUser1), h.Get(csc.HeaderVerificationCode))
	var auth csc.AuthorizeResponse
	st, _ = cscCall(t, s, "/csc/v1/credentials/authorize", map[string]any{"credentialID": credID, "numSignatures": 1,
		"hash": []string{hash}, "PIN": demoPIN1, "OTP": otp}, &auth)
	require.Equal(t, http.StatusOK, st)
	var sh csc.SignHashResponse
	st, _ = cscCall(t, s, "/csc/v1/signatures/signHash", map[string]any{"credentialID": credID, "SAD": auth.SAD,
		"hash": []string{hash}, "hashAlgo": prep.Hash().OID().String(), "signAlgo": csc.OIDRSA}, &sh)
	require.Equal(t, http.StatusOK, st)
	require.Len(t, sh.Signatures, 1)
	sig, err := base64.StdEncoding.DecodeString(sh.Signatures[0])
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, prep.Complete(ctx, sig, &out))
	checkPDF(t, writeTemp(t, "csc-v1-signed.pdf", out.Bytes()), 1)
	require.NoError(t, s.stop())

	strict := startServer(t, t.TempDir(), "-csc-policy", "strict")
	require.Equal(t, http.StatusOK, strict.postJSON("/csc/v1/info", map[string]any{}, &info))
	require.Contains(t, info.Extensions, csc.ExtPolicyStrict)
	st, _ = cscCall(t, strict, "/csc/v2/credentials/getChallenge", map[string]any{"credentialID": credID, "authObjectID": "OTP"}, nil)
	require.Equal(t, http.StatusBadRequest, st)
}

func TestCSCPolicyConfig(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want csc.Policy
	}{
		{nil, csc.PolicyCompatible},
		{[]string{"-dev=false"}, csc.PolicyStrict},
		{[]string{"-csc-policy", "strict"}, csc.PolicyStrict},
		{[]string{"-dev=false", "-csc-policy", "compatible"}, csc.PolicyCompatible},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg, err := loadConfig(fs, tc.args, func(string) string { return "" })
		require.NoError(t, err, "%v", tc.args)
		require.Equal(t, tc.want, cfg.cscPolicy(), "%v", tc.args)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_, err := loadConfig(fs, []string{"-csc-policy", "lax"}, func(string) string { return "" })
	require.ErrorContains(t, err, "csc-policy")
}

// TestCSCClientsFile: the clients file is read when the configuration is;
// an http redirect URI off loopback is refused outside dev mode only.
func TestCSCClientsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(doc), 0o600))
		return p
	}
	good := write("good.json", `[{"id": "app", "host": "demo", "redirectURIs": ["https://app.example/cb", "http://127.0.0.1/cb"], "scopes": ["credential"]}]`)
	insecure := write("insecure.json", `[{"id": "app", "host": "demo", "redirectURIs": ["http://app.example/cb"], "scopes": ["credential"]}]`)
	load := func(args ...string) error {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		_, err := loadConfig(fs, args, func(string) string { return "" })
		return err
	}
	require.NoError(t, load("-dev=false", "-csc-clients-file", good))
	require.ErrorContains(t, load("-dev=false", "-csc-clients-file", insecure), "https")
	require.NoError(t, load("-csc-clients-file", insecure), "dev mode allows http")
	require.ErrorContains(t, load("-csc-clients-file", filepath.Join(dir, "missing.json")), "csc-clients-file")
	cs, err := loadCSCClients(good, false)
	require.NoError(t, err)
	require.Equal(t, []string{csc.ScopeCredential}, cs[0].Scopes)
}
