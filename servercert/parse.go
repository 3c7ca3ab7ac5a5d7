package servercert

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// Limits on what the parsers accept. Inputs beyond them are refused with an
// error of kind [roamsign.ErrTooLarge] before any decoding.
const (
	// MaxInputSize is the largest certificate, bundle or paste accepted.
	MaxInputSize = 1 << 20
	// MaxCertificates is the largest number of certificates taken from one
	// input (a PEM file, a paste or a PKCS#7 bundle).
	MaxCertificates = 64
)

// Format names the encoding a certificate input was recognised as.
type Format string

// The recognised input formats.
const (
	FormatPEM      Format = "pem"       // one or more CERTIFICATE blocks
	FormatDER      Format = "der"       // a single DER certificate (.cer/.crt)
	FormatPKCS7DER Format = "pkcs7-der" // a certs-only PKCS#7 bundle (.p7b) in DER
	FormatPKCS7PEM Format = "pkcs7-pem" // a PKCS7 PEM block
	FormatBase64   Format = "base64"    // bare base64 of a DER certificate or PKCS#7, no PEM armour
	FormatMixedPEM Format = "pem-mixed" // PEM holding both certificates and PKCS7 blocks
)

const (
	formatUnknown     Format = ""
	errCorruptDefault        = "not a certificate in any known form (PEM, DER, PKCS#7, base64)"
)

// CorruptCertificateError reports a received certificate that cannot be
// parsed. A corrupt certificate from the CA is a warranty matter: when the
// acceptance date is known, ClaimBy is the last day on which a warranty
// claim can be lodged (acceptance + [WarrantyClaimDays]).
//
// errors.Is(err, roamsign.ErrInvalidInput) holds for it, and errors.As finds
// it through wrapping.
type CorruptCertificateError struct {
	Source  string    // file name or label of the input, may be empty
	Reason  string    // what was wrong, for people
	ClaimBy time.Time // warranty claim deadline; zero when acceptance is unknown
	Err     error     // underlying parse error, may be nil
}

// Error describes the corrupt input and, when known, the claim deadline.
func (e *CorruptCertificateError) Error() string {
	var b strings.Builder
	b.WriteString("servercert: corrupt certificate")
	if e.Source != "" {
		fmt.Fprintf(&b, " in %s", e.Source)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if !e.ClaimBy.IsZero() {
		fmt.Fprintf(&b, " (claim a replacement under warranty by %s)", e.ClaimBy.Format(time.DateOnly))
	}
	return b.String()
}

var _ error = (*CorruptCertificateError)(nil)

// Unwrap returns the underlying parse error.
func (e *CorruptCertificateError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, roamsign.ErrInvalidInput) true.
func (e *CorruptCertificateError) Is(target error) bool {
	k, ok := target.(roamsign.Kind)
	return ok && k == roamsign.ErrInvalidInput
}

// ParseCertificates reads every certificate in data, which may be PEM (one
// or more blocks, with any text, indentation, CRLF line ends or e-mail quote
// marks around them), a DER certificate, a certs-only PKCS#7 bundle in DER
// or PEM, or bare base64 of either. Certificates are returned in the order
// they appear. Private keys and other PEM blocks are ignored.
//
// Input over [MaxInputSize] gets [roamsign.ErrTooLarge]; input that holds no
// parsable certificate, or a certificate block that does not parse, gets a
// [*CorruptCertificateError].
func ParseCertificates(data []byte) ([]*x509.Certificate, Format, error) {
	const op = "servercert.ParseCertificates"
	if len(data) > MaxInputSize {
		return nil, formatUnknown, roamsign.E(roamsign.ErrTooLarge, op, "input is %d bytes, limit %d", len(data), MaxInputSize)
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return parsePEMCerts(data)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, formatUnknown, &CorruptCertificateError{Reason: "empty input"}
	}
	if trimmed[0] == 0x30 {
		certs, f, err := parseDERCerts(data)
		if err == nil {
			return certs, f, nil
		}
		// A binary input that fails as DER is corrupt; do not try base64.
		if !isBase64Text(trimmed) {
			return nil, formatUnknown, err
		}
	}
	if isBase64Text(trimmed) {
		der, err := base64.StdEncoding.DecodeString(stripSpace(trimmed))
		if err != nil {
			return nil, formatUnknown, &CorruptCertificateError{Reason: "base64 text does not decode", Err: err}
		}
		certs, _, err := parseDERCerts(der)
		if err != nil {
			return nil, formatUnknown, err
		}
		return certs, FormatBase64, nil
	}
	return nil, formatUnknown, &CorruptCertificateError{Reason: errCorruptDefault}
}

// parseDERCerts parses a DER certificate or a DER PKCS#7 bundle.
//
// Leading white space and trailing white space after the DER structure (a
// file saved with a final newline) are ignored; the DER itself is never
// trimmed, since its last bytes may be any value.
func parseDERCerts(data []byte) ([]*x509.Certificate, Format, error) {
	data = bytes.TrimLeft(data, " \t\r\n")
	var outer asn1.RawValue
	rest, err := asn1.Unmarshal(data, &outer)
	if err != nil {
		return nil, formatUnknown, &CorruptCertificateError{Reason: "DER structure is broken", Err: err}
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, formatUnknown, &CorruptCertificateError{Reason: fmt.Sprintf("%d bytes of trailing data after the DER structure", len(rest))}
	}
	der := outer.FullBytes
	if isPKCS7(outer) {
		certs, err := ParsePKCS7Certificates(der)
		if err != nil {
			return nil, formatUnknown, err
		}
		return certs, FormatPKCS7DER, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, formatUnknown, &CorruptCertificateError{Reason: "DER certificate does not parse", Err: err}
	}
	return []*x509.Certificate{c}, FormatDER, nil
}

// isPKCS7 reports whether a DER SEQUENCE starts with an OBJECT IDENTIFIER,
// as a ContentInfo does and a Certificate (which starts with a SEQUENCE)
// does not.
func isPKCS7(outer asn1.RawValue) bool {
	if outer.Class != asn1.ClassUniversal || outer.Tag != asn1.TagSequence || len(outer.Bytes) == 0 {
		return false
	}
	return outer.Bytes[0] == asn1.TagOID
}

func parsePEMCerts(data []byte) ([]*x509.Certificate, Format, error) {
	clean := cleanPaste(data)
	var (
		certs        []*x509.Certificate
		sawCert, p7  bool
		blocks       int
		rest         = clean
		firstErr     error
		unknownTypes []string
	)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks++
		if blocks > 4*MaxCertificates {
			return nil, formatUnknown, roamsign.E(roamsign.ErrTooLarge, "servercert.ParseCertificates", "more than %d PEM blocks", 4*MaxCertificates)
		}
		switch b.Type {
		case "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE":
			der := b.Bytes
			if b.Type == "TRUSTED CERTIFICATE" {
				// OpenSSL appends trust settings after the certificate.
				var raw asn1.RawValue
				if _, err := asn1.Unmarshal(der, &raw); err == nil {
					der = raw.FullBytes
				}
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				if firstErr == nil {
					firstErr = &CorruptCertificateError{Reason: fmt.Sprintf("PEM block %d (%s) does not parse", blocks, b.Type), Err: err}
				}
				continue
			}
			sawCert = true
			certs = append(certs, c)
		case "PKCS7", "PKCS #7 SIGNED DATA", "CMS":
			cs, err := ParsePKCS7Certificates(b.Bytes)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			p7 = true
			certs = append(certs, cs...)
		default:
			unknownTypes = append(unknownTypes, b.Type)
		}
		if len(certs) > MaxCertificates {
			return nil, formatUnknown, roamsign.E(roamsign.ErrTooLarge, "servercert.ParseCertificates", "more than %d certificates", MaxCertificates)
		}
	}
	if firstErr != nil {
		// One broken block makes the whole input suspect: report it rather
		// than silently using the rest.
		return nil, formatUnknown, firstErr
	}
	if len(certs) == 0 {
		reason := "no CERTIFICATE or PKCS7 block found"
		if len(unknownTypes) > 0 {
			reason = fmt.Sprintf("no certificate found, only PEM blocks of type %s", strings.Join(unknownTypes, ", "))
		} else if blocks == 0 {
			reason = "PEM armour is broken (BEGIN without a matching END, or bad base64)"
		}
		return nil, formatUnknown, &CorruptCertificateError{Reason: reason}
	}
	switch {
	case sawCert && p7:
		return certs, FormatMixedPEM, nil
	case p7:
		return certs, FormatPKCS7PEM, nil
	}
	return certs, FormatPEM, nil
}

// cleanPaste normalises text pasted from e-mail or web pages: CRLF and CR
// become LF, each line loses surrounding white space and leading '>' quote
// marks, and non-breaking spaces vanish.
func cleanPaste(data []byte) []byte {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\u00a0", "")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		for strings.HasPrefix(l, ">") {
			l = strings.TrimSpace(l[1:])
		}
		lines[i] = l
	}
	return []byte(strings.Join(lines, "\n"))
}

func isBase64Text(b []byte) bool {
	n := 0
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/', c == '=':
			n++
		case c == ' ', c == '\n', c == '\r', c == '\t':
		default:
			return false
		}
	}
	return n >= 16
}

func stripSpace(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// IsCorrupt reports whether err is (or wraps) a [*CorruptCertificateError].
func IsCorrupt(err error) bool {
	var ce *CorruptCertificateError
	return errors.As(err, &ce)
}
