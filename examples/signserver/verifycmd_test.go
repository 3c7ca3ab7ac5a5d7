package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/testpki"
	signcms "github.com/roamsign/roamsign/signer/cms"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerifyCommandOffline: `verify` with -anchors outside any data
// directory reaches valid from -crl files with -offline; without them it
// is not valid; -at far ahead makes it invalid; an https distribution
// point is fetched, not refused as "not an allowed CRL location"; and the
// read-only command never creates a data directory.
func TestVerifyCommandOffline(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().Truncate(time.Second)
	root, err := testpki.NewRoot(testpki.Options{NotBefore: now.Add(-48 * time.Hour)})
	require.NoError(t, err)
	inter, err := root.NewIntermediate(testpki.Options{NotBefore: now.Add(-48 * time.Hour), CRLURL: "https://127.0.0.1:1/inter.crl"})
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf, err := inter.IssueLeaf("ALI", "900101145678", key.Public(), testpki.LeafOptions{NotBefore: now.Add(-24 * time.Hour)})
	require.NoError(t, err)
	content := []byte("Perakuan 2: voucher 2026/0088")
	sig, err := signcms.Sign(context.Background(), key, bytes.NewReader(content), []*x509.Certificate{leaf, inter.Cert}, signcms.Options{})
	require.NoError(t, err)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	sigPath, dataPath := write("v.p7s", sig), write("v.txt", content)
	anchors := write("root.pem", testpki.PEM(root.Cert))
	rootCRL, err := root.BuildCRL(testpki.CRLSpec{ThisUpdate: now.Add(-time.Hour)})
	require.NoError(t, err)
	interCRL, err := inter.BuildCRL(testpki.CRLSpec{ThisUpdate: now.Add(-time.Hour)})
	require.NoError(t, err)
	crl1, crl2 := write("root.crl", rootCRL), write("inter.crl", interCRL)
	dataDir := filepath.Join(dir, "never-created")
	base := []string{"verify", sigPath, "-content", dataPath, "-anchors", anchors, "-data-dir", dataDir}

	out, errOut, err := runCmd(t, append(base, "-crl", crl1, "-crl", crl2, "-offline")...)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, ": valid [passed]")

	out, _, err = runCmd(t, append(base, "-crl", crl1, "-offline")...)
	assert.Equal(t, exitError{1}, err)
	assert.Contains(t, out, "indeterminate")

	out, _, err = runCmd(t, append(base, "-crl", crl1)...)
	assert.Equal(t, exitError{1}, err)
	assert.NotContains(t, out, "not an allowed CRL location", "https distribution points are fetched")

	out, _, err = runCmd(t, append(base, "-crl", crl1, "-crl", crl2, "-offline", "-at", now.AddDate(10, 0, 0).Format("2006-01-02"))...)
	assert.Equal(t, exitError{1}, err)
	assert.Contains(t, out, "invalid")

	_, _, err = runCmd(t, "verify", sigPath, "-content", dataPath, "-data-dir", dataDir)
	assert.ErrorContains(t, err, "verify never creates one")
	_, statErr := os.Stat(dataDir)
	assert.True(t, os.IsNotExist(statErr), "verify created the data directory")
}
