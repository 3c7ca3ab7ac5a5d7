package otp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/roamsign/roamsign"
)

// PushSignatureHeader carries the HMAC of a push request body:
// "v1=" followed by the hex HMAC-SHA-256 of the exact body under the
// shared gateway key.
const PushSignatureHeader = "X-Roamsign-Signature"

// PushConfig configures a [PushSender].
type PushConfig struct {
	// URL is the push gateway endpoint, https. Required.
	URL string
	// AllowHTTP permits a plain http:// URL. The OTP travels in the
	// request body, so this is for development and tests only: a server
	// sets it only in development mode (see [CheckPushURL]).
	AllowHTTP bool
	// Key is the HMAC key shared with the gateway, at least 32 bytes.
	// Required.
	Key []byte
	// Client is the HTTP client (default: a client with no redirects).
	Client *http.Client
	// Timeout bounds each attempt (default 10s). The caller's context
	// bounds all attempts together ([Delivery].AppBudget).
	Timeout time.Duration
	// Attempts is the number of tries on a 5xx answer or a network error
	// (default 3).
	Attempts int
	// Backoff returns the wait before retry n (1, 2, …); default 250ms·2^(n-1).
	Backoff func(n int) time.Duration
	// Now is the clock for the signed timestamp (default time.Now).
	Now func() time.Time
}

// PushRequest is the JSON body posted to the gateway. The gateway checks
// the [PushSignatureHeader] and the timestamp before forwarding it to the
// user's devices. The OTP travels in it, so the gateway must be reached
// over TLS.
type PushRequest struct {
	Devices          []string `json:"devices"`
	User             string   `json:"user"` // masked user id
	ChallengeID      string   `json:"challengeId"`
	OTP              string   `json:"otp"`
	VerificationCode string   `json:"verificationCode"`
	DataHeader       string   `json:"dataHeader,omitempty"`
	Count            int      `json:"count"`
	// HashesLater: the documents are named when the OTP is used (Count
	// is 0); the app must not show a number of documents.
	HashesLater bool      `json:"hashesLater,omitempty"`
	ExpiresAt   time.Time `json:"expiresAt"`
	Timestamp   time.Time `json:"timestamp"`
}

// PushSender delivers OTPs to the signer's app through a push gateway.
type PushSender struct {
	cfg PushConfig
	key []byte
}

var _ Sender = (*PushSender)(nil)

// CheckPushURL checks a push gateway URL: an absolute https URL, or an
// http URL when allowHTTP is set (development only: over http the OTP
// would travel in clear). Servers check their configuration with it;
// [NewPushSender] applies it to PushConfig.URL and AllowHTTP.
func CheckPushURL(raw string, allowHTTP bool) error {
	const op = "otp.CheckPushURL"
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return roamsign.E(roamsign.ErrInvalidInput, op, "push gateway URL must be an absolute https URL")
	case u.Scheme == "http" && !allowHTTP:
		return roamsign.E(roamsign.ErrInvalidInput, op, "push gateway URL must be https: over http the OTP would travel in clear (http is for development only)")
	}
	return nil
}

// NewPushSender returns a push sender for cfg.
func NewPushSender(cfg PushConfig) (*PushSender, error) {
	const op = "otp.NewPushSender"
	if err := CheckPushURL(cfg.URL, cfg.AllowHTTP); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "")
	}
	if len(cfg.Key) < 32 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "Key must be at least 32 bytes")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(n int) time.Duration { return 250 * time.Millisecond << (n - 1) }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &PushSender{cfg: cfg, key: slices.Clone(cfg.Key)}, nil
}

// Channel returns roamsign.ChannelApp.
func (p *PushSender) Channel() roamsign.Channel { return roamsign.ChannelApp }

// SignPush returns the [PushSignatureHeader] value for body under key.
func SignPush(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyPush reports whether header is a valid signature of body under
// key, in constant time. Gateways (and tests) use it.
func VerifyPush(key, body []byte, header string) bool {
	return hmac.Equal([]byte(SignPush(key, body)), []byte(header))
}

// Send posts msg to the gateway for all of to.Devices and returns the
// masked first device. It retries with backoff on a 5xx answer or a
// network error, and fails at once on any other non-2xx answer.
func (p *PushSender) Send(ctx context.Context, to Recipient, msg *Message) (string, error) {
	const op = "otp.PushSender.Send"
	if len(to.Devices) == 0 {
		return "", roamsign.E(roamsign.ErrUnsupported, op, "user has no registered device")
	}
	body, err := json.Marshal(PushRequest{
		Devices: to.Devices, User: to.User.Masked(), ChallengeID: msg.ChallengeID,
		OTP: msg.OTP.Reveal(), VerificationCode: msg.VerificationCode, DataHeader: msg.DataHeader,
		Count: msg.Count, HashesLater: msg.HashesLater, ExpiresAt: msg.ExpiresAt.UTC(), Timestamp: p.cfg.Now().UTC(),
	})
	if err != nil {
		return "", roamsign.Wrap(roamsign.ErrInternal, op, err, "encoding push request")
	}
	sig := SignPush(p.key, body)
	var last error
	for attempt := 1; attempt <= p.cfg.Attempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(p.cfg.Backoff(attempt - 1))
			select {
			case <-ctx.Done():
				t.Stop()
				return "", roamsign.Wrap(roamsign.ErrDelivery, op, ctx.Err(), "push cancelled")
			case <-t.C:
			}
		}
		retry, err := p.post(ctx, body, sig)
		if err == nil {
			return MaskDevice(to.Devices[0]), nil
		}
		last = err
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return "", roamsign.Wrap(roamsign.ErrDelivery, op, last, "push gateway did not accept the OTP")
}

func (p *PushSender) post(ctx context.Context, body []byte, sig string) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(PushSignatureHeader, sig)
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return true, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode >= 500:
		return true, fmt.Errorf("gateway answered %s", resp.Status)
	}
	return false, fmt.Errorf("gateway answered %s", resp.Status)
}
