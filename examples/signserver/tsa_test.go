package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/transport/ops"
	"github.com/roamsign/roamsign/tsa"
)

func TestParseTSAList(t *testing.T) {
	got, err := parseTSAList(" https://a.example/tsr ,http://b.example/;quota=20/20m;policy=1.2.3,, ")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, tsa.TSA{URL: "https://a.example/tsr"}, got[0])
	assert.Equal(t, "http://b.example/", got[1].URL)
	assert.Equal(t, tsa.Quota{Requests: 20, Per: 20 * time.Minute}, got[1].Quota)
	assert.Equal(t, "1.2.3", got[1].Policy.String())
	for _, bad := range []string{"http://a/;quota=20", "http://a/;quota=0/1m", "http://a/;quota=5/-1m", "http://a/;policy=1", "http://a/;policy=x.y", "http://a/;user=me"} {
		_, err := parseTSAList(bad)
		assert.Error(t, err, bad)
	}
	none, err := parseTSAList("")
	require.NoError(t, err)
	assert.Empty(t, none)
}

// TestTSAURLFlag: -tsa-url may be given once per authority, each value a
// comma-separated list too; the environment variable holds a list.
func TestTSAURLFlag(t *testing.T) {
	load := func(env map[string]string, args ...string) Config {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg, err := loadConfig(fs, args, func(k string) string { return env[k] })
		require.NoError(t, err)
		return cfg
	}
	assert.Equal(t, "http://a/,http://b/;quota=20/20m,http://c/",
		load(nil, "-tsa-url", "http://a/", "-tsa-url", "http://b/;quota=20/20m,http://c/").TSAURL)
	assert.Equal(t, "http://e/,http://f/", load(map[string]string{"ROAMSIGN_TSA_URL": "http://e/,http://f/"}).TSAURL)
	assert.Equal(t, "http://g/", load(map[string]string{"ROAMSIGN_TSA_URL": "http://e/"}, "-tsa-url", "http://g/").TSAURL, "the flag wins")
	assert.Empty(t, load(nil).TSAURL)
}

// tsaApp is the part of an app openTSA needs, on a development CA in dir.
func tsaApp(t *testing.T, dir string) *app {
	t.Helper()
	ca, err := openDevCA(filepath.Join(dir, "ca"), "https://127.0.0.1:8443"+crlPath)
	require.NoError(t, err)
	return &app{ca: ca, log: slog.New(slog.DiscardHandler), metrics: ops.NewMetrics()}
}

// TestDevTSA: in development mode the server starts a TSA whose tokens
// its own client verifies (package verify, with the development CA's
// CRL) and openssl accepts; its key survives a restart; a revoked TSA
// certificate gives no token; the metrics count every attempt.
func TestDevTSA(t *testing.T) {
	dir := t.TempDir()
	a := tsaApp(t, dir)
	require.NoError(t, a.openTSA(Config{DataDir: dir}, serving))
	t.Cleanup(func() { a.Close() })
	require.NotNil(t, a.devTSA)
	require.NotNil(t, a.pdfTimestamper())
	digest := roamsign.SHA256.Sum([]byte("signature value"))
	tok, err := a.tsa.Stamp(context.Background(), tsa.Request{Digest: digest})
	require.NoError(t, err)
	assert.Equal(t, "roamsign Development TSA", tok.Signer.Subject.CommonName)
	testpki.OpenSSLVerifyToken(t, tok.DER, digest, []*x509.Certificate{a.ca.cert}, nil)
	assert.Equal(t, 1.0, tsaRequests(t, a, tok.TSA, "ok"))

	// The same TSA certificate after a restart.
	b := tsaApp(t, dir)
	require.NoError(t, b.openTSA(Config{DataDir: dir}, serving))
	t.Cleanup(func() { b.Close() })
	tok2, err := b.tsa.Stamp(context.Background(), tsa.Request{Digest: digest})
	require.NoError(t, err)
	assert.Equal(t, tok.Signer.Raw, tok2.Signer.Raw)

	// Revoked: the development CA's CRL says so (to a verifier that has
	// not cached the earlier CRL), and no token is used.
	require.NoError(t, b.ca.Revoke(tok.Signer.SerialNumber, 1))
	c := tsaApp(t, dir)
	require.NoError(t, c.openTSA(Config{DataDir: dir}, serving))
	t.Cleanup(func() { c.Close() })
	_, err = c.tsa.Stamp(context.Background(), tsa.Request{Digest: digest})
	require.ErrorIs(t, err, tsa.ReasonChain)
	assert.Contains(t, err.Error(), "revoked")
	assert.Equal(t, 1.0, tsaRequests(t, c, c.devTSA.url, string(tsa.ReasonChain)))
}

// tsaRequests reads roamsign_tsa_requests_total for a TSA and outcome.
func tsaRequests(t *testing.T, a *app, url, outcome string) float64 {
	t.Helper()
	mfs, err := a.metrics.Registry().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "roamsign_tsa_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["tsa"] == url && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestOpenTSAConfiguration(t *testing.T) {
	dir := t.TempDir()
	a := tsaApp(t, dir)
	// One-shot commands start no TSA.
	require.NoError(t, a.openTSA(Config{DataDir: dir}, oneShot))
	assert.Nil(t, a.tsa)
	assert.Nil(t, a.pdfTimestamper(), "no Timestamper, not a nil *tsa.Client in an interface")
	// Outside dev mode nothing is time-stamped unless configured.
	plain := &app{log: slog.New(slog.DiscardHandler), metrics: ops.NewMetrics()}
	require.NoError(t, plain.openTSA(Config{DataDir: dir}, serving))
	assert.Nil(t, plain.tsa)
	// A configured TSA needs its trust anchors.
	err := plain.openTSA(Config{DataDir: dir, TSAURL: "https://tsa.example/"}, serving)
	require.ErrorContains(t, err, "tsa-ca")
	anchors := filepath.Join(dir, "tsa-ca.pem")
	require.NoError(t, os.WriteFile(anchors, pemCert(a.ca.cert.Raw), 0o600))
	require.NoError(t, plain.openTSA(Config{DataDir: dir, TSAURL: "https://tsa.example/;quota=20/20m,http://tsa2.example/", TSACA: anchors}, serving))
	require.NotNil(t, plain.tsa)
	assert.Nil(t, plain.devTSA, "a configured TSA replaces the development one")
	err = (&app{log: slog.New(slog.DiscardHandler), metrics: ops.NewMetrics()}).openTSA(Config{TSAURL: "ftp://x/", TSACA: anchors}, serving)
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
}

// TestDemoPDFTimestamped: `make serve` makes the demo's PDFs PAdES B-LTA
// with the development TSA: a signature time-stamp, a /DSS with the
// validated material, and a document time-stamp; the verify command
// reports the signature timed by its token and the document time-stamp,
// both valid.
func TestDemoPDFTimestamped(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	pdfPath := filepath.Join(t.TempDir(), "voucher-signed.pdf")
	require.NoError(t, os.WriteFile(pdfPath, signDemoPDF(t, s, demoUser1, demoPIN1), 0o600))
	checkPDF(t, pdfPath, 1)
	resp, err := s.hc.Get(s.ops + "/metrics")
	require.NoError(t, err)
	metrics, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	// The signature time-stamp and the document time-stamp.
	assert.Regexp(t, `roamsign_tsa_requests_total\{outcome="ok",tsa="http://127\.0\.0\.1:\d+/tsa"\} 2`, string(metrics))
	require.NoError(t, s.stop())
	report, out := verifyCmd(t, pdfPath, dir)
	require.Equal(t, "valid", report.Verdict, out)
	require.Len(t, report.Signatures, 2, out)
	assert.True(t, report.Signatures[0].TimestampPresent)
	assert.Equal(t, "timestamp", report.Signatures[0].TimeSource)
	assert.Equal(t, "document-timestamp", report.Signatures[1].Kind)
	doc, err := os.ReadFile(pdfPath)
	require.NoError(t, err)
	assert.Contains(t, string(doc), "/DSS ", "no document security store")
	assert.Contains(t, string(doc), "/DocTimeStamp", "no document time-stamp")
}

// TestDemoPAdESLevels: each -pades-level gives the demo's PDFs that
// level, as the verify command reports it: B-B and B-T one signature,
// B-LT one signature with a /DSS, B-LTA the signature completed in one
// pass with its /DSS and a document time-stamp.
func TestDemoPAdESLevels(t *testing.T) {
	for _, tc := range []struct {
		level string
		sigs  int
	}{{"B-B", 1}, {"B-T", 1}, {"B-LT", 1}, {"B-LTA", 2}} {
		t.Run(tc.level, func(t *testing.T) {
			dir := t.TempDir()
			s := startServer(t, dir, "-pades-level", tc.level)
			pdfPath := filepath.Join(t.TempDir(), "voucher-signed.pdf")
			require.NoError(t, os.WriteFile(pdfPath, signDemoPDF(t, s, demoUser1, demoPIN1), 0o600))
			require.NoError(t, s.stop())
			report, out := verifyCmd(t, pdfPath, dir)
			require.Equal(t, "valid", report.Verdict, out)
			require.Len(t, report.Signatures, tc.sigs, out)
			assert.Equal(t, tc.level, report.Signatures[0].Level, out)
			doc, err := os.ReadFile(pdfPath)
			require.NoError(t, err)
			assert.Equal(t, tc.level == "B-LT" || tc.level == "B-LTA", strings.Contains(string(doc), "/DSS "), "/DSS")
		})
	}
}

// verifyReport is the part of the verify command's JSON report the tests
// read.
type verifyReport struct {
	Verdict    string `json:"verdict"`
	Signatures []struct {
		Kind             string `json:"kind"`
		TimestampPresent bool   `json:"timestampPresent"`
		TimeSource       string `json:"timeSource"`
		Level            string `json:"level"`
	} `json:"signatures"`
}

// verifyCmd runs `signserver verify --json` on pdfPath with the data
// directory dir and returns its report and output.
func verifyCmd(t *testing.T, pdfPath, dir string) (verifyReport, string) {
	t.Helper()
	out, errOut, err := runCmd(t, "verify", pdfPath, "-data-dir", dir, "--json")
	require.NoError(t, err, errOut)
	var report verifyReport
	require.NoError(t, json.Unmarshal([]byte(out), &report), out)
	return report, out
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
