package testpki

import (
	"crypto/x509"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// OpenSSLVerifyToken checks an RFC 3161 time-stamp token with
// `openssl ts -verify`, an implementation independent of this project:
// its imprint must be digest, its signature and ESS binding must verify,
// and its TSA's certificate must have a time-stamping path to roots
// (with untrusted offered as intermediates). It fails t otherwise, and
// when openssl is not installed.
func OpenSSLVerifyToken(t testing.TB, token, digest []byte, roots, untrusted []*x509.Certificate) {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is required: install it with `make deps` (apt-get install openssl)")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	args := []string{"ts", "-verify", "-token_in", "-in", write("token.der", token),
		"-digest", hex.EncodeToString(digest), "-CAfile", write("roots.pem", PEM(roots...))}
	if len(untrusted) > 0 {
		args = append(args, "-untrusted", write("untrusted.pem", PEM(untrusted...)))
	}
	out, err := exec.Command(openssl, args...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
}
