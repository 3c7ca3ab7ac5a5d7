package servercert

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/roamsign/roamsign"
)

// CSRRequest is the content of a certificate signing request for a server
// certificate: the subject and the names it must cover. Every DNS name is
// put into the subjectAltName extension (browsers ignore the common name);
// when Subject.CommonName is empty the first DNS name is used.
type CSRRequest struct {
	Subject        pkix.Name
	DNSNames       []string // host names, "*.example.gov.my" for a wildcard
	IPAddresses    []net.IP
	EmailAddresses []string
}

// Validate checks the host names: at least one name, each a syntactically
// valid DNS name, a wildcard only as the whole left-most label of a name
// with at least two more labels (RFC 6125 section 6.4.3), no duplicates.
func (r CSRRequest) Validate() error {
	const op = "servercert.CSRRequest"
	if len(r.DNSNames) == 0 && len(r.IPAddresses) == 0 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "no host names: give at least one DNS name")
	}
	seen := map[string]bool{}
	for _, n := range r.DNSNames {
		if err := ValidateDNSName(n); err != nil {
			return err
		}
		ln := strings.ToLower(n)
		if seen[ln] {
			return roamsign.E(roamsign.ErrInvalidInput, op, "name %q given twice", n)
		}
		seen[ln] = true
	}
	return nil
}

// ValidateDNSName checks one host name for a certificate: letters, digits
// and hyphens in labels of 1–63 characters, 253 characters at most, and a
// wildcard only as the complete left-most label followed by at least two
// labels ("*.example.my", not "*.my" or "w*.example.my").
func ValidateDNSName(name string) error {
	const op = "servercert.ValidateDNSName"
	if name == "" || len(name) > 253 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "host name %q has a bad length", name)
	}
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for i, l := range labels {
		if l == "*" {
			if i != 0 {
				return roamsign.E(roamsign.ErrInvalidInput, op, "%q: a wildcard must be the whole left-most label", name)
			}
			if len(labels) < 3 {
				return roamsign.E(roamsign.ErrInvalidInput, op, "%q: a wildcard needs at least two labels after it", name)
			}
			continue
		}
		if len(l) == 0 || len(l) > 63 {
			return roamsign.E(roamsign.ErrInvalidInput, op, "%q: empty or too long label", name)
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' && j > 0 && j < len(l)-1
			if !ok {
				return roamsign.E(roamsign.ErrInvalidInput, op, "%q: label %q holds %q (wildcards must be a whole label; letters, digits, inner hyphens only)", name, l, string(c))
			}
		}
	}
	return nil
}

// CreateCSR signs a PKCS#10 certificate request for req with key, which
// may be a software key or any HSM-held [crypto.Signer]. It returns the DER.
func CreateCSR(key crypto.Signer, req CSRRequest) ([]byte, error) {
	const op = "servercert.CreateCSR"
	if key == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no key")
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	subj := req.Subject
	if subj.CommonName == "" && len(req.DNSNames) > 0 {
		subj.CommonName = req.DNSNames[0]
	}
	tmpl := &x509.CertificateRequest{
		Subject:        subj,
		DNSNames:       slices.Clone(req.DNSNames),
		IPAddresses:    slices.Clone(req.IPAddresses),
		EmailAddresses: slices.Clone(req.EmailAddresses),
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "cannot create the request")
	}
	return der, nil
}

// CSRPEM wraps a DER request in a "CERTIFICATE REQUEST" PEM block.
func CSRPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// ParseCSR reads a certificate request from PEM (with any text around it)
// or DER and checks its self-signature.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	const op = "servercert.ParseCSR"
	if len(data) > MaxInputSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "input is %d bytes, limit %d", len(data), MaxInputSize)
	}
	der := data
	rest := cleanPaste(data)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE REQUEST" || b.Type == "NEW CERTIFICATE REQUEST" {
			der = b.Bytes
			break
		}
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "not a certificate request")
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "request signature does not verify")
	}
	return csr, nil
}

// RequestFromCertificate returns a [CSRRequest] with the same subject and
// names as an issued certificate, for a reissue or for an extra server of a
// multi-domain or wildcard certificate (each server its own key and CSR).
func RequestFromCertificate(cert *x509.Certificate) CSRRequest {
	return CSRRequest{
		Subject:        subjectForRequest(cert.Subject),
		DNSNames:       slices.Clone(cert.DNSNames),
		IPAddresses:    slices.Clone(cert.IPAddresses),
		EmailAddresses: slices.Clone(cert.EmailAddresses),
	}
}

// RequestFromCSR returns the content of an existing request, to sign it
// again (for example with a new key).
func RequestFromCSR(csr *x509.CertificateRequest) CSRRequest {
	return CSRRequest{
		Subject:        subjectForRequest(csr.Subject),
		DNSNames:       slices.Clone(csr.DNSNames),
		IPAddresses:    slices.Clone(csr.IPAddresses),
		EmailAddresses: slices.Clone(csr.EmailAddresses),
	}
}

// subjectForRequest keeps the parsed subject attributes, dropping the raw
// Names so that x509 re-encodes exactly the fields it knows plus any extra
// attribute types (kept in ExtraNames).
func subjectForRequest(n pkix.Name) pkix.Name {
	out := n
	out.Names = nil
	known := map[string]bool{
		"2.5.4.6": true, "2.5.4.10": true, "2.5.4.11": true, "2.5.4.3": true,
		"2.5.4.5": true, "2.5.4.7": true, "2.5.4.8": true, "2.5.4.9": true, "2.5.4.17": true,
	}
	out.ExtraNames = nil
	for _, a := range n.Names {
		if !known[a.Type.String()] {
			out.ExtraNames = append(out.ExtraNames, a)
		}
	}
	return out
}

// SendInstructions returns what to give the CA for a request: a summary
// (subject, names, key, public-key fingerprint) and the PEM to paste or
// upload. The private key is never part of it.
func SendInstructions(csrDER []byte) (string, error) {
	csr, err := ParseCSR(csrDER)
	if err != nil {
		return "", err
	}
	spki := sha256.Sum256(csr.RawSubjectPublicKeyInfo)
	var b strings.Builder
	fmt.Fprintf(&b, "Send this certificate request (CSR) to the CA.\n")
	fmt.Fprintf(&b, "  Subject:      %s\n", csr.Subject)
	fmt.Fprintf(&b, "  DNS names:    %s\n", strings.Join(csr.DNSNames, ", "))
	if len(csr.IPAddresses) > 0 {
		ips := make([]string, len(csr.IPAddresses))
		for i, ip := range csr.IPAddresses {
			ips[i] = ip.String()
		}
		fmt.Fprintf(&b, "  IP addresses: %s\n", strings.Join(ips, ", "))
	}
	fmt.Fprintf(&b, "  Key:          %s\n", DescribeKey(csr.PublicKey))
	fmt.Fprintf(&b, "  Key SHA-256:  %s\n", hex.EncodeToString(spki[:]))
	fmt.Fprintf(&b, "Paste or upload everything between and including the BEGIN/END lines.\n")
	fmt.Fprintf(&b, "Keep the private key on the server; never send it.\n\n")
	b.Write(CSRPEM(csr.Raw))
	return b.String(), nil
}
