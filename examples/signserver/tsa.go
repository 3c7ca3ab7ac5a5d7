package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roamsign/roamsign/internal/atomicfile"
	"github.com/roamsign/roamsign/internal/devtsa"
	"github.com/roamsign/roamsign/servercert"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/tsa"
	"github.com/roamsign/roamsign/verify"
)

// openTSA builds the time-stamping client from -tsa-url, or, in
// development mode with no -tsa-url, from a development TSA started on a
// loopback port next to the development CA (see devTSA). Without either
// a.tsa stays nil and signatures are not time-stamped.
func (a *app) openTSA(cfg Config, use appUse) error {
	tsas, err := parseTSAList(cfg.TSAURL)
	if err != nil {
		return fmt.Errorf("tsa-url: %w", err)
	}
	var anchors []*x509.Certificate
	var fetcher verify.Fetcher
	switch {
	case len(tsas) > 0:
		if cfg.TSACA == "" {
			return errors.New("tsa-url needs tsa-ca: the trust anchors of the TSAs' certificates (PEM)")
		}
		if anchors, err = readCertificates(cfg.TSACA); err != nil {
			return fmt.Errorf("tsa-ca: %w", err)
		}
	case a.ca != nil && use == serving:
		if a.devTSA, err = startDevTSA(a.ca, filepath.Join(cfg.DataDir, "ca"), a.log); err != nil {
			return fmt.Errorf("development TSA: %w", err)
		}
		tsas = []tsa.TSA{{URL: a.devTSA.url}}
		anchors, fetcher = []*x509.Certificate{a.ca.cert}, caFetcher{a.ca}
	default:
		return nil
	}
	// The TSAs' paths are validated by package verify, with revocation,
	// as time-stamping certificates.
	v, err := verify.New(verify.Config{
		Anchors: anchors, Fetcher: fetcher, Logger: a.log,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		AllowedEKUs: []asn1.ObjectIdentifier{verify.OIDEKUTimeStamping},
	})
	if err != nil {
		return err
	}
	m, err := newTSAMetrics(a.metrics.Registry())
	if err != nil {
		return err
	}
	if a.tsa, err = tsa.New(tsa.Config{TSAs: tsas, Chain: tsaChain{v}, Metrics: m, Logger: a.log}); err != nil {
		return err
	}
	urls := make([]string, len(tsas))
	for i, t := range tsas {
		urls[i] = t.URL
	}
	a.log.Info("signature time-stamps", "tsa", strings.Join(urls, ", "), "development", a.devTSA != nil)
	return nil
}

// pdfTimestamper returns the time-stamping client for signer/pdf, nil
// (no time-stamp) when there is none.
func (a *app) pdfTimestamper() pdf.Timestamper {
	if a.tsa == nil {
		return nil
	}
	return a.tsa
}

// parseTSAList reads -tsa-url: authorities separated by commas, in order
// of preference, each a URL optionally followed by ";quota=N/DURATION"
// (the authority's published limit, for example ;quota=20/20m) and
// ";policy=OID" (the TSA policy to request).
func parseTSAList(s string) ([]tsa.TSA, error) {
	var out []tsa.TSA
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		parts := strings.Split(item, ";")
		t := tsa.TSA{URL: parts[0]}
		for _, p := range parts[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			var err error
			switch k {
			case "quota":
				t.Quota, err = parseQuota(v)
			case "policy":
				t.Policy, err = parseOID(v)
			default:
				err = fmt.Errorf("unknown parameter %q (quota, policy)", k)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", parts[0], err)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

func parseQuota(v string) (tsa.Quota, error) {
	n, per, ok := strings.Cut(v, "/")
	requests, err := strconv.Atoi(n)
	if !ok || err != nil || requests < 1 {
		return tsa.Quota{}, fmt.Errorf("quota %q is not N/DURATION", v)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return tsa.Quota{}, fmt.Errorf("quota %q is not N/DURATION", v)
	}
	return tsa.Quota{Requests: requests, Per: d}, nil
}

func parseOID(v string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	for _, arc := range strings.Split(v, ".") {
		n, err := strconv.Atoi(arc)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("policy %q is not a dotted object identifier", v)
		}
		oid = append(oid, n)
	}
	if len(oid) < 2 {
		return nil, fmt.Errorf("policy %q is not a dotted object identifier", v)
	}
	return oid, nil
}

// readCertificates reads a PEM (or DER) file of certificates.
func readCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out, _, err := servercert.ParseCertificates(b)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no certificates")
	}
	return out, nil
}

// tsaChain validates a TSA's path with a verifier set up for
// time-stamping certificates.
type tsaChain struct{ v *verify.Verifier }

func (c tsaChain) CheckTSAChain(ctx context.Context, req tsa.ChainRequest) error {
	r := c.v.VerifyChain(ctx, verify.ChainRequest{Leaf: req.Leaf, Intermediates: req.Intermediates, At: req.At})
	if r.Verdict == verify.Valid {
		return nil
	}
	f := r.Failed()
	return fmt.Errorf("%s %s: %s", f.Name, r.Verdict, f.Reason)
}

// tsaMetrics exports the client's observations: requests by TSA and
// outcome ("ok" or the failure reason), and latency by TSA.
type tsaMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newTSAMetrics(reg *prometheus.Registry) (*tsaMetrics, error) {
	m := &tsaMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roamsign_tsa_requests_total", Help: "Time-stamp attempts by TSA and outcome (ok, or why no token was used).",
		}, []string{"tsa", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roamsign_tsa_request_seconds", Help: "Time-stamp request latency by TSA, reply verification included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"tsa"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *tsaMetrics) ObserveTSA(o tsa.Observation) {
	outcome := "ok"
	if o.Reason != "" {
		outcome = string(o.Reason)
	}
	m.requests.WithLabelValues(o.TSA, outcome).Inc()
	if o.Sent {
		m.latency.WithLabelValues(o.TSA).Observe(o.Latency.Seconds())
	}
}

// devTSA is the development time-stamping authority: an RFC 3161
// responder on a loopback port whose certificate the development CA
// issues (critical id-kp-timeStamping, the CA's CRL distribution point).
// Its key is a file in the data directory: fine for a demo, never for
// production, where the TSA is a separate, audited service.
type devTSA struct {
	url string
	srv *http.Server
}

// startDevTSA loads or issues the TSA's certificate and starts serving.
func startDevTSA(ca *devCA, dir string, log *slog.Logger) (*devTSA, error) {
	key, cert, err := loadDevTSAKey(ca, dir)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &devtsa.Responder{Cert: cert, Key: key, Chain: []*x509.Certificate{ca.cert}, Accuracy: time.Second}
	d := &devTSA{url: "http://" + ln.Addr().String() + "/tsa", srv: &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("development TSA stopped", "err", err)
		}
	}()
	// hostclient extend finds the development TSA here.
	if err := atomicfile.Replace(filepath.Join(dir, "tsa.url"), []byte(d.url+"\n"), 0o644); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// Close stops the responder.
func (d *devTSA) Close() error { return d.srv.Close() }

// loadDevTSAKey returns the TSA key and certificate kept in dir, issuing
// them on first use and again when the certificate is not the CA's or
// expires within 30 days.
func loadDevTSAKey(ca *devCA, dir string) (crypto.Signer, *x509.Certificate, error) {
	keyPath, certPath := filepath.Join(dir, "tsa.key"), filepath.Join(dir, "tsa.pem")
	if key, cert, err := readDevTSAKey(keyPath, certPath); err == nil && cert.CheckSignatureFrom(ca.cert) == nil &&
		time.Until(cert.NotAfter) > 30*24*time.Hour {
		return key, cert, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{verify.OIDEKUTimeStamping})
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{Country: []string{"MY"}, Organization: []string{"roamsign development"}, CommonName: "roamsign Development TSA"},
		NotBefore:    now,
		NotAfter:     now.AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// RFC 3161 section 2.3: one critical extended key usage,
		// id-kp-timeStamping only.
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
		CRLDistributionPoints: []string{ca.url},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	if err := atomicfile.Replace(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		return nil, nil, err
	}
	if err := atomicfile.Replace(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

func readDevTSAKey(keyPath, certPath string) (crypto.Signer, *x509.Certificate, error) {
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	certs, err := readCertificates(certPath)
	if err != nil {
		return nil, nil, err
	}
	kp, _ := pem.Decode(kb)
	if kp == nil {
		return nil, nil, errors.New("damaged TSA key file")
	}
	k, err := x509.ParsePKCS8PrivateKey(kp.Bytes)
	if err != nil {
		return nil, nil, err
	}
	s, ok := k.(crypto.Signer)
	pub, eq := certs[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !eq || !pub.Equal(s.Public()) {
		return nil, nil, errors.New("TSA key does not match its certificate")
	}
	return s, certs[0], nil
}
