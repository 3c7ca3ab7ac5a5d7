// Package testpki builds throwaway public-key infrastructure at test time: a
// root CA, intermediates, end-entity certificates in the roaming subject form
// (C=MY, CN=…, SURNAME=<id>, SERIALNUMBER=<id>), revocation and CRLs, and an
// HTTP server that publishes them. Nothing is kept in testdata, so nothing
// expires.
//
// It is for tests and examples only; keys are generated in memory.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
)

// Revocation records one revoked certificate.
type Revocation struct {
	Serial *big.Int
	Time   time.Time
	Reason int // RFC 5280 CRLReason; 0 unspecified, 6 certificateHold
}

// Revoked returns n revocations of the consecutive serials from first,
// made an hour ago: the entries of a CRL as long as a test needs (about
// 20 bytes each, so 40,000 make a national CA's 0.9 MB).
func Revoked(first int64, n int) []Revocation {
	out := make([]Revocation, n)
	at := time.Now().Add(-time.Hour)
	for i := range out {
		out[i] = Revocation{Serial: big.NewInt(first + int64(i)), Time: at}
	}
	return out
}

// CA is a certificate authority (root or intermediate) that issues
// certificates and CRLs. It is safe for concurrent use.
type CA struct {
	Cert   *x509.Certificate
	Key    crypto.Signer
	Parent *CA // nil for a root

	// CRLURL, when set, is put into the CRL distribution points of every
	// certificate this CA issues.
	CRLURL string

	mu        sync.Mutex
	serial    int64
	crlNumber int64
	revoked   []Revocation
}

// Options tunes a new CA. The zero value gives a P-256 key valid from one
// hour ago for ten years.
type Options struct {
	Name      string        // common name; default "roamsign Test Root CA"
	Key       crypto.Signer // default a new P-256 key
	NotBefore time.Time     // default now - 1h
	NotAfter  time.Time     // default NotBefore + 10 years
	CRLURL    string        // CRL distribution point for certificates this CA issues
}

func (o Options) fill(defName string) (Options, error) {
	if o.Name == "" {
		o.Name = defName
	}
	if o.Key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return o, err
		}
		o.Key = k
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour).Truncate(time.Second)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = o.NotBefore.AddDate(10, 0, 0)
	}
	return o, nil
}

// NewRoot creates a self-signed root CA.
func NewRoot(opts Options) (*CA, error) {
	o, err := opts.fill("roamsign Test Root CA")
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Country: []string{"MY"}, Organization: []string{"roamsign test"}, CommonName: o.Name},
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, o.Key.Public(), o.Key)
	if err != nil {
		return nil, fmt.Errorf("testpki: create root: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: o.Key, CRLURL: o.CRLURL, serial: 100}, nil
}

// NewIntermediate creates a CA certified by ca.
func (ca *CA) NewIntermediate(opts Options) (*CA, error) {
	o, err := opts.fill("roamsign Test Intermediate CA")
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{Country: []string{"MY"}, Organization: []string{"roamsign test"}, CommonName: o.Name},
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	cert, err := ca.Issue(tmpl, o.Key.Public())
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: o.Key, Parent: ca, CRLURL: o.CRLURL, serial: 100}, nil
}

// NextSerial returns a fresh serial number for a certificate of this CA.
func (ca *CA) NextSerial() *big.Int {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.serial++
	return big.NewInt(ca.serial)
}

// Issue signs tmpl for pub. A zero SerialNumber is replaced by a fresh one,
// and the CA's CRLURL is added when tmpl has no distribution points.
func (ca *CA) Issue(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	t := *tmpl
	if t.SerialNumber == nil {
		t.SerialNumber = ca.NextSerial()
	}
	if len(t.CRLDistributionPoints) == 0 && ca.CRLURL != "" {
		t.CRLDistributionPoints = []string{ca.CRLURL}
	}
	der, err := x509.CreateCertificate(rand.Reader, &t, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("testpki: issue %q: %w", t.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// LeafOptions tunes an end-entity certificate.
type LeafOptions struct {
	NotBefore time.Time // default now - 1h
	NotAfter  time.Time // default NotBefore + 2 years
	// KeyUsage defaults to DigitalSignature | ContentCommitment (nonRepudiation).
	KeyUsage    x509.KeyUsage
	ExtKeyUsage []x509.ExtKeyUsage
}

// IssueLeaf issues an end-entity signing certificate in the roaming subject
// form for pub.
func (ca *CA) IssueLeaf(name, userID string, pub crypto.PublicKey, opts LeafOptions) (*x509.Certificate, error) {
	if opts.NotBefore.IsZero() {
		opts.NotBefore = time.Now().Add(-time.Hour).Truncate(time.Second)
	}
	if opts.NotAfter.IsZero() {
		opts.NotAfter = opts.NotBefore.AddDate(2, 0, 0)
	}
	if opts.KeyUsage == 0 {
		opts.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	}
	return ca.Issue(&x509.Certificate{
		Subject:               roamsign.RoamingSubject(name, roamsign.UserID(userID)),
		NotBefore:             opts.NotBefore,
		NotAfter:              opts.NotAfter,
		KeyUsage:              opts.KeyUsage,
		ExtKeyUsage:           opts.ExtKeyUsage,
		BasicConstraintsValid: true,
	}, pub)
}

// Chain returns the certificate chain from ca up to its root, ca first.
func (ca *CA) Chain() []*x509.Certificate {
	var out []*x509.Certificate
	for c := ca; c != nil; c = c.Parent {
		out = append(out, c.Cert)
	}
	return out
}

// Root returns the root of ca's hierarchy.
func (ca *CA) Root() *CA {
	c := ca
	for c.Parent != nil {
		c = c.Parent
	}
	return c
}

// Pool returns a pool holding only the root certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Root().Cert)
	return p
}

// Revoke records a revocation for the next CRL. A zero time means now.
func (ca *CA) Revoke(serial *big.Int, at time.Time, reason int) {
	if at.IsZero() {
		at = time.Now().Add(-time.Minute).Truncate(time.Second)
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.revoked = append(ca.revoked, Revocation{Serial: new(big.Int).Set(serial), Time: at, Reason: reason})
}

// Unrevoke removes a serial from the revocation list (for a certificate on
// hold that is released).
func (ca *CA) Unrevoke(serial *big.Int) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	out := ca.revoked[:0]
	for _, r := range ca.revoked {
		if r.Serial.Cmp(serial) != 0 {
			out = append(out, r)
		}
	}
	ca.revoked = out
}

// Revoked returns a copy of the current revocations.
func (ca *CA) Revoked() []Revocation {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return append([]Revocation(nil), ca.revoked...)
}

// CRLOptions tunes a CRL. Zero times default to now - 1 minute and
// ThisUpdate + 24h.
type CRLOptions struct {
	ThisUpdate time.Time
	NextUpdate time.Time
	Number     *big.Int // default: the CA's next CRL number
	// Entries replaces the CA's revocations when non-nil.
	Entries []Revocation
	// ExtraExtensions are added to the CRL (for example a critical unknown one).
	ExtraExtensions []pkix.Extension
	// Signer overrides the signing key (to produce a CRL with a bad signature).
	Signer crypto.Signer
}

// CRL returns a DER CRL over the CA's revocations.
func (ca *CA) CRL(opts CRLOptions) ([]byte, error) {
	if opts.ThisUpdate.IsZero() {
		opts.ThisUpdate = time.Now().Add(-time.Minute).Truncate(time.Second)
	}
	if opts.NextUpdate.IsZero() {
		opts.NextUpdate = opts.ThisUpdate.Add(24 * time.Hour)
	}
	entries := opts.Entries
	if entries == nil {
		entries = ca.Revoked()
	}
	if opts.Number == nil {
		ca.mu.Lock()
		ca.crlNumber++
		opts.Number = big.NewInt(ca.crlNumber)
		ca.mu.Unlock()
	}
	list := make([]x509.RevocationListEntry, 0, len(entries))
	for _, r := range entries {
		list = append(list, x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.Time, ReasonCode: r.Reason})
	}
	key := ca.Key
	if opts.Signer != nil {
		key = opts.Signer
	}
	return x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    opts.Number,
		ThisUpdate:                opts.ThisUpdate,
		NextUpdate:                opts.NextUpdate,
		RevokedCertificateEntries: list,
		ExtraExtensions:           opts.ExtraExtensions,
	}, ca.Cert, key)
}

// PEM encodes certificates as PEM blocks.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// SelfSigned returns a self-signed CA certificate (P-256, valid for an
// hour either side of now) that carries an extension of pad bytes, to
// make certificates as large as a test needs.
func SelfSigned(pad int) (*x509.Certificate, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "self-signed"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	if pad > 0 {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: make([]byte, pad)}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}
