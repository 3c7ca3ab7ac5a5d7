package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/roamsign/roamsign"
	"golang.org/x/crypto/ocsp"
)

// OCSPClient queries OCSP responders (RFC 6960) with golang.org/x/crypto/ocsp.
// The zero value is usable: http only, 10 s timeout, 1 MiB response cap.
type OCSPClient struct {
	// Client is the HTTP client; nil uses a private one. Redirects are refused.
	Client *http.Client
	// Timeout bounds one query; zero means 10 s.
	Timeout time.Duration
	// MaxSize caps a response; zero means 1 MiB.
	MaxSize int64
	// Responder, when set, overrides the certificate's OCSP URL.
	Responder string
	// AllowHTTPS also allows https responders.
	AllowHTTPS bool
}

func (o *OCSPClient) query(ctx context.Context, cert, issuer *x509.Certificate) (*ocsp.Response, string, error) {
	const op = "verify.OCSPClient"
	u := o.Responder
	if u == "" {
		if len(cert.OCSPServer) == 0 {
			return nil, "", roamsign.E(roamsign.ErrNotFound, op, "certificate names no OCSP responder")
		}
		u = cert.OCSPServer[0]
	}
	pu, err := url.Parse(u)
	if err != nil || !(pu.Scheme == "http" || (o.AllowHTTPS && pu.Scheme == "https")) {
		return nil, u, roamsign.E(roamsign.ErrInvalidInput, op, "OCSP URL %q not allowed", u)
	}
	reqDER, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		return nil, u, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "build OCSP request")
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var c http.Client
	if o.Client != nil {
		c = *o.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(reqDER))
	if err != nil {
		return nil, u, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "bad OCSP request")
	}
	hr.Header.Set("Content-Type", "application/ocsp-request")
	resp, err := c.Do(hr)
	if err != nil {
		return nil, u, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "OCSP query failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, u, roamsign.E(roamsign.ErrUnavailable, op, "OCSP responder: HTTP status %d", resp.StatusCode)
	}
	max := o.MaxSize
	if max <= 0 {
		max = 1 << 20
	}
	body, err := readLimited(resp.Body, max, op)
	if err != nil {
		return nil, u, err
	}
	r, err := parseOCSP(body, cert, issuer)
	return r, u, err
}

// parseOCSP parses and checks a response for cert; the x/crypto parser
// checks the signature (by the issuer or a responder certificate it issued).
func parseOCSP(body []byte, cert, issuer *x509.Certificate) (r *ocsp.Response, err error) {
	const op = "verify.parseOCSP"
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, roamsign.E(roamsign.ErrInvalidInput, op, "malformed OCSP response")
		}
	}()
	r, err = ocsp.ParseResponseForCert(body, cert, issuer)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "OCSP response rejected")
	}
	if r.Certificate != nil && !bytes.Equal(r.Certificate.Raw, issuer.Raw) &&
		!slices.Contains(r.Certificate.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
		return nil, roamsign.E(roamsign.ErrInvalidSignature, op, "OCSP responder certificate lacks the OCSPSigning purpose")
	}
	if r.SerialNumber == nil || r.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "OCSP response is for another certificate")
	}
	return r, nil
}

// ocspStatus decides the status of cert from OCSP; anything undecidable is
// RevUnknown.
func (v *Verifier) ocspStatus(ctx context.Context, cert, issuer *x509.Certificate, rc revocationCtx) RevocationInfo {
	ci := v.info(cert)
	info := RevocationInfo{Subject: ci.Subject, Serial: ci.Serial, Status: RevUnknown, Source: "ocsp"}
	if v.cfg.OCSP == nil {
		info.Detail = "no OCSP client configured"
		return info
	}
	r, u, err := v.cfg.OCSP.query(ctx, cert, issuer)
	info.URL = u
	if err != nil {
		info.Detail = err.Error()
		return info
	}
	now := rc.now
	switch {
	case now.Before(r.ThisUpdate.Add(-5 * time.Minute)):
		info.Detail = "OCSP response thisUpdate is in the future"
		return info
	case r.NextUpdate.IsZero():
		info.Detail = "OCSP response has no nextUpdate"
		return info
	case !now.Before(r.NextUpdate):
		info.Detail = "OCSP response is stale"
		return info
	}
	tu := r.ThisUpdate
	info.ProducedAt = &tu
	switch r.Status {
	case ocsp.Good:
		info.Status = RevGood
	case ocsp.Revoked:
		at := r.RevokedAt
		info.Status = RevRevoked
		info.Reason = ReasonName(r.RevocationReason)
		info.RevokedAt = &at
		info.AfterSigningTime = rc.timestamped && rc.trusted.Before(at)
	default:
		info.Detail = fmt.Sprintf("OCSP status %d (unknown)", r.Status)
	}
	return info
}
