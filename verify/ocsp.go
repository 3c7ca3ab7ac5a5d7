package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/roamsign/roamsign"
	"golang.org/x/crypto/ocsp"
	"golang.org/x/sync/singleflight"
)

// OCSPClient queries OCSP responders (RFC 6960) with golang.org/x/crypto/ocsp.
// The zero value is usable: http only, 10 s timeout, 1 MiB response cap.
type OCSPClient struct {
	// Cache keeps good and revoked answers until their nextUpdate; nil
	// disables caching. Concurrent queries for one certificate share one
	// request when it is set.
	Cache *OCSPCache

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

// OCSPCache holds OCSP responses per issuer, serial and responder until
// their nextUpdate. It is safe for concurrent use.
type OCSPCache struct {
	mu sync.Mutex
	m  map[string]*ocsp.Response
	sf singleflight.Group
}

// NewOCSPCache returns an empty cache.
func NewOCSPCache() *OCSPCache { return &OCSPCache{m: map[string]*ocsp.Response{}} }

// responder returns the URL to ask about cert.
func (o *OCSPClient) responder(cert *x509.Certificate) string {
	if o.Responder != "" {
		return o.Responder
	}
	if len(cert.OCSPServer) > 0 {
		return cert.OCSPServer[0]
	}
	return ""
}

// status returns a response for cert, from the cache when it is fresh at now.
func (o *OCSPClient) status(ctx context.Context, cert, issuer *x509.Certificate, now time.Time) (*ocsp.Response, string, error) {
	c := o.Cache
	if c == nil {
		return o.query(ctx, cert, issuer)
	}
	key := issuerID(issuer) + "|" + cert.SerialNumber.Text(16) + "|" + o.responder(cert)
	fresh := func() (*ocsp.Response, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		r, ok := c.m[key]
		return r, ok && !now.Before(r.ThisUpdate.Add(-5*time.Minute)) && now.Before(r.NextUpdate)
	}
	if r, ok := fresh(); ok {
		return r, o.responder(cert), nil
	}
	ch := c.sf.DoChan(key, func() (any, error) {
		if r, ok := fresh(); ok {
			return r, nil
		}
		r, _, err := o.query(context.WithoutCancel(ctx), cert, issuer)
		if err != nil {
			return nil, err
		}
		if r.Status == ocsp.Good || r.Status == ocsp.Revoked {
			c.mu.Lock()
			if len(c.m) >= maxCacheEntries {
				c.m = map[string]*ocsp.Response{}
			}
			c.m[key] = r
			c.mu.Unlock()
		}
		return r, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, o.responder(cert), res.Err
		}
		return res.Val.(*ocsp.Response), o.responder(cert), nil
	case <-ctx.Done():
		return nil, o.responder(cert), roamsign.Wrap(roamsign.ErrUnavailable, "verify.OCSPClient", ctx.Err(), "waiting for OCSP")
	}
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

// ocspStatus decides the status of cert from OCSP: responses supplied or
// embedded first, then (when network is true) the responder. Anything
// undecidable is RevUnknown.
func (v *Verifier) ocspStatus(ctx context.Context, cert, issuer *x509.Certificate, rc revocationCtx, network bool) RevocationInfo {
	ci := v.info(cert)
	info := RevocationInfo{Subject: ci.Subject, Serial: ci.Serial, Status: RevUnknown, Source: "ocsp"}
	var why []string
	if rc.ev != nil {
		for _, cand := range rc.ev.ocsps {
			r, err := parseOCSP(cand.der, cert, issuer)
			if err != nil {
				why = append(why, cand.origin+" OCSP response: "+err.Error())
				continue
			}
			out := v.ocspJudge(ctx, info, r, cert, issuer, rc)
			if out.Status != RevUnknown {
				out.Origin, out.evidence = cand.origin, [][]byte{cand.der}
				return out
			}
			why = append(why, cand.origin+" OCSP response: "+out.Detail)
		}
	}
	switch {
	case !network:
		why = append(why, "no usable OCSP response supplied or embedded")
	case v.cfg.Offline:
		why = append(why, "offline: the OCSP responder is not asked")
	case v.cfg.OCSP == nil:
		why = append(why, "no OCSP client configured")
	default:
		r, u, err := v.cfg.OCSP.status(ctx, cert, issuer, rc.now)
		info.URL = u
		if err != nil {
			why = append(why, err.Error())
			break
		}
		out := v.ocspJudge(ctx, info, r, cert, issuer, rc)
		if out.Status != RevUnknown {
			out.Origin, out.evidence = OriginFetched, [][]byte{r.Raw}
			return out
		}
		why = append(why, out.Detail)
	}
	info.Detail = strings.Join(dedupe(why), "; ")
	return info
}

// oidOCSPNoCheck is id-pkix-ocsp-nocheck (RFC 6960 section 4.2.2.2.1).
var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// ocspJudge applies the time rules to a response for cert, then the
// delegated responder's own status: a response decides nothing when its
// responder is not the CA itself, its certificate lacks
// id-pkix-ocsp-nocheck, and its revocation status (by CRL) is not good.
func (v *Verifier) ocspJudge(ctx context.Context, info RevocationInfo, r *ocsp.Response, cert, issuer *x509.Certificate, rc revocationCtx) RevocationInfo {
	out := v.ocspDecide(info, r, cert, rc)
	if out.Status == RevUnknown {
		return out
	}
	if why := v.responderStatus(ctx, r, issuer, rc); why != "" {
		info.Detail = why
		return info
	}
	return out
}

// responderStatus returns why the delegated responder of r may not be
// trusted ("" when it may, or when the CA signed r itself). Without
// id-pkix-ocsp-nocheck its certificate is checked against the issuer's
// CRLs when the response was produced; any revocation, or no decision,
// makes the response decide nothing.
func (v *Verifier) responderStatus(ctx context.Context, r *ocsp.Response, issuer *x509.Certificate, rc revocationCtx) string {
	resp := r.Certificate
	if resp == nil || bytes.Equal(resp.Raw, issuer.Raw) {
		return ""
	}
	for _, e := range resp.Extensions {
		if e.Id.Equal(oidOCSPNoCheck) {
			return ""
		}
	}
	if rc.depth >= maxSignerDepth {
		return "delegated OCSP responder: too many nested revocation checks"
	}
	sub := rc
	sub.at, sub.timestamped, sub.depth = r.ProducedAt, false, rc.depth+1
	switch in := v.crlStatus(ctx, resp, issuer, sub); in.Status {
	case RevGood:
		return ""
	case RevRevoked:
		return "delegated OCSP responder's certificate is revoked"
	default:
		return "delegated OCSP responder's own status unknown (no id-pkix-ocsp-nocheck): " + in.Detail
	}
}

// ocspDecide applies the time rules to a response for cert.
func (v *Verifier) ocspDecide(info RevocationInfo, r *ocsp.Response, cert *x509.Certificate, rc revocationCtx) RevocationInfo {
	if why := v.fresh(rc, r.ThisUpdate, r.NextUpdate); why != "" {
		info.Detail = "OCSP response " + why
		return info
	}
	if cert.NotAfter.Before(r.ThisUpdate) {
		info.Detail = "OCSP response issued after the certificate expired"
		return info
	}
	if rc := r.Certificate; rc != nil && (r.ProducedAt.Before(rc.NotBefore) || r.ProducedAt.After(rc.NotAfter)) {
		info.Detail = "OCSP responder certificate not valid when the response was produced"
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
		info.AfterSigningTime = rc.timestamped && rc.at.Before(at)
	default:
		info.Detail = fmt.Sprintf("OCSP status %d (unknown)", r.Status)
	}
	return info
}
