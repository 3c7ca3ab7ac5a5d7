package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/devmailbox"
	"github.com/roamsign/roamsign/internal/leakcheck"
)

// testServer is a sign server started in-process through run, as the
// command line starts it, on free loopback ports.
type testServer struct {
	t       testing.TB
	dir     string
	base    string // https://127.0.0.1:port
	ops     string // http://127.0.0.1:port
	hc      *http.Client
	caPool  *x509.CertPool
	cancel  context.CancelFunc
	done    chan error
	stopped bool
	stdout  *syncBuffer
	stderr  *syncBuffer
}

// syncBuffer is a buffer safe for the server goroutine to write while the
// test reads it.
type syncBuffer = leakcheck.Buffer

// fastArgon2 keeps PIN hashing cheap in tests (the minimum Validate allows).
var fastArgon2 = []string{"-argon2-memory-kib", "8192", "-argon2-time", "1", "-argon2-threads", "1"}

// loopbackListener listens on a port of the loopback interface chosen by
// the kernel. The test keeps the socket and hands it to the server, so no
// other process can take the port in between.
func loopbackListener(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	return ln
}

// startServer runs `signserver serve` on dir in development mode, with
// extra flags, on listeners the test opened, and waits until /readyz
// answers 200. Its client trusts the development CA. The server is
// stopped when the test ends.
func startServer(t testing.TB, dir string, extra ...string) *testServer {
	t.Helper()
	s := launch(t, dir, extra...)
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca", "ca.pem"))
	require.NoError(t, err, "dev CA")
	require.True(t, pool.AppendCertsFromPEM(caPEM), "dev CA %s holds no certificate", filepath.Join(dir, "ca", "ca.pem"))
	s.trust(pool)
	return s
}

// launch runs `signserver serve` on dir with extra flags on listeners the
// test opened and waits until /readyz answers 200; the caller sets the
// client's trust (trust). The server is stopped when the test ends.
func launch(t testing.TB, dir string, extra ...string) *testServer {
	t.Helper()
	lns := listeners{api: loopbackListener(t), ops: loopbackListener(t)}
	listen, opsListen := lns.api.Addr().String(), lns.ops.Addr().String()
	args := append([]string{"-data-dir", dir, "-listen", listen, "-ops-listen", opsListen, "-log-level", "warn"}, fastArgon2...)
	fs := flag.NewFlagSet("signserver serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, err := loadConfig(fs, append(args, extra...), getenv)
	if err != nil {
		lns.Close()
		t.Fatalf("configuration %v: %v", extra, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{t: t, dir: dir, base: "https://" + listen, ops: "http://" + opsListen,
		cancel: cancel, done: make(chan error, 1), stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	go func() { s.done <- serve(ctx, cfg, lns, s.stdout, s.stderr) }()
	t.Cleanup(func() {
		if !s.stopped {
			_ = s.stop()
		}
		if t.Failed() {
			t.Logf("server %s stdout:\n%s\nstderr:\n%s", listen, s.stdout.String(), s.stderr.String())
		}
	})
	s.waitReady()
	return s
}

// trust makes the test's HTTPS client trust pool for the server.
func (s *testServer) trust(pool *x509.CertPool) {
	s.caPool = pool
	s.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
}

func (s *testServer) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.stopped = true
			s.t.Fatalf("server exited before it was ready: %v\n%s", err, s.stderr.String())
		default:
		}
		resp, err := hc.Get(s.ops + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("server not ready at %s/readyz within 60 s", s.ops)
}

// stop cancels the server's context (as SIGTERM does) and returns what run
// returned.
func (s *testServer) stop() error {
	s.t.Helper()
	s.cancel()
	s.stopped = true
	select {
	case err := <-s.done:
		return err
	case <-time.After(40 * time.Second):
		return errors.New("server did not stop within 40 s")
	}
}

// apiKey returns the demo host's API key created on first start.
func (s *testServer) apiKey() string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "demo-host.apikey"))
	if err != nil {
		s.t.Fatalf("demo host API key: %v", err)
	}
	return strings.TrimSpace(string(b))
}

var (
	otpLine   = regexp.MustCompile(`Kod OTP anda untuk tandatangan digital: (\d{6})`)
	vcodeLine = regexp.MustCompile(`Kod pengesahan: (\S+)`)
)

// readOTP returns the OTP of the newest development mailbox message to
// email whose verification code is vcode, polling briefly.
func readOTP(t testing.TB, hc *http.Client, base, email, vcode string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := hc.Get(base + "/dev/mailbox.json")
		require.NoError(t, err, "mailbox")
		var msgs []devmailbox.Message
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&msgs)
		resp.Body.Close()
		require.NoError(t, err, "mailbox JSON")
		for _, m := range msgs {
			vc := vcodeLine.FindStringSubmatch(m.Body)
			otp := otpLine.FindStringSubmatch(m.Body)
			if m.To == email && vc != nil && vc[1] == vcode && otp != nil {
				return otp[1]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no OTP for %s with verification code %q in the mailbox (%d messages)", email, vcode, len(msgs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// demoEmail returns the e-mail address of a demo user.
func demoEmail(t testing.TB, id string) string {
	t.Helper()
	for _, u := range demoUsers {
		if string(u.ID) == id {
			return u.Email
		}
	}
	t.Fatalf("no demo user %s", id)
	return ""
}

// get fetches path from the server with the CA-trusting client.
func (s *testServer) get(path string) []byte {
	s.t.Helper()
	resp, err := s.hc.Get(s.base + path)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: status %d, err %v: %.200s", path, resp.StatusCode, err, b)
	}
	return b
}

// postJSON posts v to path and decodes the JSON answer into out; it returns
// the status code.
func (s *testServer) postJSON(path string, v, out any) int {
	s.t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := s.hc.Post(s.base+path, "application/json", bytes.NewReader(body))
	if err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("POST %s: status %d, answer not JSON: %v: %.200s", path, resp.StatusCode, err, b)
		}
	}
	return resp.StatusCode
}

// uploadDoc sends doc to the host demo's upload endpoint as the page does
// (the file as the raw request body) and returns the upload's id.
func (s *testServer) uploadDoc(doc []byte) string {
	s.t.Helper()
	resp, err := s.hc.Post(s.base+"/demo/api/upload", "application/pdf", bytes.NewReader(doc))
	require.NoError(s.t, err, "upload")
	defer resp.Body.Close()
	var out struct{ Upload string }
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	require.Equal(s.t, http.StatusOK, resp.StatusCode, "upload: %s", b)
	require.NoError(s.t, json.Unmarshal(b, &out))
	return out.Upload
}

// runCmd runs a subcommand in-process and returns its output.
func runCmd(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return runCmdInput(t, "", args...)
}

// runCmdInput runs a subcommand in-process with stdin as its standard
// input and returns its output.
func runCmdInput(t testing.TB, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = run(ctx, args, strings.NewReader(stdin), &o, &e)
	return o.String(), e.String(), err
}

// checkTool returns the path of an external tool, failing the test with
// install advice when it is missing.
func checkTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (%v): install the test dependencies with `make deps` (Debian: poppler-utils, qpdf, chromium)", name, err)
	}
	return p
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// checkPDF checks a signed PDF with the independent tools: pdfsig must
// report wantSigs signatures, each "Signature is Valid.", and qpdf --check
// must find no damage.
func checkPDF(t testing.TB, file string, wantSigs int) {
	t.Helper()
	pdfsig, qpdf := checkTool(t, "pdfsig"), checkTool(t, "qpdf")
	out, err := exec.Command(pdfsig, file).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfsig %s: %v\n%s", file, err, out)
	}
	if n := strings.Count(string(out), "Signature is Valid."); n != wantSigs {
		t.Fatalf("pdfsig: want %d valid signatures, found %d:\n%s", wantSigs, n, out)
	}
	// Document time-stamps (PAdES B-LTA) are listed as "Signature Type:
	// unknown" by poppler, which does not validate them; they are counted
	// apart (their tokens are checked by the B-LTA tests).
	if n := strings.Count(string(out), "Signature #") - strings.Count(string(out), "Signature Type: unknown"); n != wantSigs {
		t.Fatalf("pdfsig: want %d signatures, found %d:\n%s", wantSigs, n, out)
	}
	out, err = exec.Command(qpdf, "--check", file).CombinedOutput()
	if err != nil {
		t.Fatalf("qpdf --check %s: %v\n%s", file, err, out)
	}
	if !strings.Contains(string(out), "No syntax or stream encoding errors found") {
		t.Fatalf("qpdf --check: unexpected output:\n%s", out)
	}
}
