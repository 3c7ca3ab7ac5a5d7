package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/verify"
)

func TestDevCAIssuesRoamingSubjectAndCRL(t *testing.T) {
	dir := t.TempDir()
	ca, err := openDevCA(dir, "https://127.0.0.1:8443"+crlPath)
	require.NoError(t, err)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: roamsign.RoamingSubject("ALI BIN ABU", "900101145678")}, key)
	require.NoError(t, err)
	leaf, err := ca.IssueUser(csr, 24*time.Hour)
	require.NoError(t, err)
	if got, want := roamsign.FormatDN(leaf.RawSubject), "C=MY, CN=ALI BIN ABU, SURNAME=900101145678, SERIALNUMBER=900101145678"; got != want {
		t.Fatalf("subject %q, want %q", got, want)
	}
	if leaf.KeyUsage&x509.KeyUsageContentCommitment == 0 || len(leaf.CRLDistributionPoints) != 1 {
		t.Fatalf("key usage %v, CRL DP %v", leaf.KeyUsage, leaf.CRLDistributionPoints)
	}
	require.NoError(t, leaf.CheckSignatureFrom(ca.cert))

	// A revocation survives a reopen and appears on the CRL served over HTTP.
	require.NoError(t, ca.Revoke(leaf.SerialNumber, 1))
	ca2, err := openDevCA(dir, ca.url)
	require.NoError(t, err)
	if !ca2.cert.Equal(ca.cert) {
		t.Fatal("CA changed on reopen")
	}
	rec := httptest.NewRecorder()
	ca2.ServeHTTP(rec, httptest.NewRequest("GET", crlPath, nil))
	crl, err := x509.ParseRevocationList(rec.Body.Bytes())
	require.NoError(t, err)
	require.NoError(t, crl.CheckSignatureFrom(ca2.cert))
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("CRL entries %+v", crl.RevokedCertificateEntries)
	}

	// A damaged CSR is refused.
	if _, err := ca.IssueUser(csr[:len(csr)-3], time.Hour); err == nil {
		t.Fatal("damaged CSR accepted")
	}
}

func TestVerifyAnchorsFromFile(t *testing.T) {
	dir := t.TempDir()
	ca, err := openDevCA(dir, "https://127.0.0.1:8443"+crlPath)
	require.NoError(t, err)
	roots, fetcher, err := verifyAnchors(Config{}, filepath.Join(dir, "ca.pem"))
	if hf, ok := fetcher.(*verify.HTTPFetcher); err != nil || len(roots) != 1 || !roots[0].Equal(ca.cert) || !ok || !hf.AllowHTTPS {
		t.Fatalf("anchors %v, fetcher %v, err %v", roots, fetcher, err)
	}
	junk := filepath.Join(dir, "junk.pem")
	require.NoError(t, os.WriteFile(junk, []byte("no certificate here"), 0o600))
	if _, _, err := verifyAnchors(Config{}, junk); err == nil {
		t.Fatal("a file without certificates was accepted as anchors")
	}
}
