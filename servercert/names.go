package servercert

import (
	"crypto/x509"
	"net"
	"strings"
)

// MatchHostname reports whether a certificate name (a subjectAltName DNS
// entry, possibly a wildcard) covers host, by the rules of RFC 6125 section
// 6.4: case-insensitive, a trailing dot ignored, a wildcard only as the
// whole left-most label, matching exactly one label (so "*.example.my"
// covers "www.example.my" but neither "example.my" nor "a.b.example.my"),
// never matching an internationalised A-label ("xn--") in that position,
// and only when at least two labels follow it.
func MatchHostname(pattern, host string) bool {
	p := strings.ToLower(strings.TrimSuffix(pattern, "."))
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if p == "" || h == "" {
		return false
	}
	if !strings.HasPrefix(p, "*.") {
		return !strings.Contains(p, "*") && p == h
	}
	suffix := p[1:] // ".example.my"
	if strings.Contains(suffix, "*") || strings.Count(suffix, ".") < 2 {
		return false
	}
	if !strings.HasSuffix(h, suffix) {
		return false
	}
	label := h[:len(h)-len(suffix)]
	return label != "" && !strings.Contains(label, ".") && !strings.HasPrefix(label, "xn--")
}

// CoversName reports whether cert is valid for name: an IP address is
// matched against the IP SANs, a host name against the DNS SANs with
// [MatchHostname]. The common name is not used (RFC 6125, CA/B Forum).
func CoversName(cert *x509.Certificate, name string) bool {
	if ip := net.ParseIP(strings.Trim(name, "[]")); ip != nil {
		for _, c := range cert.IPAddresses {
			if c.Equal(ip) {
				return true
			}
		}
		return false
	}
	for _, d := range cert.DNSNames {
		if MatchHostname(d, name) {
			return true
		}
	}
	return false
}
