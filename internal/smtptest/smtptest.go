// Package smtptest runs a real SMTP server for tests: Debian's aiosmtpd
// (package python3-aiosmtpd) driven by a small embedded Python script. The
// server requires TLS (STARTTLS or implicit TLS) and AUTH with a generated
// user name and password, and stores every accepted message so that a test
// can read what was really delivered.
//
// # Overview
//
//	srv := smtptest.Start(t)               // STARTTLS on 127.0.0.1
//	// configure the code under test with srv.Addr, srv.Username,
//	// srv.Password and srv.RootCAs (or srv.TLSConfig())
//	msg := srv.WaitMessage(ctx, "a@agency.gov.my")
//	body, _ := io.ReadAll(msg.Parsed.Body)
//
// The server stops when the test ends. A missing python3-aiosmtpd fails the
// test with instructions; it never skips.
//
// # Configuration
//
// The interpreter is $SMTPTEST_PYTHON when set, else /usr/bin/python3 when
// it exists, else python3 from $PATH. Debian's aiosmtpd lives in the system
// interpreter's dist-packages, so /usr/bin/python3 is preferred over, for
// example, a pyenv shim.
package smtptest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

//go:embed server.py
var serverPy []byte

// Mode selects how clients reach TLS.
type Mode string

// The modes.
const (
	// STARTTLS: a plain connection upgraded with STARTTLS (port 587 style).
	// AUTH and MAIL are refused before the upgrade.
	STARTTLS Mode = "starttls"
	// ImplicitTLS: TLS from the first byte (port 465 style).
	ImplicitTLS Mode = "tls"
)

// Server is a running SMTP server.
type Server struct {
	// Addr is host:port of the server ("127.0.0.1:NNNNN").
	Addr string
	// Host is the server name to use for TLS and AUTH ("127.0.0.1"; the
	// certificate is valid for it and for "localhost").
	Host string
	// Mode is STARTTLS or ImplicitTLS.
	Mode Mode
	// Username and Password are the only credentials AUTH accepts.
	Username, Password string
	// RootCAs trusts the server's generated certificate.
	RootCAs *x509.CertPool
	// CertFile is that certificate (PEM), for code configured with a CA
	// file.
	CertFile string

	dir  string
	mu   sync.Mutex
	seen map[string]bool
}

// Message is one delivered message.
type Message struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	Raw  []byte   // the message as received (headers and body)
	// Parsed is Raw parsed with net/mail; its Body reads the raw body.
	Parsed *mail.Message
}

// Start starts a STARTTLS server and stops it when tb ends.
func Start(tb testing.TB) *Server { return StartMode(tb, STARTTLS) }

// StartMode starts a server in the given mode and stops it when tb ends.
func StartMode(tb testing.TB, mode Mode) *Server {
	tb.Helper()
	py := python(tb)
	dir := tb.TempDir()
	out := filepath.Join(dir, "mail")
	if err := os.Mkdir(out, 0o700); err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	certFile, keyFile, pool := writeCert(tb, dir)
	script := filepath.Join(dir, "server.py")
	if err := os.WriteFile(script, serverPy, 0o600); err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	user := "otp-" + randHex(tb, 4)
	pass := randHex(tb, 12)

	cmd := exec.Command(py, script, string(mode), certFile, keyFile, user, pass, out)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("smtptest: starting %s: %v", py, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- p
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var port string
	select {
	case port = <-ready:
	case <-done:
		tb.Fatalf("smtptest: SMTP server exited before it was ready: %s", stderr.String())
	case <-time.After(20 * time.Second):
		tb.Fatalf("smtptest: SMTP server not ready after 20s: %s", stderr.String())
	}
	return &Server{
		Addr:     net.JoinHostPort("127.0.0.1", port),
		Host:     "127.0.0.1",
		Mode:     mode,
		Username: user,
		Password: pass,
		RootCAs:  pool,
		CertFile: certFile,
		dir:      out,
		seen:     map[string]bool{},
	}
}

// TLSConfig returns a client TLS configuration that trusts the server.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.RootCAs, ServerName: s.Host, MinVersion: tls.VersionTLS12}
}

// Messages returns every message delivered so far, oldest first, without
// marking them as seen.
func (s *Server) Messages() ([]*Message, error) {
	names, err := s.list()
	if err != nil {
		return nil, err
	}
	var ms []*Message
	for _, n := range names {
		m, err := s.read(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// WaitMessage waits until a message for the envelope recipient to (compared
// without case) arrives that no earlier WaitMessage returned, and returns
// it. It returns ctx's error when ctx ends first.
func (s *Server) WaitMessage(ctx context.Context, to string) (*Message, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		names, err := s.list()
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			s.mu.Lock()
			seen := s.seen[n]
			s.mu.Unlock()
			if seen {
				continue
			}
			m, err := s.read(n)
			if err != nil {
				return nil, err
			}
			for _, r := range m.To {
				if strings.EqualFold(r, to) {
					s.mu.Lock()
					s.seen[n] = true
					s.mu.Unlock()
					return m, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("smtptest: no message for %s: %w", to, ctx.Err())
		case <-t.C:
		}
	}
}

func (s *Server) list() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("smtptest: %w", err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".json") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func (s *Server) read(name string) (*Message, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, name))
	if err != nil {
		return nil, fmt.Errorf("smtptest: %w", err)
	}
	var doc struct {
		MailFrom string   `json:"mail_from"`
		RcptTos  []string `json:"rcpt_tos"`
		Data     []byte   `json:"data"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("smtptest: %s: %w", name, err)
	}
	m := &Message{From: doc.MailFrom, To: doc.RcptTos, Raw: doc.Data}
	pm, err := mail.ReadMessage(bytes.NewReader(doc.Data))
	if err != nil {
		return nil, fmt.Errorf("smtptest: parsing message %s: %w", name, err)
	}
	m.Parsed = pm
	return m, nil
}

var (
	pyOnce  sync.Once
	pyPath  string
	pyTried []string
)

// python finds an interpreter with aiosmtpd once per test binary.
func python(tb testing.TB) string {
	tb.Helper()
	pyOnce.Do(func() { pyPath, pyTried = findPython() })
	if pyPath == "" {
		tb.Fatalf("smtptest: no Python 3 with aiosmtpd found (tried %v); install it with "+
			"`apt-get install -y python3-aiosmtpd` (or `make deps`), or point SMTPTEST_PYTHON at an interpreter that has it", pyTried)
	}
	return pyPath
}

func findPython() (string, []string) {
	candidates := []string{}
	if p := os.Getenv("SMTPTEST_PYTHON"); p != "" {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/python3")
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	var tried []string
	for _, p := range candidates {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := exec.Command(p, "-c", "import aiosmtpd.smtp, ssl").Run(); err == nil {
			return p, tried
		}
		tried = append(tried, p)
	}
	return "", tried
}

func writeCert(tb testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func randHex(tb testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("smtptest: %v", err)
	}
	return fmt.Sprintf("%x", b)
}
