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
	"errors"
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
	const op = "servercert.CheckBundle"
	now := time.Now
	if req.Now != nil {
		now = req.Now
	}
	at := now()
	warn := req.ExpiryWarning
	if warn == 0 {
		warn = 30 * 24 * time.Hour
	}
	minRSA := req.MinRSABits
	if minRSA == 0 {
		minRSA = 2048
	}

	inputs := append([]Input{req.Certificate}, req.Chain...)
	var all []*x509.Certificate
	rep := &BundleReport{}
	for i, in := range inputs {
		certs, f, err := ParseCertificates(in.Data)
		if err != nil {
			var ce *CorruptCertificateError
			if errors.As(err, &ce) {
				ce.Source = in.Name
				if !req.Acceptance.IsZero() {
					ce.ClaimBy = WarrantyClaimDue(req.Acceptance)
				}
				return nil, ce
			}
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
		if i == 0 {
			rep.Format = f
		}
		for _, c := range certs {
			if !slices.ContainsFunc(all, func(o *x509.Certificate) bool { return bytes.Equal(o.Raw, c.Raw) }) {
				all = append(all, c)
			}
		}
		if len(all) > MaxCertificates {
			return nil, roamsign.E(roamsign.ErrTooLarge, op, "more than %d certificates in all", MaxCertificates)
		}
	}
	add := func(s Severity, code, format string, args ...any) {
		rep.Findings = append(rep.Findings, Finding{Severity: s, Code: code, Message: fmt.Sprintf(format, args...)})
	}

	// The server certificate: the one matching the key, else the first
	// certificate that is not a CA and issues none of the others.
	var leaf *x509.Certificate
	if req.Key != nil {
		for _, c := range all {
			if publicKeysEqual(req.Key.Public(), c.PublicKey) {
				leaf = c
				break
			}
		}
	}
	if leaf == nil {
		leaf = pickLeaf(all)
	}
	if req.Key != nil {
		if publicKeysEqual(req.Key.Public(), leaf.PublicKey) {
			add(SeverityOK, CodeKeyMatch, "private key matches the certificate for %s", leaf.Subject.CommonName)
		} else {
			add(SeverityError, CodeKeyMismatch, "private key (%s) does not match the certificate %q (%s): use the key generated with this certificate's CSR", DescribeKey(req.Key.Public()), leaf.Subject.CommonName, DescribeKey(leaf.PublicKey))
		}
	}

	// Order the chain by following issuers.
	chain := []*x509.Certificate{leaf}
	for cur := leaf; len(chain) <= MaxCertificates; {
		if isSelfSigned(cur) {
			break
		}
		var next *x509.Certificate
		for _, c := range all {
			if slices.Contains(chain, c) {
				continue
			}
			if bytes.Equal(c.RawSubject, cur.RawIssuer) && cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		chain = append(chain, next)
		cur = next
	}
	last := chain[len(chain)-1]
	var root *x509.Certificate
	if len(chain) > 1 && isSelfSigned(last) {
		root = last
		chain = chain[:len(chain)-1]
	}

	// Input order versus chain order.
	pos := func(c *x509.Certificate) int { return slices.Index(all, c) }
	ordered := append(slices.Clone(chain), nonNil(root)...)
	for i := 1; i < len(ordered); i++ {
		if pos(ordered[i]) < pos(ordered[i-1]) {
			rep.Reordered = true
		}
	}
	if rep.Reordered {
		names := make([]string, len(ordered))
		for i, c := range ordered {
			names[i] = c.Subject.CommonName
		}
		add(SeverityWarning, CodeReordered, "certificates were out of order; fixed order is %s", strings.Join(names, " -> "))
	}
	for _, c := range all {
		if !slices.Contains(ordered, c) {
			add(SeverityWarning, CodeExtraCertificate, "certificate %q is not part of this chain and was left out", c.Subject.String())
		}
	}
	if root != nil {
		add(SeverityInfo, CodeRootIncluded, "root %q was supplied; it is left out of fullchain.pem (clients have it)", root.Subject.CommonName)
	}

	// Trust: verify at a moment when every certificate is valid, so that
	// trust and dates are reported separately.
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	vt := at
	for _, c := range ordered {
		if c.NotBefore.After(vt) {
			vt = c.NotBefore.Add(time.Second)
		}
		if c.NotAfter.Before(vt) {
			vt = c.NotAfter.Add(-time.Second)
		}
	}
	roots := req.Roots
	if roots == nil {
		if sys, err := x509.SystemCertPool(); err == nil {
			roots = sys
		} else {
			roots = x509.NewCertPool()
		}
	}
	verified, verr := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   vt,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if verr == nil && len(verified) > 0 {
		v := verified[0]
		// Keep the ordered chain that x509 found (it may have skipped a
		// cross-certificate), minus the anchor.
		rep.Complete = true
		chain, root = v, nil
		if len(v) > 1 {
			chain, root = v[:len(v)-1], v[len(v)-1]
		}
		add(SeverityOK, CodeChainComplete, "chain is complete: %s", chainNames(v))
	} else {
		top := chain[len(chain)-1]
		switch {
		case root != nil || isSelfSigned(top):
			r := root
			if r == nil {
				r = top
			}
			add(SeverityError, CodeUntrustedRoot, "chain ends at root %q, which is not a trusted root here: %v", r.Subject.CommonName, verr)
		default:
			hint := ""
			if len(top.IssuingCertificateURL) > 0 {
				hint = "; download it from " + strings.Join(top.IssuingCertificateURL, " or ")
			}
			add(SeverityError, CodeMissingIntermediate, "missing intermediate: the issuer of %q (%s) is not in the files%s", top.Subject.CommonName, top.Issuer.String(), hint)
		}
	}
	rep.Chain = chain
	rep.Root = root

	// Validity dates.
	dated := append(slices.Clone(chain), nonNil(root)...)
	bad := false
	for _, c := range dated {
		switch {
		case at.Before(c.NotBefore):
			bad = true
			add(SeverityError, CodeNotYetValid, "%q is not valid until %s", c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339))
		case at.After(c.NotAfter):
			bad = true
			add(SeverityError, CodeExpired, "%q expired on %s", c.Subject.CommonName, c.NotAfter.UTC().Format(time.RFC3339))
		case c == leaf && c.NotAfter.Sub(at) < warn:
			bad = true
			add(SeverityWarning, CodeExpiresSoon, "%q expires on %s, in %d days", c.Subject.CommonName, c.NotAfter.UTC().Format(time.DateOnly), int(c.NotAfter.Sub(at).Hours()/24))
		}
	}
	if !bad {
		add(SeverityOK, CodeValid, "valid until %s", leaf.NotAfter.UTC().Format(time.DateOnly))
	}

	// Names.
	if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 {
		add(SeverityError, CodeNoSANs, "certificate has no subjectAltName; browsers ignore the common name %q", leaf.Subject.CommonName)
	}
	for _, n := range req.Names {
		if CoversName(leaf, n) {
			add(SeverityOK, CodeNameCovered, "%s is covered", n)
		} else {
			add(SeverityError, CodeNameNotCovered, "%s is not covered by the certificate names %s", n, strings.Join(leaf.DNSNames, ", "))
		}
	}
	if len(leaf.ExtKeyUsage) > 0 && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		add(SeverityError, CodeNotServerAuth, "certificate is not for TLS servers (extended key usage lacks serverAuth)")
	}

	// Keys and signatures.
	weak := false
	for _, c := range dated {
		if msg := keyProblem(c.PublicKey, minRSA); msg != "" {
			weak = true
			add(SeverityError, CodeWeakKey, "%q: %s", c.Subject.CommonName, msg)
		}
		if c != root && weakSignature(c.SignatureAlgorithm) {
			add(SeverityError, CodeWeakSignature, "%q is signed with %s, which clients reject", c.Subject.CommonName, c.SignatureAlgorithm)
		}
	}
	if !weak {
		add(SeverityOK, CodeKeyOK, "server key %s is acceptable", DescribeKey(leaf.PublicKey))
	}

	for _, c := range dated {
		role := "intermediate"
		switch {
		case c == leaf:
			role = "leaf"
		case c == root:
			role = "root"
		}
		rep.Certs = append(rep.Certs, summarize(role, c))
	}
	rep.OK = !slices.ContainsFunc(rep.Findings, func(f Finding) bool { return f.Severity == SeverityError })
	return rep, nil
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
