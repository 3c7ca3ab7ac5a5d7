package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/roamsign/roamsign/internal/atomicfile"
)

// devCA is the development certificate authority the example server creates
// on first start. It issues user signing certificates and the server's TLS
// certificate and publishes its CRL at crlPath. Its key is a file in the
// data directory: fine for a demo, never for production, where the CA is a
// separate, audited system.
type devCA struct {
	dir  string
	cert *x509.Certificate
	key  crypto.Signer
	url  string // absolute CRL URL put into issued certificates

	mu      sync.Mutex
	revoked []revokedEntry
	crl     []byte
	crlNext time.Time
}

type revokedEntry struct {
	Serial string    `json:"serial"` // hexadecimal
	Time   time.Time `json:"time"`
	Reason int       `json:"reason"`
}

const crlPath = "/crl/roamsign-dev-ca.crl"

var (
	oidSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
)

// openDevCA loads the CA from dir, creating it on first use.
func openDevCA(dir, crlURL string) (*devCA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca := &devCA{dir: dir, url: crlURL}
	keyPath, certPath := filepath.Join(dir, "ca.key"), filepath.Join(dir, "ca.pem")
	if _, err := os.Stat(certPath); errors.Is(err, os.ErrNotExist) {
		if err := ca.create(keyPath, certPath); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if err := ca.load(keyPath, certPath); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "revoked.json")); err == nil {
		if err := json.Unmarshal(b, &ca.revoked); err != nil {
			return nil, fmt.Errorf("dev CA: revoked.json: %w", err)
		}
	}
	return ca, nil
}

func (ca *devCA) create(keyPath, certPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{Country: []string{"MY"}, Organization: []string{"roamsign development"}, CommonName: "roamsign Development CA"},
		NotBefore:             now,
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.Replace(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		return err
	}
	return atomicfile.Replace(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func (ca *devCA) load(keyPath, certPath string) error {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return err
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	cp, _ := pem.Decode(cb)
	kp, _ := pem.Decode(kb)
	if cp == nil || kp == nil {
		return errors.New("dev CA: damaged PEM files in " + ca.dir)
	}
	if ca.cert, err = x509.ParseCertificate(cp.Bytes); err != nil {
		return fmt.Errorf("dev CA: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(kp.Bytes)
	if err != nil {
		return fmt.Errorf("dev CA: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return errors.New("dev CA: key is not a signer")
	}
	ca.key = s
	return nil
}

// IssueUser issues a roaming signing certificate for a CSR: subject
// C=MY, CN=<name>, SURNAME=<id>, SERIALNUMBER=<id>, key usage
// digitalSignature + nonRepudiation, with the CA's CRL distribution point.
func (ca *devCA) IssueUser(csrDER []byte, validity time.Duration) (*x509.Certificate, error) {
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("dev CA: CSR: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("dev CA: CSR signature: %w", err)
	}
	now := time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		// RawSubject keeps every attribute of the requested name (Go's
		// parsed pkix.Name drops SURNAME): C=MY, CN, SURNAME, SERIALNUMBER.
		RawSubject:            csr.RawSubject,
		NotBefore:             now,
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
		CRLDistributionPoints: []string{ca.url},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// IssueTLS issues the server's development TLS certificate for loopback and
// the given host names.
func (ca *devCA) IssueTLS(key crypto.Signer, hosts []string) (*x509.Certificate, error) {
	now := time.Now().Add(-5 * time.Minute).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{Country: []string{"MY"}, CommonName: "roamsign signserver (development)"},
		NotBefore:    now,
		NotAfter:     now.AddDate(0, 0, 90),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" && h != "localhost" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// Revoke adds a certificate to the CRL and persists the list.
func (ca *devCA) Revoke(serial *big.Int, reason int) error {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.revoked = append(ca.revoked, revokedEntry{Serial: serial.Text(16), Time: time.Now().UTC().Truncate(time.Second), Reason: reason})
	ca.crl = nil
	b, err := json.MarshalIndent(ca.revoked, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Replace(filepath.Join(ca.dir, "revoked.json"), b, 0o600)
}

// CRL returns the current CRL, re-issued every hour (nextUpdate = +2h).
func (ca *devCA) CRL() ([]byte, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	now := time.Now().UTC()
	if ca.crl != nil && now.Before(ca.crlNext.Add(-time.Hour)) {
		return ca.crl, nil
	}
	entries := make([]x509.RevocationListEntry, 0, len(ca.revoked))
	for _, r := range ca.revoked {
		s, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			continue
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: r.Time, ReasonCode: r.Reason})
	}
	this := now.Add(-time.Minute).Truncate(time.Second)
	next := this.Add(2 * time.Hour)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(this.Unix()),
		ThisUpdate:                this,
		NextUpdate:                next,
		RevokedCertificateEntries: entries,
	}, ca.cert, ca.key)
	if err != nil {
		return nil, err
	}
	ca.crl, ca.crlNext = der, next
	return der, nil
}

// ServeHTTP publishes the CRL.
func (ca *devCA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	der, err := ca.CRL()
	if err != nil {
		http.Error(w, "CRL unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(der)
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}
