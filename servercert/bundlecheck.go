package servercert

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// bundleCheck is one run of [CheckBundle]: the request with its defaults,
// the certificates found, and the report the steps fill in, in order.
type bundleCheck struct {
	req    BundleRequest
	at     time.Time     // the moment validity is judged at
	warn   time.Duration // how close to expiry a warning is given
	minRSA int

	all     []*x509.Certificate // every distinct certificate, in input order
	leaf    *x509.Certificate   // the server certificate
	chain   []*x509.Certificate // leaf first, then each issuer, no root
	root    *x509.Certificate   // the trust anchor, when known
	ordered []*x509.Certificate // chain and root, as first ordered
	rep     *BundleReport
}

func newBundleCheck(req BundleRequest) *bundleCheck {
	b := &bundleCheck{req: req, at: time.Now(), warn: req.ExpiryWarning, minRSA: req.MinRSABits, rep: &BundleReport{}}
	if req.Now != nil {
		b.at = req.Now()
	}
	if b.warn == 0 {
		b.warn = 30 * 24 * time.Hour
	}
	if b.minRSA == 0 {
		b.minRSA = 2048
	}
	return b
}

func (b *bundleCheck) add(s Severity, code, format string, args ...any) {
	b.rep.Findings = append(b.rep.Findings, Finding{Severity: s, Code: code, Message: fmt.Sprintf(format, args...)})
}

// parseInputs reads every input and returns the distinct certificates in
// input order, recording the certificate file's format. A certificate that
// does not parse is a [*CorruptCertificateError] with the warranty-claim
// deadline when the acceptance date is known.
func (b *bundleCheck) parseInputs() ([]*x509.Certificate, error) {
	const op = "servercert.CheckBundle"
	var all []*x509.Certificate
	for i, in := range append([]Input{b.req.Certificate}, b.req.Chain...) {
		certs, f, err := ParseCertificates(in.Data)
		if err != nil {
			var ce *CorruptCertificateError
			if errors.As(err, &ce) {
				ce.Source = in.Name
				if !b.req.Acceptance.IsZero() {
					ce.ClaimBy = WarrantyClaimDue(b.req.Acceptance)
				}
				return nil, ce
			}
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
		if i == 0 {
			b.rep.Format = f
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
	return all, nil
}

// findServerCert picks the server certificate — the one matching the key,
// else the first certificate that is not a CA and issues none of the
// others — and checks the key against it.
func (b *bundleCheck) findServerCert() {
	key := b.req.Key
	if key != nil {
		for _, c := range b.all {
			if publicKeysEqual(key.Public(), c.PublicKey) {
				b.leaf = c
				break
			}
		}
	}
	if b.leaf == nil {
		b.leaf = pickLeaf(b.all)
	}
	if key == nil {
		return
	}
	if publicKeysEqual(key.Public(), b.leaf.PublicKey) {
		b.add(SeverityOK, CodeKeyMatch, "private key matches the certificate for %s", b.leaf.Subject.CommonName)
	} else {
		b.add(SeverityError, CodeKeyMismatch, "private key (%s) does not match the certificate %q (%s): use the key generated with this certificate's CSR", DescribeKey(key.Public()), b.leaf.Subject.CommonName, DescribeKey(b.leaf.PublicKey))
	}
}

// orderChain orders the chain by following issuers from the server
// certificate, setting a self-signed end apart as the root.
func (b *bundleCheck) orderChain() {
	chain := []*x509.Certificate{b.leaf}
	for cur := b.leaf; len(chain) <= MaxCertificates; {
		if isSelfSigned(cur) {
			break
		}
		var next *x509.Certificate
		for _, c := range b.all {
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
	if last := chain[len(chain)-1]; len(chain) > 1 && isSelfSigned(last) {
		b.root = last
		chain = chain[:len(chain)-1]
	}
	b.chain = chain
	b.ordered = append(slices.Clone(chain), nonNil(b.root)...)
}

// reportOrder compares the input order with the chain order and names the
// certificates left out and a supplied root.
func (b *bundleCheck) reportOrder() {
	pos := func(c *x509.Certificate) int { return slices.Index(b.all, c) }
	for i := 1; i < len(b.ordered); i++ {
		if pos(b.ordered[i]) < pos(b.ordered[i-1]) {
			b.rep.Reordered = true
		}
	}
	if b.rep.Reordered {
		names := make([]string, len(b.ordered))
		for i, c := range b.ordered {
			names[i] = c.Subject.CommonName
		}
		b.add(SeverityWarning, CodeReordered, "certificates were out of order; fixed order is %s", strings.Join(names, " -> "))
	}
	for _, c := range b.all {
		if !slices.Contains(b.ordered, c) {
			b.add(SeverityWarning, CodeExtraCertificate, "certificate %q is not part of this chain and was left out", c.Subject.String())
		}
	}
	if b.root != nil {
		b.add(SeverityInfo, CodeRootIncluded, "root %q was supplied; it is left out of fullchain.pem (clients have it)", b.root.Subject.CommonName)
	}
}

// checkTrust verifies the chain at a moment when every certificate is
// valid, so that trust and dates are reported separately, and keeps the
// chain x509 found (it may have skipped a cross-certificate).
func (b *bundleCheck) checkTrust() {
	inter := x509.NewCertPool()
	for _, c := range b.chain[1:] {
		inter.AddCert(c)
	}
	vt := b.at
	for _, c := range b.ordered {
		if c.NotBefore.After(vt) {
			vt = c.NotBefore.Add(time.Second)
		}
		if c.NotAfter.Before(vt) {
			vt = c.NotAfter.Add(-time.Second)
		}
	}
	roots := b.req.Roots
	if roots == nil {
		if sys, err := x509.SystemCertPool(); err == nil {
			roots = sys
		} else {
			roots = x509.NewCertPool()
		}
	}
	verified, verr := b.leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   vt,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if verr == nil && len(verified) > 0 {
		v := verified[0]
		// Keep the ordered chain that x509 found, minus the anchor.
		b.rep.Complete = true
		b.chain, b.root = v, nil
		if len(v) > 1 {
			b.chain, b.root = v[:len(v)-1], v[len(v)-1]
		}
		b.add(SeverityOK, CodeChainComplete, "chain is complete: %s", chainNames(v))
	} else {
		b.reportUntrusted(verr)
	}
	b.rep.Chain = b.chain
	b.rep.Root = b.root
}

// reportUntrusted says why the chain did not verify: an untrusted root
// (supplied, or an issuer the certificate gives no address for), or a
// missing intermediate with where to download it.
func (b *bundleCheck) reportUntrusted(verr error) {
	top := b.chain[len(b.chain)-1]
	if b.root != nil || isSelfSigned(top) {
		r := b.root
		if r == nil {
			r = top
		}
		b.add(SeverityError, CodeUntrustedRoot, "untrusted root: the chain ends at root %q, which is not a trusted root here (add it to the trusted roots, or get a certificate from a publicly trusted CA): %v", r.Subject.CommonName, verr)
		return
	}
	if len(top.IssuingCertificateURL) == 0 {
		// Nothing says where the issuer's certificate is. Publicly trusted
		// CAs name it in every certificate they issue (AIA), so an issuer
		// without that address is, in practice, a private or development
		// root: say so rather than send the reader after an intermediate.
		b.add(SeverityError, CodeUntrustedRoot, "untrusted root: %q is issued by %q, which is not a trusted root here (a private or development CA; add it to the trusted roots, or get a certificate from a publicly trusted CA); if it is an intermediate instead, add it to the files",
			top.Subject.CommonName, top.Issuer.String())
		return
	}
	b.add(SeverityError, CodeMissingIntermediate, "missing intermediate: the issuer of %q (%s) is not in the files; download it from %s",
		top.Subject.CommonName, top.Issuer.String(), strings.Join(top.IssuingCertificateURL, " or "))
}

// dated is the final chain with its root.
func (b *bundleCheck) dated() []*x509.Certificate {
	return append(slices.Clone(b.chain), nonNil(b.root)...)
}

// checkDates checks every certificate's validity at the check's moment,
// and warns when the server certificate expires soon.
func (b *bundleCheck) checkDates() {
	bad := false
	for _, c := range b.dated() {
		switch {
		case b.at.Before(c.NotBefore):
			bad = true
			b.add(SeverityError, CodeNotYetValid, "%q is not valid until %s", c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339))
		case b.at.After(c.NotAfter):
			bad = true
			b.add(SeverityError, CodeExpired, "%q expired on %s", c.Subject.CommonName, c.NotAfter.UTC().Format(time.RFC3339))
		case c == b.leaf && c.NotAfter.Sub(b.at) < b.warn:
			bad = true
			b.add(SeverityWarning, CodeExpiresSoon, "%q expires on %s, in %d days", c.Subject.CommonName, c.NotAfter.UTC().Format(time.DateOnly), int(c.NotAfter.Sub(b.at).Hours()/24))
		}
	}
	if !bad {
		b.add(SeverityOK, CodeValid, "valid until %s", b.leaf.NotAfter.UTC().Format(time.DateOnly))
	}
}

// checkNames checks that the server certificate has subjectAltNames, covers
// the intended names (RFC 6125) and is meant for TLS servers.
func (b *bundleCheck) checkNames() {
	leaf := b.leaf
	if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 {
		b.add(SeverityError, CodeNoSANs, "certificate has no subjectAltName; browsers ignore the common name %q", leaf.Subject.CommonName)
	}
	for _, n := range b.req.Names {
		if CoversName(leaf, n) {
			b.add(SeverityOK, CodeNameCovered, "%s is covered", n)
		} else {
			b.add(SeverityError, CodeNameNotCovered, "%s is not covered by the certificate names %s", n, strings.Join(leaf.DNSNames, ", "))
		}
	}
	if len(leaf.ExtKeyUsage) > 0 && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		b.add(SeverityError, CodeNotServerAuth, "certificate is not for TLS servers (extended key usage lacks serverAuth)")
	}
}

// checkKeys checks every key's type and size and every signature
// algorithm below the root.
func (b *bundleCheck) checkKeys() {
	weak := false
	for _, c := range b.dated() {
		if msg := keyProblem(c.PublicKey, b.minRSA); msg != "" {
			weak = true
			b.add(SeverityError, CodeWeakKey, "%q: %s", c.Subject.CommonName, msg)
		}
		if c != b.root && weakSignature(c.SignatureAlgorithm) {
			b.add(SeverityError, CodeWeakSignature, "%q is signed with %s, which clients reject", c.Subject.CommonName, c.SignatureAlgorithm)
		}
	}
	if !weak {
		b.add(SeverityOK, CodeKeyOK, "server key %s is acceptable", DescribeKey(b.leaf.PublicKey))
	}
}

// summarize describes each certificate of the final chain and decides OK.
func (b *bundleCheck) summarize() {
	for _, c := range b.dated() {
		role := "intermediate"
		switch {
		case c == b.leaf:
			role = "leaf"
		case c == b.root:
			role = "root"
		}
		b.rep.Certs = append(b.rep.Certs, summarize(role, c))
	}
	b.rep.OK = !slices.ContainsFunc(b.rep.Findings, func(f Finding) bool { return f.Severity == SeverityError })
}
