package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// ClientOptions configure [NewClient].
type ClientOptions struct {
	// HTTPClient sends the requests; configure its TLS client certificate
	// for mTLS. Default: a client with a 60-second timeout.
	HTTPClient *http.Client
	// APIKey, when set, is sent as "Authorization: Bearer <key>".
	APIKey string
	// MaxResponseBytes limits response bodies. Default 64 MiB.
	MaxResponseBytes int64
	// UserAgent is sent with every request.
	UserAgent string
}

// Client calls a roamsign HTTP API. It implements [roamsign.API] and, when
// pointed at an AdminHandler, [roamsign.Admin]. Errors carry the server's
// kind, so errors.Is(err, roamsign.ErrLocked) works through it; the cause
// is a [*Problem] with the HTTP status and Retry-After. It is safe for
// concurrent use.
type Client struct {
	base *url.URL
	hc   *http.Client
	opts ClientOptions
}

var (
	_ roamsign.API   = (*Client)(nil)
	_ roamsign.Admin = (*Client)(nil)
)

// NewClient returns a client for the API at baseURL (scheme and host, with
// an optional path prefix under which the handler is mounted).
func NewClient(baseURL string, opts ClientOptions) (*Client, error) {
	const op = "httpapi.NewClient"
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "base URL must be an absolute http(s) URL")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 64 << 20
	}
	return &Client{base: u, hc: opts.HTTPClient, opts: opts}, nil
}

// Medium calls POST /v1/medium.
func (c *Client) Medium(ctx context.Context, req roamsign.MediumRequest) (*roamsign.MediumResponse, error) {
	var out roamsign.MediumResponse
	if err := c.do(ctx, "Medium", http.MethodPost, PathMedium, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RequestOTP calls POST /v1/otp.
func (c *Client) RequestOTP(ctx context.Context, req roamsign.OTPRequest) (*roamsign.OTPResponse, error) {
	var out roamsign.OTPResponse
	if err := c.do(ctx, "RequestOTP", http.MethodPost, PathOTP, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Sign calls POST /v1/sign. PIN and OTP travel in the request body only.
func (c *Client) Sign(ctx context.Context, req roamsign.SignRequest) (*roamsign.SignResponse, error) {
	var out roamsign.SignResponse
	if err := c.do(ctx, "Sign", http.MethodPost, PathSign, signWireOf(req), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Status calls GET /v1/transactions/{transactionId}.
func (c *Client) Status(ctx context.Context, req roamsign.StatusRequest) (*roamsign.StatusResponse, error) {
	if req.TransactionID == "" {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "httpapi.Client.Status", "transaction id required")
	}
	var out roamsign.StatusResponse
	p := strings.Replace(PathTransaction, "{transactionId}", url.PathEscape(req.TransactionID), 1)
	if err := c.do(ctx, "Status", http.MethodGet, p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Enrol calls POST /v1/admin/enrol.
func (c *Client) Enrol(ctx context.Context, req roamsign.EnrolRequest) (*roamsign.EnrolResponse, error) {
	var out roamsign.EnrolResponse
	if err := c.do(ctx, "Enrol", http.MethodPost, PathEnrol, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ImportChain calls POST /v1/admin/chain.
func (c *Client) ImportChain(ctx context.Context, req roamsign.ImportChainRequest) error {
	return c.do(ctx, "ImportChain", http.MethodPost, PathImportChain, req, nil)
}

// SetPIN calls POST /v1/admin/pin.
func (c *Client) SetPIN(ctx context.Context, req roamsign.SetPINRequest) error {
	w := setPINWire{User: req.User, Old: req.Old.Reveal(), New: req.New.Reveal()}
	return c.do(ctx, "SetPIN", http.MethodPost, PathSetPIN, w, nil)
}

// ResetPIN calls POST /v1/admin/pin/reset.
func (c *Client) ResetPIN(ctx context.Context, req roamsign.ResetPINRequest) error {
	w := resetPINWire{User: req.User, New: req.New.Reveal()}
	return c.do(ctx, "ResetPIN", http.MethodPost, PathResetPIN, w, nil)
}

// ClearOTPBackoff calls POST /v1/admin/otp/clear.
func (c *Client) ClearOTPBackoff(ctx context.Context, req roamsign.ClearOTPBackoffRequest) error {
	return c.do(ctx, "ClearOTPBackoff", http.MethodPost, PathClearOTP, req, nil)
}

// RegisterDevice calls POST /v1/admin/devices.
func (c *Client) RegisterDevice(ctx context.Context, req roamsign.RegisterDeviceRequest) error {
	return c.do(ctx, "RegisterDevice", http.MethodPost, PathDevice, req, nil)
}

// Disable calls POST /v1/admin/disable.
func (c *Client) Disable(ctx context.Context, req roamsign.DisableRequest) error {
	return c.do(ctx, "Disable", http.MethodPost, PathDisable, req, nil)
}

func (c *Client) do(ctx context.Context, name, method, path string, in, out any) error {
	op := "httpapi.Client." + name
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "encoding request")
		}
		body = bytes.NewReader(b)
	}
	u := *c.base
	u.Path += path
	u.RawPath = ""
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "building request")
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.opts.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.APIKey)
	}
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	var rid [8]byte
	_, _ = rand.Read(rid[:])
	req.Header.Set("X-Request-ID", hex.EncodeToString(rid[:]))
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "request cancelled")
		}
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "calling the signing service")
	}
	defer resp.Body.Close()
	lr := io.LimitReader(resp.Body, c.opts.MaxResponseBytes+1)
	data, err := io.ReadAll(lr)
	if err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "reading the response")
	}
	if int64(len(data)) > c.opts.MaxResponseBytes {
		return roamsign.E(roamsign.ErrTooLarge, op, "response exceeds %d bytes", c.opts.MaxResponseBytes)
	}
	if resp.StatusCode >= 300 {
		return problemError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "malformed response from the signing service")
	}
	return nil
}

// problemError turns an error response into a typed error whose text is
// the server's detail.
func problemError(resp *http.Response, data []byte) error {
	p := &Problem{Status: resp.StatusCode}
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	if strings.TrimSpace(ct) == "application/problem+json" {
		_ = json.Unmarshal(data, p)
		p.Status = resp.StatusCode
	}
	k := roamsign.KindFromCode(p.Code)
	if k == roamsign.KindUnknown {
		k = kindOfStatus(resp.StatusCode)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			p.RetryAfter = time.Duration(secs) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			p.RetryAfter = time.Until(t)
		}
	}
	msg := p.Detail
	if msg == "" {
		msg = k.Error()
	}
	return &roamsign.Error{Kind: k, Msg: msg, Err: p}
}
