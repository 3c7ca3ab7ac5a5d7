package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// prodFlags are the flags of a production-mode command on a fresh data
// directory: no dev mode, the key-store passphrase from a file outside the
// data directory.
func prodFlags(t *testing.T) []string {
	t.Helper()
	pass := filepath.Join(t.TempDir(), "key-passphrase")
	require.NoError(t, os.WriteFile(pass, []byte("a long production passphrase\n"), 0o600))
	return []string{"-dev=false", "-data-dir", t.TempDir(), "-key-passphrase-file", pass}
}

// TestDevModeOnlyOnLoopback: development mode (demo users with printed
// PINs, the OTP mailbox page, signing without a host credential) refuses
// an address other machines can reach.
func TestDevModeOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		t.Run(addr, func(t *testing.T) {
			dir := t.TempDir()
			_, _, err := runCmd(t, "serve", "-data-dir", dir, "-listen", addr, "-ops-listen", "127.0.0.1:0")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "loopback")
			assert.Contains(t, err.Error(), "-dev=false")
			assert.NoFileExists(t, filepath.Join(dir, "demo-host.apikey"), "the server got as far as creating demo credentials")
		})
	}
}

// TestOneShotCommandsNeedNoOTPChannel: commands that never send an OTP
// run outside dev mode without SMTP or push settings.
func TestOneShotCommandsNeedNoOTPChannel(t *testing.T) {
	flags := prodFlags(t)
	out, errOut, err := runCmd(t, append([]string{"audit", "verify", "-quiet"}, flags...)...)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "audit chain intact: 0 records")
	out, errOut, err = runCmd(t, append([]string{"keys", "list"}, flags...)...)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "0 keys")
}

// TestCommandErrorsInPlainWords: a command's failure is printed in plain
// words with the stable code and a reference; the whole error, operation
// names and all, is logged under that reference at -log-level debug only.
func TestCommandErrorsInPlainWords(t *testing.T) {
	dir := t.TempDir()
	_, _, err := runCmdInput(t, "Baharu#2026\n", "pin", "reset", "-data-dir", dir, "-user", "900101145678")
	var ce *commandError
	require.ErrorAs(t, err, &ce)
	msg := err.Error()
	assert.Contains(t, msg, "[not_found; ref "+ce.ref)
	for _, internal := range []string{"service.", "store.", "sqlite.", "otp."} {
		assert.NotContains(t, msg, internal)
	}
	assert.Equal(t, 1, exitCode(err))

	_, errOut, err := runCmdInput(t, "Baharu#2026\n", "pin", "reset", "-data-dir", dir, "-user", "900101145678", "-log-level", "debug")
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, errOut, "ref="+ce.ref)
	assert.Contains(t, errOut, `msg="command failed"`)
}

// keysConfig loads a configuration from args and env and reads its API
// keys as the server does.
func keysConfig(t *testing.T, args []string, env map[string]string) (*app, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := loadConfig(fs, append([]string{"-dev=false", "-data-dir", t.TempDir()}, args...), func(k string) string { return env[k] })
	require.NoError(t, err)
	a := &app{cfg: cfg}
	return a, a.loadAPIKeys()
}

// TestAPIKeysConfiguration: host and administrator keys are configured by
// digest on the command line, from a file of mode 0600, or in clear from
// the environment; a clear key on the command line is refused outside dev
// mode without being repeated.
func TestAPIKeysConfiguration(t *testing.T) {
	hostKey, err := httpapi.NewAPIKey()
	require.NoError(t, err)
	adminKey, err := httpapi.NewAPIKey()
	require.NoError(t, err)
	out, _, err := runCmd(t, "apikey", "new", "-name", "ifmis")
	require.NoError(t, err)
	newKey, newLine := "", ""
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "key" {
			newKey = f[1]
		} else if len(f) == 2 && f[0] == "config" {
			newLine = f[1]
		}
	}
	require.NotEmpty(t, newKey, out)
	require.True(t, strings.HasPrefix(newLine, "ifmis=sha256:"), out)

	keysFile := func(mode os.FileMode, content string) string {
		p := filepath.Join(t.TempDir(), "keys")
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	digest := func(key string) string {
		d := httpapi.HashAPIKey(key)
		return "sha256:" + hex.EncodeToString(d[:])
	}

	t.Run("digests on the command line", func(t *testing.T) {
		a, err := keysConfig(t, []string{"-api-keys", newLine + ",epenyata=" + digest(hostKey), "-admin-keys", "ops=" + digest(adminKey)}, nil)
		require.NoError(t, err)
		for key, host := range map[string]string{newKey: "ifmis", hostKey: "epenyata"} {
			h, ok := a.apiKeys.Lookup(key)
			assert.True(t, ok)
			assert.EqualValues(t, host, h)
		}
		h, ok := a.admin.Lookup(adminKey)
		assert.True(t, ok, "admin keys are configurable outside dev mode")
		assert.EqualValues(t, "ops", h)
		_, ok = a.admin.Lookup(hostKey)
		assert.False(t, ok, "a host key opened the admin API")
	})
	t.Run("files of mode 0600", func(t *testing.T) {
		a, err := keysConfig(t, []string{
			"-api-keys-file", keysFile(0o600, "# hosts\nepenyata="+hostKey+"\n\n"+newLine+"\n"),
			"-admin-keys-file", keysFile(0o600, "ops="+digest(adminKey)+"\n"),
		}, nil)
		require.NoError(t, err)
		_, ok := a.apiKeys.Lookup(hostKey)
		assert.True(t, ok)
		_, ok = a.apiKeys.Lookup(newKey)
		assert.True(t, ok)
		_, ok = a.admin.Lookup(adminKey)
		assert.True(t, ok)
	})
	t.Run("clear key from the environment", func(t *testing.T) {
		a, err := keysConfig(t, nil, map[string]string{"ROAMSIGN_API_KEYS": "epenyata=" + hostKey})
		require.NoError(t, err)
		_, ok := a.apiKeys.Lookup(hostKey)
		assert.True(t, ok)
	})
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"clear host key on the command line":  {[]string{"-api-keys", "epenyata=" + hostKey}, "in clear on the command line"},
		"clear admin key on the command line": {[]string{"-admin-keys", "ops=" + adminKey}, "in clear on the command line"},
		"keys file readable by others":        {[]string{"-api-keys-file", keysFile(0o644, "epenyata="+hostKey+"\n")}, "readable by other users"},
		"short digest":                        {[]string{"-api-keys", "epenyata=sha256:abcd"}, "64 hexadecimal digits"},
		"entry without a key":                 {[]string{"-api-keys", "epenyata"}, "want name=sha256:HEX"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := keysConfig(t, tc.args, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), hostKey, "the error repeats a key")
			assert.NotContains(t, err.Error(), adminKey, "the error repeats a key")
		})
	}
}

// prodServer is a server started outside development mode, with what a
// production deployment configures: a TLS certificate of its own CA, the
// key-store passphrase outside the data directory, an SMTP channel, host
// keys by digest and administrator keys from a 0600 file.
type prodServer struct {
	*testServer
	flags             []string // the configuration, for one-shot commands
	hostKey, adminKey string
	anchorFile        string
}

func startProdServer(t *testing.T) *prodServer {
	t.Helper()
	return startProdServerIn(t, t.TempDir())
}

// startProdServerIn starts a production server on the data directory
// dir, with extra flags after its own (a flag given twice takes the later
// value).
func startProdServerIn(t *testing.T, dir string, extra ...string) *prodServer {
	t.Helper()
	secrets := t.TempDir() // outside the data directory
	root, err := testpki.NewRoot(testpki.Options{Name: "Agency TLS Root"})
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf, err := root.Issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "sign.agency.gov.my"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, key.Public())
	require.NoError(t, err)
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	write := func(name string, b []byte) string {
		p := filepath.Join(secrets, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	ps := &prodServer{anchorFile: filepath.Join(t.TempDir(), "checkpoints.jsonl")}
	ps.hostKey, err = httpapi.NewAPIKey()
	require.NoError(t, err)
	ps.adminKey, err = httpapi.NewAPIKey()
	require.NoError(t, err)
	hostDigest := httpapi.HashAPIKey(ps.hostKey)
	ps.flags = []string{
		"-dev=false",
		"-tls-cert", write("tls.pem", testpki.PEM(leaf, root.Cert)),
		"-tls-key", write("tls.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})),
		"-key-passphrase-file", write("key-passphrase", []byte("a long production passphrase\n")),
		"-smtp-addr", "127.0.0.1:25", "-smtp-from", "otp@agency.gov.my",
		"-api-keys", "ifmis=sha256:" + hex.EncodeToString(hostDigest[:]),
		"-admin-keys-file", write("admin-keys", []byte("ops="+ps.adminKey+"\n")),
		"-audit-anchor-file", ps.anchorFile,
	}
	ps.flags = append(ps.flags, extra...)
	ps.testServer = launch(t, dir, ps.flags...)
	ps.trust(root.Pool())
	return ps
}

// TestProductionServer runs the server as a production deployment does:
// no demo users, pages or mailbox; hosts and administrators authenticate
// with keys configured by digest and from a file; the audit chain is
// anchored in the configured file, and `audit verify` checks it without
// any OTP channel settings.
func TestProductionServer(t *testing.T) {
	ps := startProdServer(t)
	ctx := context.Background()
	assert.NotContains(t, ps.stdout.String(), "DEVELOPMENT MODE")
	for _, path := range []string{"/", "/dev/mailbox.json", "/demo/api/config"} {
		resp, err := ps.hc.Get(ps.base + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s is served outside dev mode", path)
	}

	client := func(key string) *httpapi.Client {
		c, err := httpapi.NewClient(ps.base, httpapi.ClientOptions{HTTPClient: ps.hc, APIKey: key})
		require.NoError(t, err)
		return c
	}
	_, err := client(ps.hostKey).Medium(ctx, roamsign.MediumRequest{User: demoUser1})
	assert.ErrorIs(t, err, roamsign.ErrNotFound, "the host key (configured by digest) authenticates")
	_, err = client("").Medium(ctx, roamsign.MediumRequest{User: demoUser1})
	assert.ErrorIs(t, err, roamsign.ErrUnauthenticated)
	enrolled, err := client(ps.adminKey).Enrol(ctx, roamsign.EnrolRequest{User: demoUser1, Name: "ALIYA BINTI AHMAD", Hosts: []roamsign.HostID{"ifmis"},
		Email: "aliya@agensi.gov.my", Media: []roamsign.MediumKind{roamsign.MediumRoamingOTP}})
	require.NoError(t, err, "the administrator key (from the file) authenticates")
	assert.NotEmpty(t, enrolled.CSR)
	err = client(ps.hostKey).Disable(ctx, roamsign.DisableRequest{User: demoUser1})
	assert.ErrorIs(t, err, roamsign.ErrUnauthenticated, "a host key opened the admin API")
	require.NoError(t, client(ps.adminKey).Disable(ctx, roamsign.DisableRequest{User: demoUser1}))
	require.NoError(t, ps.stop())

	// The one-shot command takes the settings it reads (its -h lists
	// them), never the OTP channel's or the listeners'.
	var flags []string
	for i := 0; i < len(ps.flags); i++ {
		switch ps.flags[i] {
		case "-dev=false":
			flags = append(flags, ps.flags[i])
		case "-key-passphrase-file", "-audit-anchor-file":
			flags = append(flags, ps.flags[i], ps.flags[i+1])
			i++
		}
	}
	out, errOut, err := runCmd(t, append([]string{"audit", "verify", "-quiet", "-data-dir", ps.dir}, flags...)...)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, out, "audit chain intact")
	assert.Contains(t, out, "anchored: records 1..")
	assert.Contains(t, out, ps.anchorFile)
}
