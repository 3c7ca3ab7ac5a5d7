package servercert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// Input is one file or paste given to [CheckBundle].
type Input struct {
	Name string // file name or label, used in messages
	Data []byte
}

// BundleRequest is what an agency received and intends: the certificate,
// any chain files, the private key made with the CSR, and the host names
// the certificate is for.
type BundleRequest struct {
	// Certificate is the received server certificate in any form
	// [ParseCertificates] reads; it may carry the chain too.
	Certificate Input
	// Chain holds intermediate (and optionally root) certificate files, in
	// any order and form.
	Chain []Input
	// Key is the private key generated with the CSR: a software key or an
	// HSM-held [crypto.Signer]. Nil skips the key check.
	Key crypto.Signer
	// Names are the host names the certificate must cover. Empty skips the
	// name check.
	Names []string
	// Roots are the trust anchors; nil means the system roots.
	Roots *x509.CertPool
	// Now is the clock for validity checks; nil means time.Now.
	Now func() time.Time
	// Acceptance is the recorded acceptance date, used to state the
	// warranty-claim deadline when the certificate is corrupt. Optional.
	Acceptance time.Time
	// ExpiryWarning is how close to expiry a warning is given; zero means
	// 30 days.
	ExpiryWarning time.Duration
	// MinRSABits is the smallest RSA modulus accepted; zero means 2048.
	MinRSABits int
}

// Severity ranks a finding.
type Severity string

// Finding severities. An error makes the bundle unfit to install.
const (
	SeverityOK      Severity = "ok"
	SeverityInfo    Severity = "info"
	SeverityWarning Severity = "warning"
	SeverityError   Severity = "error"
)

// Finding is one result of a check, with a stable code for scripts.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
}

// Finding codes of [CheckBundle].
const (
	CodeKeyMatch            = "key-match"
	CodeKeyMismatch         = "key-mismatch"
	CodeChainComplete       = "chain-complete"
	CodeMissingIntermediate = "chain-missing-intermediate"
	CodeUntrustedRoot       = "chain-untrusted"
	CodeReordered           = "chain-reordered"
	CodeExtraCertificate    = "chain-extra-certificate"
	CodeRootIncluded        = "chain-root-included"
	CodeExpired             = "expired"
	CodeNotYetValid         = "not-yet-valid"
	CodeExpiresSoon         = "expires-soon"
	CodeValid               = "valid"
	CodeNameCovered         = "name-covered"
	CodeNameNotCovered      = "name-not-covered"
	CodeNoSANs              = "no-subject-alt-names"
	CodeWeakKey             = "weak-key"
	CodeKeyOK               = "key-ok"
	CodeWeakSignature       = "weak-signature"
	CodeNotServerAuth       = "not-server-auth"
)

// CertSummary describes one certificate of the ordered chain.
type CertSummary struct {
	Role      string    `json:"role"` // "leaf", "intermediate", "root"
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	Key       string    `json:"key"`
	SHA256    string    `json:"sha256"`
	DNSNames  []string  `json:"dns_names,omitempty"`
}

// BundleReport is the outcome of [CheckBundle].
type BundleReport struct {
	// Format is how the received certificate file was encoded.
	Format Format `json:"format"`
	// Chain is the ordered chain as it should be installed: the server
	// certificate first, then each issuer; the root is not included.
	Chain []*x509.Certificate `json:"-"`
	// Root is the trust anchor the chain ends at, when known.
	Root *x509.Certificate `json:"-"`
	// Certs summarises Chain followed by Root.
	Certs []CertSummary `json:"certificates"`
	// Complete reports that Chain reaches a trusted root with no gap.
	Complete bool `json:"complete"`
	// Reordered reports that the input order differed from Chain's.
	Reordered bool `json:"reordered"`
	// Findings lists every check in a fixed order.
	Findings []Finding `json:"findings"`
	// OK is true when no finding is an error.
	OK bool `json:"ok"`
}

// Leaf returns the server certificate, or nil.
func (r *BundleReport) Leaf() *x509.Certificate {
	if r == nil || len(r.Chain) == 0 {
		return nil
	}
	return r.Chain[0]
}

// Has reports whether a finding with the code is present.
func (r *BundleReport) Has(code string) bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Code == code })
}

// FullChainPEM returns the ordered chain (server certificate, then
// intermediates, no root) as PEM: the "fullchain.pem" that nginx's
// ssl_certificate and Apache's SSLCertificateFile (2.4.8 and later) expect.
func (r *BundleReport) FullChainPEM() []byte {
	var b bytes.Buffer
	for _, c := range r.Chain {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// PKCS12Options selects the PKCS#12 encryption.
type PKCS12Options struct {
	// Legacy uses 3DES and SHA-1 (pbeWithSHAAnd3-KeyTripleDES-CBC) for
	// Windows Server 2016 and older; the default is AES-256-CBC with
	// PBKDF2-SHA-256 (Windows Server 2019 and later, OpenSSL 3).
	Legacy bool
	// IncludeRoot adds the root certificate when it is known.
	IncludeRoot bool
}

// PKCS12 returns a password-protected PKCS#12 (.pfx) file holding key and
// the ordered chain, for import into IIS. The key must be a software key;
// an HSM-held key cannot be exported ([roamsign.ErrUnsupported]).
func (r *BundleReport) PKCS12(key crypto.Signer, password string, opts PKCS12Options) (pfx []byte, err error) {
	const op = "servercert.PKCS12"
	defer func() {
		// The encoder is a dependency: a panic in it must not escape.
		if v := recover(); v != nil {
			pfx, err = nil, roamsign.E(roamsign.ErrInternal, op, "PKCS#12 encoder failed: %v", v)
		}
	}()
	if len(r.Chain) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no certificate")
	}
	if password == "" {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "a password is required to protect the key")
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "key of type %T cannot be exported into a PKCS#12 file (hardware key?)", key)
	}
	if !publicKeysEqual(key.Public(), r.Chain[0].PublicKey) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "the key does not belong to the certificate")
	}
	cas := slices.Clone(r.Chain[1:])
	if opts.IncludeRoot && r.Root != nil {
		cas = append(cas, r.Root)
	}
	enc := pkcs12.Modern2023
	if opts.Legacy {
		enc = pkcs12.LegacyDES
	}
	pfx, err = enc.Encode(key, r.Chain[0], cas, password)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "PKCS#12 encoding failed")
	}
	return pfx, nil
}

// CheckBundle parses the received certificate and chain files and checks
// them against the key and intended names: key matches certificate, chain
// complete and in order up to a trusted root (reordering it when needed),
// validity at Now, names covered (RFC 6125), key size and algorithm, and
// signature algorithms.
//
// A certificate input that does not parse returns a
// [*CorruptCertificateError] carrying the warranty-claim deadline when
// req.Acceptance is set. Every other problem is a finding in the report
// (report.OK false), so that all problems are shown at once.
func CheckBundle(req BundleRequest) (*BundleReport, error) {
	b := newBundleCheck(req)
	all, err := b.parseInputs()
	if err != nil {
		return nil, err
	}
	b.all = all
	b.findServerCert()
	b.orderChain()
	b.reportOrder()
	b.checkTrust()
	b.checkDates()
	b.checkNames()
	b.checkKeys()
	b.summarize()
	return b.rep, nil
}

func nonNil(c *x509.Certificate) []*x509.Certificate {
	if c == nil {
		return nil
	}
	return []*x509.Certificate{c}
}

func chainNames(cs []*x509.Certificate) string {
	n := make([]string, len(cs))
	for i, c := range cs {
		n[i] = c.Subject.CommonName
	}
	return strings.Join(n, " -> ")
}

func pickLeaf(all []*x509.Certificate) *x509.Certificate {
	issuesOther := func(c *x509.Certificate) bool {
		for _, o := range all {
			if o != c && bytes.Equal(o.RawIssuer, c.RawSubject) {
				return true
			}
		}
		return false
	}
	for _, c := range all {
		if !c.IsCA && !issuesOther(c) {
			return c
		}
	}
	for _, c := range all {
		if !issuesOther(c) {
			return c
		}
	}
	return all[0]
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// keyProblem returns why a public key is not acceptable for a server
// certificate chain, or "".
func keyProblem(pub crypto.PublicKey, minRSA int) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSA {
			return fmt.Sprintf("RSA key of %d bits is below the %d-bit minimum", k.N.BitLen(), minRSA)
		}
	case *ecdsa.PublicKey:
		switch k.Curve.Params().Name {
		case "P-256", "P-384", "P-521":
		default:
			return "ECDSA curve " + k.Curve.Params().Name + " is not accepted by browsers"
		}
	case ed25519.PublicKey:
		return "Ed25519 is not accepted by browsers for server certificates"
	default:
		return fmt.Sprintf("unknown key type %T", pub)
	}
	return ""
}

func weakSignature(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1, x509.UnknownSignatureAlgorithm:
		return true
	}
	return false
}

func summarize(role string, c *x509.Certificate) CertSummary {
	fp := sha256.Sum256(c.Raw)
	return CertSummary{
		Role:      role,
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		Serial:    c.SerialNumber.Text(16),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		Key:       DescribeKey(c.PublicKey),
		SHA256:    hex.EncodeToString(fp[:]),
		DNSNames:  c.DNSNames,
	}
}
