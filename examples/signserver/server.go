package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/atomicfile"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/service/adapt"
	"github.com/roamsign/roamsign/store"
	"github.com/roamsign/roamsign/store/postgres"
	"github.com/roamsign/roamsign/store/sqlite"
	"github.com/roamsign/roamsign/transport/csc"
	"github.com/roamsign/roamsign/transport/httpapi"
	"github.com/roamsign/roamsign/transport/ops"
	"github.com/roamsign/roamsign/tsa"
	"github.com/roamsign/roamsign/verify"
)

// storeBackend is the full store contract; the server is the assembler,
// so it holds the whole backend and hands each part its narrow view.
type storeBackend = store.Store

// app is the assembled server: every part, built from a Config.
type app struct {
	cfg      Config
	log      *slog.Logger
	keys     hsm.KeyStore
	store    storeBackend
	svc      *service.Service
	ca       *devCA      // nil outside dev mode
	tsa      *tsa.Client // nil: signatures are not time-stamped
	devTSA   *devTSA     // nil unless started (dev mode, no tsa-url)
	mailbox  *devMailbox
	verifier *verify.Verifier
	metrics  *ops.Metrics
	apiKeys  *httpapi.APIKeys
	admin    *httpapi.APIKeys
	// adminAuth authenticates administrators: their API keys (admin) and
	// the client certificates of AdminCerts.
	adminAuth *httpapi.HostAuth
	// userAnchors are the CAs imported user chains must verify to
	// (-user-ca, and the development CA in dev mode).
	userAnchors []*x509.Certificate
	demo        *hostDemo
	pades       padesSetup // what the host demo adds beyond the signature
	printed     io.Writer  // where first-start credentials are printed
	// demoEnrolled holds the demo users this start enrolled, whose demo
	// PINs the banner prints.
	demoEnrolled map[roamsign.UserID]bool
}

const demoHost roamsign.HostID = "demo"

// appUse says what an app is assembled for.
type appUse int

const (
	// serving: the server, with every part.
	serving appUse = iota
	// oneShot: a command such as `audit verify` or `pin reset`, which
	// never sends an OTP and so needs no delivery channel configured.
	oneShot
)

// openApp assembles the parts for use. Close releases them.
func openApp(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer, use appUse) (_ *app, err error) {
	a := &app{cfg: cfg, log: log, printed: out, mailbox: newDevMailbox(100)}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if a.keys, err = openKeys(ctx, cfg, log); err != nil {
		return nil, err
	}
	if a.store, err = openStore(ctx, cfg); err != nil {
		return nil, err
	}
	if cfg.Dev {
		if a.ca, err = openDevCA(filepath.Join(cfg.DataDir, "ca"), cfg.publicURL()+crlPath); err != nil {
			return nil, err
		}
	}
	// The OTP MAC key and the PIN pepper are secret keys held in the key
	// store (the HSM in production): an attacker with a copy of the
	// database can neither test OTPs nor attack PIN verifiers offline. The
	// row key seals every user, challenge and transaction row, so a
	// database writer cannot change one unnoticed (docs/row-integrity.md).
	otpKey, pepper, rowKey, err := provisionKeys(ctx, a.keys, a.store)
	if err != nil {
		return nil, err
	}
	if err := sealRows(a.store, rowKey, log); err != nil {
		return nil, err
	}
	var delivery *otp.Delivery // a one-shot command issues no challenge
	if use == serving {
		if delivery, err = a.delivery(cfg, log); err != nil {
			return nil, err
		}
	}
	mgr, err := otp.New(otp.Config{
		Store: a.store, Key: otpKey, Delivery: delivery,
		TTL: cfg.OTPLifetime, MaxTries: cfg.OTPMaxTries,
		UserRate: cfg.RatePerUser, UserHostRate: cfg.RatePerUserHost, HostRate: cfg.RatePerHost, RateWindow: cfg.RateWindow,
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	if a.userAnchors, err = loadUserAnchors(cfg, a.ca); err != nil {
		return nil, err
	}
	a.metrics = ops.NewMetrics()
	a.svc, err = service.New(service.Config{
		UserAnchors:    a.userAnchors,
		MaxPINFailures: cfg.PINMaxFailures,
		PIN:            service.PINParams{MemoryKiB: cfg.Argon2MemoryKiB, Time: cfg.Argon2Time, Threads: cfg.Argon2Threads},
		LateBinding:    cfg.cscPolicy() == csc.PolicyCompatible,
	}, service.Deps{
		Store: a.store, Keys: adapt.Keys(a.keys), Challenges: adapt.OTP(mgr),
		Forms:  withCrashHook(map[roamsign.OutputForm]service.FormSigner{roamsign.FormRaw: adapt.Raw{}, roamsign.FormCMS: adapt.CMS{}, roamsign.FormRawPSS: service.RawPSSSigner{}}, log),
		Pepper: pepper, Metrics: a.metrics, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	if a.ca != nil {
		a.verifier, err = verify.New(verify.Config{Anchors: []*x509.Certificate{a.ca.cert}, Fetcher: caFetcher{a.ca}})
		if err != nil {
			return nil, err
		}
	}
	if err := a.openTSA(cfg, use); err != nil {
		return nil, err
	}
	if a.pades, err = a.openPAdES(cfg); err != nil {
		return nil, err
	}
	if err := a.loadAPIKeys(); err != nil {
		return nil, err
	}
	if a.adminAuth, err = newAdminAuth(cfg, a.admin); err != nil {
		return nil, err
	}
	return a, nil
}

func (c Config) publicURL() string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	return "https://" + c.Listen
}

func openKeys(ctx context.Context, cfg Config, log *slog.Logger) (hsm.KeyStore, error) {
	if cfg.PKCS11URI != "" {
		return hsm.OpenPKCS11(ctx, hsm.PKCS11Config{URI: cfg.PKCS11URI, Logger: log})
	}
	pass, err := keyPassphrase(cfg)
	if err != nil {
		return nil, err
	}
	return hsm.OpenSoftware(ctx, hsm.SoftwareConfig{Dir: filepath.Join(cfg.DataDir, "keys"), Passphrase: pass, Logger: log})
}

func openStore(ctx context.Context, cfg Config) (storeBackend, error) {
	if cfg.PostgresDSN != "" {
		return postgres.Open(ctx, cfg.PostgresDSN, postgres.Options{})
	}
	return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "roamsign.db"), sqlite.Options{})
}

// delivery builds the OTP channel policy from the configuration.
func (a *app) delivery(cfg Config, log *slog.Logger) (*otp.Delivery, error) {
	d := &otp.Delivery{ForbidEmail: !cfg.AllowEmail, Logger: log}
	if cfg.SMTPAddr != "" {
		var pw string
		if cfg.SMTPPasswordFile != "" {
			b, err := os.ReadFile(cfg.SMTPPasswordFile)
			if err != nil {
				return nil, fmt.Errorf("smtp password: %w", err)
			}
			pw = strings.TrimSpace(string(b))
		}
		mode := otp.STARTTLS
		if cfg.SMTPSecurity == "tls" {
			mode = otp.ImplicitTLS
		}
		if cfg.SMTPSecurity == "none" {
			return nil, errors.New("smtp-security none is not supported: OTP mail must travel over TLS")
		}
		var tc *tls.Config
		if cfg.SMTPCA != "" {
			pool, err := readCertPool(cfg.SMTPCA)
			if err != nil {
				return nil, fmt.Errorf("smtp-ca: %w", err)
			}
			tc = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		s, err := otp.NewSMTPSender(otp.SMTPConfig{Addr: cfg.SMTPAddr, Mode: mode, TLSConfig: tc, Username: cfg.SMTPUsername, Password: pw, From: cfg.SMTPFrom})
		if err != nil {
			return nil, err
		}
		d.Email = s
	} else if cfg.Dev {
		d.Email = &mailboxSender{box: a.mailbox, console: os.Stderr}
	}
	if cfg.PushURL != "" {
		key, err := os.ReadFile(cfg.PushSecretFile)
		if err != nil {
			return nil, fmt.Errorf("push secret: %w", err)
		}
		p, err := otp.NewPushSender(otp.PushConfig{URL: cfg.PushURL, AllowHTTP: cfg.Dev, Key: []byte(strings.TrimSpace(string(key)))})
		if err != nil {
			return nil, err
		}
		d.App = p
	}
	if d.Email == nil && d.App == nil {
		return nil, errors.New("no OTP channel: configure smtp-addr or push-url (or run with -dev)")
	}
	return d, nil
}

// Close releases every part; safe on a partly assembled app.
func (a *app) Close() error {
	var errs []error
	if a.devTSA != nil {
		errs = append(errs, a.devTSA.Close())
	}
	if a.store != nil {
		errs = append(errs, a.store.Close())
	}
	if a.keys != nil {
		errs = append(errs, a.keys.Close())
	}
	return errors.Join(errs...)
}

// tlsConfig returns the server's TLS configuration: configured files, or a
// development certificate from the development CA.
func (a *app) tlsConfig() (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	switch {
	case a.cfg.TLSCert != "":
		cert, err = tls.LoadX509KeyPair(a.cfg.TLSCert, a.cfg.TLSKey)
	case a.ca != nil:
		cert, err = a.devTLSCert()
	default:
		return nil, errors.New("tls-cert and tls-key are required outside dev mode")
	}
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if a.cfg.ClientCA != "" {
		pemBytes, err := os.ReadFile(a.cfg.ClientCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, errors.New("client-ca: no certificates")
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

func (a *app) devTLSCert() (tls.Certificate, error) {
	dir := filepath.Join(a.cfg.DataDir, "tls")
	certPath, keyPath := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && c.Leaf != nil && time.Until(c.Leaf.NotAfter) > 7*24*time.Hour {
		return c, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	host, _, _ := net.SplitHostPort(a.cfg.Listen)
	leaf, err := a.ca.IssueTLS(key, []string{host})
	if err != nil {
		return tls.Certificate{}, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.ca.cert.Raw})...)
	if err := atomicfile.Replace(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := atomicfile.Replace(certPath, chain, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.LoadX509KeyPair(certPath, keyPath)
}

// caFetcher serves the development CA's CRL to the verifier in-process, so
// verification works before the listener is up and without trusting the
// development TLS certificate.
type caFetcher struct{ ca *devCA }

func (f caFetcher) Fetch(_ context.Context, url string, maxSize int64) ([]byte, error) {
	if !strings.HasSuffix(url, crlPath) {
		return nil, roamsign.E(roamsign.ErrUnavailable, "signserver.Fetch", "unknown CRL %s", url)
	}
	der, err := f.ca.CRL()
	if err == nil && int64(len(der)) > maxSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, "signserver.Fetch", "CRL larger than %d bytes", maxSize)
	}
	return der, err
}

// The secret keys the server keeps in its key store: the OTP MAC key, the
// PIN-verifier pepper and the row-integrity key.
const (
	otpMACKeyID = "roamsign-otp-mac"
	pepperKeyID = "roamsign-pin-pepper"
	rowKeyID    = "roamsign-row-integrity"
)

// provisionKeys returns the OTP MAC key, the PIN pepper and the row key,
// generating them in the key store on the first start. Replicas starting
// together on a fresh key store take turns under the database's
// provisioning lock (hsm.ProvisionMACKeys), so one key of each exists and
// every replica uses it; no separate set-up step is needed.
func provisionKeys(ctx context.Context, ks hsm.KeyStore, st storeBackend) (otpKey, pepper, rowKey hsm.MACKey, err error) {
	lock, ok := st.(hsm.Locker)
	if !ok {
		return nil, nil, nil, fmt.Errorf("store %T cannot serialise key provisioning across replicas", st)
	}
	keys, err := hsm.ProvisionMACKeys(ctx, ks, lock, otpMACKeyID, pepperKeyID, rowKeyID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("secret keys %s, %s and %s: %w", otpMACKeyID, pepperKeyID, rowKeyID, err)
	}
	return keys[0], keys[1], keys[2], nil
}

// sealRows makes st seal its rows with rowKey and refuse rows whose seal
// is missing or wrong, raising the alarm in log.
func sealRows(st storeBackend, rowKey hsm.MACKey, log *slog.Logger) error {
	rs, ok := st.(store.RowSealing)
	if !ok {
		return fmt.Errorf("store %T cannot seal its rows", st)
	}
	k, err := store.NewSealer(rowKey, log)
	if err != nil {
		return err
	}
	rs.SetSealer(k)
	return nil
}

// loadOrCreateSecret returns n random bytes kept in path (0600), creating
// them on first use.
func loadOrCreateSecret(path string, n int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) != n {
			return nil, fmt.Errorf("%s: want %d bytes, found %d", path, n, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, atomicfile.Replace(path, b, 0o600)
}

// loadOrCreateToken returns an API key kept in path, creating it first.
func loadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	k, err := httpapi.NewAPIKey()
	if err != nil {
		return "", err
	}
	return k, atomicfile.Replace(path, []byte(k+"\n"), 0o600)
}
