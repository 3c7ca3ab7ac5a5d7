package servercert

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/roamsign/roamsign"
)

// FetchIssuer downloads the issuer of cert from the addresses in its
// Authority Information Access extension (caIssuers), as browsers do for a
// server that forgot its intermediate. Only http and https addresses are
// used, each response is limited to [MaxInputSize], and the result must be
// the certificate that signed cert. A nil client means a client with a
// 10-second timeout.
//
// Errors: [roamsign.ErrNotFound] when cert names no address,
// [roamsign.ErrUnavailable] when no address gave a usable issuer.
func FetchIssuer(ctx context.Context, client *http.Client, cert *x509.Certificate) (*x509.Certificate, string, error) {
	const op = "servercert.FetchIssuer"
	if len(cert.IssuingCertificateURL) == 0 {
		return nil, "", roamsign.E(roamsign.ErrNotFound, op, "%q names no issuer download address (AIA caIssuers)", cert.Subject.CommonName)
	}
	if client == nil {
		client = &http.Client{Timeout: defaultFetchTimeout}
	}
	var lastErr error
	for _, u := range cert.IssuingCertificateURL {
		issuer, err := fetchOne(ctx, client, u, cert)
		if err == nil {
			return issuer, u, nil
		}
		lastErr = err
	}
	return nil, "", roamsign.Wrap(roamsign.ErrUnavailable, op, lastErr, "issuer of "+cert.Subject.CommonName+" could not be downloaded")
}

const defaultFetchTimeout = 10 * time.Second

func fetchOne(ctx context.Context, client *http.Client, raw string, cert *x509.Certificate) (*x509.Certificate, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("%s: not an http(s) address", raw)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", raw, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxInputSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", raw, err)
	}
	certs, _, err := ParseCertificates(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", raw, err)
	}
	for _, c := range certs {
		if bytes.Equal(c.RawSubject, cert.RawIssuer) && cert.CheckSignatureFrom(c) == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%s: no certificate there signed %q", raw, cert.Subject.CommonName)
}

// MissingIssuer returns the certificate at the top of an incomplete chain,
// whose issuer is missing, or nil when the chain is complete or ends at an
// untrusted root.
func (r *BundleReport) MissingIssuer() *x509.Certificate {
	if r.Complete || len(r.Chain) == 0 || !r.Has(CodeMissingIntermediate) {
		return nil
	}
	return r.Chain[len(r.Chain)-1]
}
