package pdf

import (
	"bytes"
	"context"
	"crypto"
	"io"
	"net/http"

	"github.com/digitorus/timestamp"
	"github.com/roamsign/roamsign"
)

// TSAClient obtains RFC 3161 time-stamp tokens from a time-stamping
// authority over HTTP (POST application/timestamp-query).
type TSAClient struct {
	// URL of the TSA; http or https.
	URL string
	// HTTPClient to use; default http.DefaultClient. Set a timeout on it.
	HTTPClient *http.Client
	// Hash for the message imprint; default SHA-256.
	Hash crypto.Hash
	// MaxResponse bounds the response size; default 1 MiB.
	MaxResponse int64
}

var _ Timestamper = (*TSAClient)(nil)

// Timestamp requests a token over data and checks that the response grants
// it and matches the request's imprint.
func (c *TSAClient) Timestamp(ctx context.Context, data []byte) ([]byte, error) {
	const op = "pdf.TSAClient.Timestamp"
	h := c.Hash
	if h == 0 {
		h = crypto.SHA256
	}
	max := c.MaxResponse
	if max <= 0 {
		max = 1 << 20
	}
	req, err := timestamp.CreateRequest(bytes.NewReader(data), &timestamp.RequestOptions{Hash: h, Certificates: true})
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "building the time-stamp request failed")
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(req))
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "bad TSA URL")
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "TSA request failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, roamsign.E(roamsign.ErrUnavailable, op, "TSA answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "reading the TSA response failed")
	}
	if int64(len(body)) > max {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "TSA response exceeds %d bytes", max)
	}
	ts, err := parseTimestampResponse(body)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "bad TSA response")
	}
	want := h.New()
	want.Write(data)
	if ts.HashAlgorithm != h || !bytes.Equal(ts.HashedMessage, want.Sum(nil)) {
		return nil, roamsign.E(roamsign.ErrInvalidSignature, op, "the time-stamp token does not cover the signature")
	}
	return ts.RawToken, nil
}

// parseTimestampResponse parses and verifies a TimeStampResp, turning a
// panic of the parser into an error.
func parseTimestampResponse(b []byte) (ts *timestamp.Timestamp, err error) {
	defer func() {
		if p := recover(); p != nil {
			ts, err = nil, roamsign.E(roamsign.ErrInvalidInput, "pdf.TSAClient", "malformed time-stamp response")
		}
	}()
	return timestamp.ParseResponse(b)
}
