package servercert_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/servercert"
)

// nginxBinary finds Debian's nginx; the test fails (never skips) without it.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	t.Fatal("nginx is required for this test: install it with `make deps` (apt-get install -y nginx)")
	return ""
}

// portOnce returns a loopback port that was free a moment ago. Another
// process can take it before nginx binds it: startNginx then sees nginx
// fail to bind and tries new ports, and it accepts a site only when the
// site answers with its own token, never someone else's listener.
func portOnce(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type nginxSite struct {
	certFile  string
	keyFile   string
	protocols string
	ciphers   string
	hsts      bool
}

// nginxRun is a running nginx: the address of each site, in order.
type nginxRun struct{ addrs []string }

// startNginx runs nginx in the foreground with every path in dir, serving
// sites on loopback ports, and stops it when the test ends. Each site
// answers "/" with a random token, and nginx is ready when every site's
// own token comes back over TLS. When a port was taken by another process
// (nginx cannot bind it and exits), it starts again on new ports.
func startNginx(t *testing.T, dir string, sites []nginxSite) nginxRun {
	t.Helper()
	return startNginxPorts(t, dir, sites, func() int { return portOnce(t) })
}

// startNginxPorts is startNginx with the port picker given.
func startNginxPorts(t *testing.T, dir string, sites []nginxSite, pick func() int) nginxRun {
	t.Helper()
	bin := nginxBinary(t)
	for _, sub := range []string{"logs", "tmp"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, sub), 0o755))
	}
	for attempt := 1; ; attempt++ {
		run, taken := tryNginx(t, bin, dir, sites, pick)
		if !taken {
			return run
		}
		if attempt == 5 {
			t.Fatalf("nginx could not bind its ports in %d attempts", attempt)
		}
		t.Logf("a port was taken before nginx bound it; attempt %d with new ports", attempt+1)
	}
}

// tryNginx starts nginx once; taken reports that it exited because a port
// was in use.
func tryNginx(t *testing.T, bin, dir string, sites []nginxSite, pick func() int) (run nginxRun, taken bool) {
	t.Helper()
	tokens := make([]string, len(sites))
	for i := range sites {
		run.addrs = append(run.addrs, fmt.Sprintf("127.0.0.1:%d", pick()))
		tokens[i] = fmt.Sprintf("site-%d-%s", i, randToken(t))
	}
	confPath := writeTemp(t, dir, "nginx.conf", []byte(nginxConf(dir, sites, run.addrs, tokens)))
	errLogPath := filepath.Join(dir, "logs", "error.log")
	_ = os.Remove(errLogPath)
	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-e", errLogPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start(), "start nginx")
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	errLog := func() string {
		b, _ := os.ReadFile(errLogPath)
		return out.String() + string(b)
	}
	deadline := time.Now().Add(15 * time.Second)
	for i, addr := range run.addrs {
		for !answers(addr, tokens[i]) {
			select {
			case err := <-exited:
				if strings.Contains(errLog(), "Address already in use") {
					return run, true
				}
				t.Fatalf("nginx exited: %v\n%s", err, errLog())
			default:
			}
			if time.Now().After(deadline) {
				stop()
				t.Fatalf("nginx site %d did not answer with its token on %s:\n%s", i, addr, errLog())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Cleanup(stop)
	return run, false
}

// answers reports whether the HTTPS site at addr answers "/" with token.
// The certificate is not checked here: the token identifies the site, and
// the certificate is what the test grades next.
func answers(addr, token string) bool {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: hostName}, //nolint:gosec // identity probe only
	}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("https://" + addr + "/")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return err == nil && strings.TrimSpace(string(b)) == "ok "+token
}

func randToken(t *testing.T) string {
	var b [12]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return hex.EncodeToString(b[:])
}

// nginxConf is the configuration of sites on addrs, each answering "/"
// with "ok " and its token.
func nginxConf(dir string, sites []nginxSite, addrs, tokens []string) string {
	var conf strings.Builder
	if os.Geteuid() == 0 {
		conf.WriteString("user nobody nogroup;\n")
	}
	fmt.Fprintf(&conf, `daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
`, dir)
	for i, s := range sites {
		fmt.Fprintf(&conf, `  server {
    listen %s ssl;
    server_name %s;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_protocols %s;
    ssl_ciphers %s;
    ssl_prefer_server_ciphers on;
`, addrs[i], hostName, s.certFile, s.keyFile, s.protocols, s.ciphers)
		if s.hsts {
			conf.WriteString("    add_header Strict-Transport-Security \"max-age=63072000; includeSubDomains\" always;\n")
		}
		fmt.Fprintf(&conf, "    location / { return 200 \"ok %s\\n\"; }\n  }\n", tokens[i])
	}
	conf.WriteString("}\n")
	return conf.String()
}

// TestGradeNginx grades Debian's nginx serving bundles made by CheckBundle:
// a sound site, one that forgot the intermediate and one with TLS 1.0 and
// CBC suites enabled.
func TestGradeNginx(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // nginx workers run as nobody
		t.Fatal(err)
	}
	key, err := servercert.GenerateKey(servercert.P256)
	require.NoError(t, err)
	sc := p.leaf(t, []string{hostName, "www.agency.gov.my"}, leafOpts{key: key})
	keyFile := filepath.Join(dir, "server.key")
	require.NoError(t, servercert.WriteKeyFile(keyFile, key))
	// The CA's bundle arrives in the wrong order with the root; the check
	// writes the fullchain.pem that nginx serves.
	rep, err := servercert.CheckBundle(servercert.BundleRequest{
		Certificate: servercert.Input{Name: "bundle.pem", Data: bytes.Join([][]byte{testpki.PEM(p.root.Cert), testpki.PEM(sc.cert), testpki.PEM(p.inter.Cert)}, nil)},
		Key:         key, Names: []string{hostName}, Roots: p.roots,
	})
	if err != nil || !rep.OK || !rep.Reordered {
		t.Fatalf("bundle: %v %+v", err, rep)
	}
	full := filepath.Join(dir, "fullchain.pem")
	require.NoError(t, servercert.WriteFile(full, rep.FullChainPEM(), 0o644))
	leafOnly := writeTemp(t, dir, "leaf.pem", testpki.PEM(sc.cert))
	const modern = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
	good := nginxSite{certFile: full, keyFile: keyFile, protocols: "TLSv1.2 TLSv1.3", ciphers: modern, hsts: true}
	noInter := nginxSite{certFile: leafOnly, keyFile: keyFile, protocols: "TLSv1.2 TLSv1.3", ciphers: modern, hsts: true}
	legacy := nginxSite{certFile: full, keyFile: keyFile, protocols: "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3",
		ciphers: modern + ":ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0"}
	ngx := startNginx(t, dir, []nginxSite{good, noInter, legacy})

	for i, tc := range []struct {
		name  string
		site  nginxSite
		grade string
		caps  [][2]string
	}{
		{"full chain, modern", good, "A+", nil},
		{"missing intermediate", noInter, "B", [][2]string{{"B", "intermediate"}}},
		{"TLS 1.0 and CBC, no HSTS", legacy, "B", [][2]string{{"B", "TLS 1.0"}, {"A-", "CBC"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rep, err := servercert.Grade(ctx, servercert.GradeRequest{
				Address:       ngx.addrs[i],
				ServerName:    hostName,
				Roots:         p.roots,
				Intermediates: p.inters,
			})
			require.NoError(t, err)
			if rep.Grade != tc.grade {
				t.Fatalf("grade %s, want %s\n%s", rep.Grade, tc.grade, rep.Text())
			}
			for _, c := range tc.caps {
				if !hasCap(rep, c[0], c[1]) {
					t.Errorf("cap %s %q missing:\n%s", c[0], c[1], rep.Text())
				}
			}
			if tc.site.hsts != (rep.HSTSMaxAge == 63072000) {
				t.Errorf("HSTS %q", rep.HSTS)
			}
			if tc.site == legacy {
				for _, pr := range rep.Protocols {
					if pr.Name == "TLS 1.0" && !pr.Supported {
						t.Errorf("TLS 1.0 not detected on nginx:\n%s", rep.Text())
					}
				}
			}
			var served []string
			for _, c := range rep.Chain {
				served = append(served, c.Role)
			}
			t.Logf("nginx served %v, grade %s", served, rep.Grade)
		})
	}
}

// TestNginxStartSkipsAForeignListener: when another process holds the port
// picked for a site, startNginx neither takes that listener for nginx nor
// fails: nginx cannot bind, and it starts again on new ports.
func TestNginxStartSkipsAForeignListener(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755)) // nginx workers run as nobody
	key, err := servercert.GenerateKey(servercert.P256)
	require.NoError(t, err)
	sc := p.leaf(t, []string{hostName}, leafOpts{key: key})
	keyFile := filepath.Join(dir, "server.key")
	require.NoError(t, servercert.WriteKeyFile(keyFile, key))
	certFile := writeTemp(t, dir, "leaf.pem", testpki.PEM(sc.cert))

	// Someone else's HTTPS server, answering "/" with "ok" and a token of
	// its own.
	foreign := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok site-0-not-nginx\n")
	}))
	defer foreign.Close()
	taken := foreign.Listener.Addr().(*net.TCPAddr).Port
	picks := 0
	ngx := startNginxPorts(t, dir, []nginxSite{{certFile: certFile, keyFile: keyFile, protocols: "TLSv1.2 TLSv1.3", ciphers: "HIGH"}}, func() int {
		picks++
		if picks == 1 {
			return taken
		}
		return portOnce(t)
	})
	require.Len(t, ngx.addrs, 1)
	require.NotEqual(t, foreign.Listener.Addr().String(), ngx.addrs[0], "the foreign listener was taken for nginx")
	require.GreaterOrEqual(t, picks, 2, "nginx was not started again")
}
