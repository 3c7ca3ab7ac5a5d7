package servercert

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// judgeChain judges the served chain at the moment at: its order, trust
// (and whether the server forgot its intermediate), dates, signature
// algorithms, the host name and the RSA key size, each a cap when wrong.
func (p *prober) judgeChain(rep *GradeReport, st *tls.ConnectionState, at time.Time) {
	certs := st.PeerCertificates
	leaf := certs[0]
	describeServed(rep, certs)
	chains := p.judgeTrust(rep, certs, at)
	if !rep.ChainInOrder {
		addCap(rep, "A-", "chain served out of order (or with unrelated certificates)")
	}
	for _, c := range certs {
		if at.After(c.NotAfter) {
			addCap(rep, "T", fmt.Sprintf("%q expired on %s", c.Subject.CommonName, c.NotAfter.UTC().Format(time.DateOnly)))
		} else if at.Before(c.NotBefore) {
			addCap(rep, "T", fmt.Sprintf("%q not valid before %s", c.Subject.CommonName, c.NotBefore.UTC().Format(time.DateOnly)))
		}
	}
	if len(chains) > 0 {
		for _, c := range chains[0][:len(chains[0])-1] {
			if weakSignature(c.SignatureAlgorithm) {
				addCap(rep, "T", fmt.Sprintf("%q is signed with %s", c.Subject.CommonName, c.SignatureAlgorithm))
			}
		}
	}
	rep.NameMatches = leaf.VerifyHostname(p.serverName) == nil
	if !rep.NameMatches {
		addCap(rep, "M", fmt.Sprintf("certificate names (%s) do not match %s", strings.Join(leaf.DNSNames, ", "), p.serverName))
	}
	if k, ok := leaf.PublicKey.(*rsa.PublicKey); ok {
		switch bits := k.N.BitLen(); {
		case bits < 1024:
			addCap(rep, "F", fmt.Sprintf("RSA key of %d bits", bits))
		case bits < 2048:
			addCap(rep, "B", fmt.Sprintf("RSA key of %d bits (2048 needed)", bits))
		}
	}
}

// describeServed lists the served certificates with their roles and
// whether each is issued by the next one.
func describeServed(rep *GradeReport, certs []*x509.Certificate) {
	for i, c := range certs {
		role := "intermediate"
		if i == 0 {
			role = "leaf"
		} else if isSelfSigned(c) {
			role = "root"
		}
		rep.Chain = append(rep.Chain, summarize(role, c))
	}
	rep.ChainInOrder = true
	for i := 0; i+1 < len(certs); i++ {
		if !bytes.Equal(certs[i].RawIssuer, certs[i+1].RawSubject) || certs[i].CheckSignatureFrom(certs[i+1]) != nil {
			rep.ChainInOrder = false
		}
	}
}

// judgeTrust verifies the served chain at a time when every served
// certificate is valid (dates are judged apart), then, when that fails
// and the grader knows intermediates, with them: trusted that way, the
// server forgot its intermediate (cap B); not trusted at all is cap T. It
// returns the verified chains.
func (p *prober) judgeTrust(rep *GradeReport, certs []*x509.Certificate, at time.Time) [][]*x509.Certificate {
	leaf := certs[0]
	served := x509.NewCertPool()
	for _, c := range certs[1:] {
		served.AddCert(c)
	}
	roots := p.req.Roots
	if roots == nil {
		if sys, err := x509.SystemCertPool(); err == nil {
			roots = sys
		} else {
			roots = x509.NewCertPool()
		}
	}
	vt := at
	for _, c := range certs {
		if c.NotBefore.After(vt) {
			vt = c.NotBefore.Add(time.Second)
		}
		if c.NotAfter.Before(vt) {
			vt = c.NotAfter.Add(-time.Second)
		}
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: served, CurrentTime: vt, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	chains, err := leaf.Verify(opts)
	switch {
	case err == nil:
		rep.Trusted, rep.ChainComplete = true, true
	case p.req.Intermediates != nil:
		extra := p.req.Intermediates.Clone()
		for _, c := range certs[1:] {
			extra.AddCert(c)
		}
		opts.Intermediates = extra
		chains, err = leaf.Verify(opts)
		if err == nil {
			rep.Trusted = true
			addCap(rep, "B", "chain incomplete: the server does not send its intermediate certificate")
		}
	}
	if !rep.Trusted {
		var ua x509.UnknownAuthorityError
		reason := "certificate is not trusted"
		switch {
		case errors.As(err, &ua) && len(certs) == 1 && isSelfSigned(leaf):
			reason = "self-signed certificate"
		case errors.As(err, &ua):
			reason = "chain does not lead to a trusted root (incomplete chain or unknown CA)"
		case err != nil:
			reason = "certificate is not trusted: " + err.Error()
		}
		addCap(rep, "T", reason)
	}
	return chains
}

func (p *prober) judgeOCSP(rep *GradeReport, st *tls.ConnectionState) {
	if len(st.OCSPResponse) == 0 {
		rep.Reasons = append(rep.Reasons, "info: no OCSP response stapled")
		return
	}
	rep.OCSPStapled = true
	var issuer *x509.Certificate
	if len(st.PeerCertificates) > 1 {
		issuer = st.PeerCertificates[1]
	}
	resp, err := ocsp.ParseResponseForCert(st.OCSPResponse, st.PeerCertificates[0], issuer)
	if err != nil {
		rep.OCSPStatus = "invalid"
		rep.Reasons = append(rep.Reasons, "warning: stapled OCSP response does not parse or verify: "+err.Error())
		return
	}
	switch resp.Status {
	case ocsp.Good:
		rep.OCSPStatus = "good"
	case ocsp.Revoked:
		rep.OCSPStatus = "revoked"
		addCap(rep, "T", "stapled OCSP response says the certificate is revoked")
	default:
		rep.OCSPStatus = "unknown"
	}
}

func (p *prober) checkHSTS(ctx context.Context, rep *GradeReport) {
	path := p.req.HTTPPath
	if path == "" {
		path = "/"
	}
	ctx, cancel := context.WithTimeout(ctx, p.req.Timeout)
	defer cancel()
	cfg := p.config()
	cfg.MinVersion, cfg.CipherSuites = tls.VersionTLS10, allSuiteIDs() // reach any server that answered a probe
	tr := &http.Transport{
		TLSClientConfig: cfg,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return p.dial(ctx)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	u := "https://" + net.JoinHostPort(p.serverName, portOf(p.req.Address)) + path
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		rep.Reasons = append(rep.Reasons, "warning: cannot build the HTTP request: "+err.Error())
		return
	}
	resp, err := client.Do(hreq)
	if err != nil {
		rep.Reasons = append(rep.Reasons, "warning: HTTP request over TLS failed, HSTS unknown: "+err.Error())
		return
	}
	_ = resp.Body.Close()
	rep.HSTS = resp.Header.Get("Strict-Transport-Security")
	rep.HSTSMaxAge = hstsMaxAge(rep.HSTS)
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// hstsMaxAge returns the max-age directive of an HSTS header, or -1 when
// the header is absent or malformed.
func hstsMaxAge(h string) int64 {
	if h == "" {
		return -1
	}
	for _, d := range strings.Split(h, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(d), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "max-age") {
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(v), `"`), 10, 64)
			if err == nil && n >= 0 {
				return n
			}
		}
	}
	return -1
}
