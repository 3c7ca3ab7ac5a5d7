package tsa

import (
	"bytes"
	"context"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/roamsign/roamsign"
)

// endpoint is one configured authority and its limiter.
type endpoint struct {
	url     string
	policy  asn1.ObjectIdentifier
	header  http.Header
	limiter *limiter
}

// attemptError is the failure of an exchange, with whether it asks for
// back-off.
type attemptError struct {
	*Error
	backOff bool
}

// attempt asks one authority, unless it is limited, and records the
// outcome in its limiter, the metrics and the log.
func (c *Client) attempt(ctx context.Context, ep *endpoint, h roamsign.HashAlgorithm, digest []byte) (*Token, error) {
	now := c.now()
	if wait, ok := ep.limiter.take(now); !ok {
		c.metrics.ObserveTSA(Observation{TSA: ep.url, Reason: ReasonLimited})
		return nil, &Error{TSA: ep.url, Reason: ReasonLimited, RetryAfter: wait, Msg: "quota spent or in back-off"}
	}
	start := time.Now()
	tok, ae := c.exchange(ctx, ep, h, digest)
	latency := time.Since(start)
	if ae == nil {
		ep.limiter.succeeded()
		c.metrics.ObserveTSA(Observation{TSA: ep.url, Sent: true, Latency: latency})
		return tok, nil
	}
	if ae.backOff {
		ae.RetryAfter = ep.limiter.refused(c.now(), ae.RetryAfter)
	}
	c.metrics.ObserveTSA(Observation{TSA: ep.url, Sent: true, Reason: ae.Reason, Latency: latency})
	c.log.DebugContext(ctx, "time-stamp attempt failed", "tsa", ep.url, "reason", string(ae.Reason), "err", ae.Error)
	return nil, ae.Error
}

// exchange sends one request and verifies the reply.
func (c *Client) exchange(ctx context.Context, ep *endpoint, h roamsign.HashAlgorithm, digest []byte) (*Token, *attemptError) {
	fail := func(r Reason, msg string, err error) *attemptError {
		return &attemptError{Error: &Error{TSA: ep.url, Reason: r, Msg: msg, Err: err}}
	}
	req, err := newRequest(h, digest, ep.policy, c.cfg.Rand)
	if err != nil {
		return nil, fail(ReasonUnavailable, "building the request failed", err)
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	sent := c.now()
	body, ae := c.post(actx, ep, req.der)
	if ae != nil {
		return nil, ae
	}
	resp, err := parseResponse(body)
	if err != nil {
		return nil, fail(ReasonMalformed, "the reply is not a TimeStampResp", err)
	}
	switch {
	case resp.status != statusGranted && resp.status != statusGrantedWithMods:
		ae := fail(ReasonRejected, resp.describe(), nil)
		ae.backOff = true
		return nil, ae
	case resp.token == nil:
		return nil, fail(ReasonNoToken, "status "+resp.describe()+" without a token", nil)
	}
	tok, err := c.verify(actx, ep, req, resp.token, sent)
	if err != nil {
		var e *Error
		errors.As(err, &e)
		return nil, &attemptError{Error: e}
	}
	return tok, nil
}

// replyTypes are the media types of a TimeStampResp: RFC 3161 section
// 3.4, and the name of its drafts that some authorities still send.
var replyTypes = map[string]bool{"application/timestamp-reply": true, "application/timestamp-response": true}

// isReplyType reports whether a Content-Type names a TimeStampResp,
// parameters allowed.
func isReplyType(ct string) bool {
	if replyTypes[ct] {
		return true // the usual case, without parameters
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && replyTypes[mt]
}

// readReply reads a reply's body, at most limit+1 bytes: into a buffer of
// the announced length when there is one (at most limit, checked by the
// caller; net/http delivers exactly that many bytes or an error), so that
// the usual reply is read without growing a buffer.
func readReply(resp *http.Response, limit int64) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= limit {
		body := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit+1))
}

// post sends der and returns the body of a 200 reply of a time-stamp
// media type, at most MaxReplySize bytes. ctx carries the attempt's
// timeout; a caller's cancellation is told apart by Stamp.
func (c *Client) post(ctx context.Context, ep *endpoint, der []byte) ([]byte, *attemptError) {
	fail := func(r Reason, status int, msg string, err error) *attemptError {
		return &attemptError{Error: &Error{TSA: ep.url, Reason: r, Status: status, Msg: msg, Err: err}}
	}
	transport := func(err error) *attemptError {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fail(ReasonTimeout, 0, fmt.Sprintf("no complete answer within %v", c.cfg.Timeout), nil)
		}
		return fail(ReasonUnavailable, 0, "request failed", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(der))
	if err != nil {
		return nil, fail(ReasonUnavailable, 0, "bad request", err)
	}
	for k, v := range ep.header {
		hr.Header[k] = v
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	hr.Header.Set("Accept", "application/timestamp-reply")
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, transport(err)
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests, code == http.StatusServiceUnavailable:
		r := ReasonQuota
		if code == http.StatusServiceUnavailable {
			r = ReasonUnavailable
		}
		ae := fail(r, code, fmt.Sprintf("HTTP %d", code), nil)
		ae.backOff, ae.RetryAfter = true, retryAfter(resp.Header, c.now())
		return nil, ae
	case code >= 500:
		return nil, fail(ReasonUnavailable, code, fmt.Sprintf("HTTP %d", code), nil)
	case code != http.StatusOK:
		return nil, fail(ReasonHTTP, code, fmt.Sprintf("HTTP %d", code), nil)
	}
	if ct := resp.Header.Get("Content-Type"); !isReplyType(ct) {
		return nil, fail(ReasonHTTP, resp.StatusCode, fmt.Sprintf("reply of type %.60q, not application/timestamp-reply", ct), nil)
	}
	limit := c.cfg.MaxReplySize
	if resp.ContentLength > limit {
		return nil, fail(ReasonOversize, resp.StatusCode, fmt.Sprintf("reply of %d bytes exceeds the limit of %d", resp.ContentLength, limit), nil)
	}
	body, err := readReply(resp, limit)
	if err != nil {
		return nil, transport(err)
	}
	if int64(len(body)) > limit {
		return nil, fail(ReasonOversize, resp.StatusCode, fmt.Sprintf("reply exceeds the limit of %d bytes", limit), nil)
	}
	return body, nil
}
