package servercert_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golang.org/x/crypto/ocsp"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/servercert"
)

const hostName = "portal.agency.gov.my"

// goodSuites is a sound TLS 1.2 suite list (forward secrecy, AEAD only).
var goodSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// startTLS serves HTTPS on loopback with cfg; hsts adds the header.
func startTLS(t *testing.T, cfg *tls.Config, hsts string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hsts != "" {
			w.Header().Set("Strict-Transport-Security", hsts)
		}
		_, _ = w.Write([]byte("ok"))
	}))
	srv.TLS = cfg
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused probes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func gradeIt(t *testing.T, p *testPKI, addr string, mod func(*servercert.GradeRequest)) *servercert.GradeReport {
	t.Helper()
	req := servercert.GradeRequest{
		Address:       addr,
		ServerName:    hostName,
		Roots:         p.roots,
		Intermediates: p.inters,
		Timeout:       5 * time.Second,
	}
	if mod != nil {
		mod(&req)
	}
	rep, err := servercert.Grade(context.Background(), req)
	require.NoError(t, err)
	return rep
}

func hasCap(rep *servercert.GradeReport, grade, substr string) bool {
	for _, c := range rep.Caps {
		if c.Grade == grade && strings.Contains(c.Reason, substr) {
			return true
		}
	}
	return false
}

func TestGradeCryptoTLS(t *testing.T) {
	p := newPKI(t)
	sc := p.leaf(t, []string{hostName, "www.agency.gov.my"}, leafOpts{})
	full := tlsCert(sc, p.inter.Cert)
	const longHSTS = "max-age=31536000; includeSubDomains"

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaLeaf := p.leaf(t, []string{hostName}, leafOpts{key: rsaKey})
	smallKey, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	smallLeaf := p.leaf(t, []string{hostName}, leafOpts{key: smallKey})
	expired := p.leaf(t, []string{hostName}, leafOpts{notBefore: time.Now().AddDate(-2, 0, 0), notAfter: time.Now().AddDate(0, 0, -1)})
	other := p.leaf(t, []string{"other.agency.gov.my"}, leafOpts{})

	cbc := []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	}
	for _, tc := range []struct {
		name     string
		cfg      *tls.Config
		hsts     string
		mod      func(*servercert.GradeRequest)
		grade    string
		ignoring string
		caps     [][2]string // grade, reason substring
		check    func(t *testing.T, rep *servercert.GradeReport)
	}{
		{
			name: "well configured", grade: "A+",
			cfg:  &tls.Config{Certificates: []tls.Certificate{full}, MinVersion: tls.VersionTLS12, CipherSuites: goodSuites},
			hsts: longHSTS,
			check: func(t *testing.T, rep *servercert.GradeReport) {
				if !rep.ChainComplete || !rep.ChainInOrder || !rep.Trusted || !rep.NameMatches || len(rep.Caps) != 0 {
					t.Errorf("report %+v", rep)
				}
				for _, s := range rep.Suites {
					if s.Weak != "" {
						t.Errorf("weak suite reported on a good server: %+v", s)
					}
				}
			},
		},
		{
			name: "no HSTS", grade: "A",
			cfg: &tls.Config{Certificates: []tls.Certificate{full}, MinVersion: tls.VersionTLS12, CipherSuites: goodSuites},
			check: func(t *testing.T, rep *servercert.GradeReport) {
				if !strings.Contains(strings.Join(rep.Reasons, "\n"), "no Strict-Transport-Security") {
					t.Errorf("reasons %v", rep.Reasons)
				}
			},
		},
		{
			name: "short HSTS", grade: "A",
			cfg:  &tls.Config{Certificates: []tls.Certificate{full}, MinVersion: tls.VersionTLS12, CipherSuites: goodSuites},
			hsts: "max-age=3600",
		},
		{
			name: "TLS 1.0 allowed", grade: "B",
			cfg: &tls.Config{Certificates: []tls.Certificate{full}, MinVersion: tls.VersionTLS10,
				CipherSuites: append([]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}, goodSuites...)},
			hsts: longHSTS,
			caps: [][2]string{{"B", "TLS 1.0"}},
			check: func(t *testing.T, rep *servercert.GradeReport) {
				seen := map[string]bool{}
				for _, pr := range rep.Protocols {
					seen[pr.Name] = pr.Supported
					if pr.Name == "SSLv3" && (pr.Tested || !strings.Contains(pr.Note, "cannot speak SSLv3")) {
						t.Errorf("SSLv3 entry %+v", pr)
					}
				}
				if !seen["TLS 1.0"] || !seen["TLS 1.1"] || !seen["TLS 1.2"] || !seen["TLS 1.3"] {
					t.Errorf("protocols %+v", rep.Protocols)
				}
			},
		},
		{
			name: "missing intermediate", grade: "B",
			cfg:  &tls.Config{Certificates: []tls.Certificate{tlsCert(sc)}, MinVersion: tls.VersionTLS12, CipherSuites: goodSuites},
			hsts: longHSTS,
			caps: [][2]string{{"B", "intermediate"}},
			check: func(t *testing.T, rep *servercert.GradeReport) {
				if rep.ChainComplete || !rep.Trusted {
					t.Errorf("complete=%v trusted=%v", rep.ChainComplete, rep.Trusted)
				}
			},
		},
		{
			name: "missing intermediate, unknown to the grader", grade: "T", ignoring: "A+",
			cfg:  &tls.Config{Certificates: []tls.Certificate{tlsCert(sc)}, MinVersion: tls.VersionTLS12, CipherSuites: goodSuites},
			hsts: longHSTS,
			mod:  func(r *servercert.GradeRequest) { r.Intermediates = nil },
			caps: [][2]string{{"T", "trusted root"}},
		},
		{
			name: "chain out of order", grade: "A-",
			cfg:  &tls.Config{Certificates: []tls.Certificate{tlsCert(sc, p.root.Cert, p.inter.Cert)}, MinVersion: tls.VersionTLS12, CipherSuites: goodSuites},
			hsts: longHSTS,
			caps: [][2]string{{"A-", "out of order"}},
		},
		{
			name: "weak CBC suites", grade: "A-",
			cfg:  &tls.Config{Certificates: []tls.Certificate{full}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: cbc},
			hsts: longHSTS,
			caps: [][2]string{{"A-", "CBC"}},
			check: func(t *testing.T, rep *servercert.GradeReport) {
				weak := 0
				for _, s := range rep.Suites {
					if strings.Contains(s.Weak, "CBC") {
						weak++
					}
				}
				if weak != 2 || len(rep.Suites) != 3 {
					t.Errorf("suites %+v", rep.Suites)
				}
			},
		},
		{
			name: "3DES and RSA key exchange", grade: "C",
			cfg: &tls.Config{Certificates: []tls.Certificate{tlsCert(rsaLeaf, p.inter.Cert)}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}},
			hsts: longHSTS,
			caps: [][2]string{{"C", "3DES"}, {"A-", "forward secrecy"}},
		},
		{
			name: "no forward secrecy", grade: "B",
			cfg: &tls.Config{Certificates: []tls.Certificate{tlsCert(rsaLeaf, p.inter.Cert)}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}},
			hsts: longHSTS,
			caps: [][2]string{{"B", "no forward secrecy"}},
		},
		{
			name: "RSA 1024 key", grade: "B",
			cfg:  &tls.Config{Certificates: []tls.Certificate{tlsCert(smallLeaf, p.inter.Cert)}, MinVersion: tls.VersionTLS12, CipherSuites: goodSuites},
			hsts: longHSTS,
			caps: [][2]string{{"B", "RSA key of 1024 bits"}},
		},
		{
			name: "expired", grade: "T", ignoring: "A+",
			cfg:  &tls.Config{Certificates: []tls.Certificate{tlsCert(expired, p.inter.Cert)}, MinVersion: tls.VersionTLS12, CipherSuites: goodSuites},
			hsts: longHSTS,
			caps: [][2]string{{"T", "expired"}},
		},
		{
			name: "name mismatch", grade: "M", ignoring: "A+",
			cfg:  &tls.Config{Certificates: []tls.Certificate{tlsCert(other, p.inter.Cert)}, MinVersion: tls.VersionTLS12, CipherSuites: goodSuites},
			hsts: longHSTS,
			caps: [][2]string{{"M", "do not match"}},
		},
		{
			name: "untrusted root", grade: "T",
			cfg:  &tls.Config{Certificates: []tls.Certificate{full}, MinVersion: tls.VersionTLS12, CipherSuites: goodSuites},
			hsts: longHSTS,
			mod:  func(r *servercert.GradeRequest) { r.Roots = newPKI(t).roots },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startTLS(t, tc.cfg, tc.hsts)
			rep := gradeIt(t, p, addr, tc.mod)
			if rep.Grade != tc.grade {
				t.Fatalf("grade %s, want %s\n%s", rep.Grade, tc.grade, rep.Text())
			}
			if tc.ignoring != "" && rep.GradeIgnoringTrust != tc.ignoring {
				t.Errorf("grade ignoring trust %s, want %s", rep.GradeIgnoringTrust, tc.ignoring)
			}
			for _, c := range tc.caps {
				if !hasCap(rep, c[0], c[1]) {
					t.Errorf("cap %s %q missing:\n%s", c[0], c[1], rep.Text())
				}
			}
			if tc.check != nil {
				tc.check(t, rep)
			}
		})
	}
}

func TestGradeOCSPStapling(t *testing.T) {
	p := newPKI(t)
	sc := p.leaf(t, []string{hostName}, leafOpts{})
	for _, status := range []int{ocsp.Good, ocsp.Revoked} {
		resp, err := ocsp.CreateResponse(p.inter.Cert, p.inter.Cert, ocsp.Response{
			Status: status, SerialNumber: sc.cert.SerialNumber,
			ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour),
			RevokedAt: time.Now().Add(-time.Minute),
		}, p.inter.Key)
		require.NoError(t, err)
		tc := tlsCert(sc, p.inter.Cert)
		tc.OCSPStaple = resp
		addr := startTLS(t, &tls.Config{Certificates: []tls.Certificate{tc}, CipherSuites: goodSuites}, "max-age=31536000")
		rep := gradeIt(t, p, addr, nil)
		if !rep.OCSPStapled {
			t.Fatal("stapled response not seen")
		}
		switch status {
		case ocsp.Good:
			if rep.OCSPStatus != "good" || rep.Grade != "A+" {
				t.Fatalf("status %s grade %s", rep.OCSPStatus, rep.Grade)
			}
		case ocsp.Revoked:
			if rep.OCSPStatus != "revoked" || rep.Grade != "T" {
				t.Fatalf("status %s grade %s", rep.OCSPStatus, rep.Grade)
			}
		}
	}
}

func TestGradeUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	_ = l.Close()
	_, err = servercert.Grade(context.Background(), servercert.GradeRequest{Address: addr, Timeout: time.Second})
	if !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("closed port: %v", err)
	}
	// A plain TCP server that never speaks TLS.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SSH-2.0-nope\r\n"))
			_ = c.Close()
		}
	}()
	_, err = servercert.Grade(context.Background(), servercert.GradeRequest{Address: l.Addr().String(), Timeout: time.Second})
	if !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("non-TLS server: %v", err)
	}
	if _, err := servercert.Grade(context.Background(), servercert.GradeRequest{Address: "no-port"}); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("bad address: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := servercert.Grade(ctx, servercert.GradeRequest{Address: l.Addr().String()}); !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("cancelled: %v", err)
	}
}

var _ crypto.Signer = hsmKey{}
var _ = x509.Certificate{}
