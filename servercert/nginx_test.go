package servercert_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type nginxSite struct {
	port      int
	certFile  string
	keyFile   string
	protocols string
	ciphers   string
	hsts      bool
}

// startNginx runs nginx in the foreground with every path in dir and stops
// it when the test ends.
func startNginx(t *testing.T, dir string, sites []nginxSite) {
	t.Helper()
	bin := nginxBinary(t)
	for _, sub := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
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
	for _, s := range sites {
		fmt.Fprintf(&conf, `  server {
    listen 127.0.0.1:%d ssl;
    server_name %s;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_protocols %s;
    ssl_ciphers %s;
    ssl_prefer_server_ciphers on;
`, s.port, hostName, s.certFile, s.keyFile, s.protocols, s.ciphers)
		if s.hsts {
			conf.WriteString("    add_header Strict-Transport-Security \"max-age=63072000; includeSubDomains\" always;\n")
		}
		conf.WriteString("    location / { return 200 \"ok\\n\"; }\n  }\n")
	}
	conf.WriteString("}\n")
	confPath := writeTemp(t, dir, "nginx.conf", []byte(conf.String()))

	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "logs", "error.log"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	errLog := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "logs", "error.log"))
		return out.String() + string(b)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, s := range sites {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 200*time.Millisecond)
			if err == nil {
				_ = c.Close()
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("nginx exited: %v\n%s", err, errLog())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("nginx did not listen on %d:\n%s", s.port, errLog())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
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
	if err != nil {
		t.Fatal(err)
	}
	sc := p.leaf(t, []string{hostName, "www.agency.gov.my"}, leafOpts{key: key})
	keyFile := filepath.Join(dir, "server.key")
	if err := servercert.WriteKeyFile(keyFile, key); err != nil {
		t.Fatal(err)
	}
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
	if err := servercert.WriteFile(full, rep.FullChainPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	leafOnly := writeTemp(t, dir, "leaf.pem", testpki.PEM(sc.cert))
	const modern = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
	good := nginxSite{port: freePort(t), certFile: full, keyFile: keyFile, protocols: "TLSv1.2 TLSv1.3", ciphers: modern, hsts: true}
	noInter := nginxSite{port: freePort(t), certFile: leafOnly, keyFile: keyFile, protocols: "TLSv1.2 TLSv1.3", ciphers: modern, hsts: true}
	legacy := nginxSite{port: freePort(t), certFile: full, keyFile: keyFile, protocols: "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3",
		ciphers: modern + ":ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0"}
	startNginx(t, dir, []nginxSite{good, noInter, legacy})

	for _, tc := range []struct {
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
				Address:       fmt.Sprintf("127.0.0.1:%d", tc.site.port),
				ServerName:    hostName,
				Roots:         p.roots,
				Intermediates: p.inters,
			})
			if err != nil {
				t.Fatal(err)
			}
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
