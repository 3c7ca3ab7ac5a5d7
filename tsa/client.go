package tsa

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
)

// Defaults of [Config].
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxReplySize = 64 << 10
	DefaultClockSkew    = 5 * time.Minute
	DefaultBackOff      = 30 * time.Second
	DefaultMaxBackOff   = 30 * time.Minute
	// MaxRetryAfter bounds the wait an authority's Retry-After may impose.
	MaxRetryAfter = 24 * time.Hour
	// MaxTSAs bounds Config.TSAs.
	MaxTSAs = 16
)

// Config configures a [Client]. Zero values of the optional fields are the
// documented defaults.
type Config struct {
	// TSAs are the authorities, in order of preference: each request goes
	// to the first one not limited, then fails over to the next. At least
	// one, at most MaxTSAs.
	TSAs []TSA
	// Chain validates the TSA's certificate path at genTime. Required: a
	// token whose authority cannot be validated is never returned.
	Chain ChainChecker
	// Hash is the imprint hash of [Client.Timestamp]; zero means SHA-256.
	Hash roamsign.HashAlgorithm
	// HTTPClient sends the requests; nil means a client that follows no
	// redirects. Its own Timeout, if any, applies besides Config.Timeout.
	HTTPClient *http.Client
	// Timeout bounds one attempt (request, reply and verification); zero
	// means DefaultTimeout.
	Timeout time.Duration
	// MaxReplySize caps a reply, checked while reading; zero means
	// DefaultMaxReplySize (64 KiB).
	MaxReplySize int64
	// MaxClockSkew is how far genTime may lie from the local clock
	// (before the request was sent, after the reply arrived); zero means
	// DefaultClockSkew.
	MaxClockSkew time.Duration
	// BackOff is the first wait after an authority refused for quota
	// (HTTP 429 or 503 without Retry-After, or a PKIStatus rejection); it
	// doubles with each further refusal up to MaxBackOff and resets on a
	// token. Zero means DefaultBackOff and DefaultMaxBackOff.
	BackOff    time.Duration
	MaxBackOff time.Duration
	// Metrics receives one observation per attempt; nil discards them.
	Metrics Metrics
	// Logger receives a debug line per failed attempt; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of nonces; nil means crypto/rand.
	Rand io.Reader
}

// TSA is one time-stamping authority.
type TSA struct {
	// URL is the http or https address requests are POSTed to. It may not
	// carry user information: it is shown in errors, logs and metrics.
	URL string
	// Policy, when set, is requested (reqPolicy) and required in tokens.
	Policy asn1.ObjectIdentifier
	// Quota is the authority's published limit; the client never sends
	// more than Quota.Requests within any Quota.Per. Zero means none.
	Quota Quota
	// Header is added to every request (for example an Authorization
	// header of a commercial TSA). It is never logged.
	Header http.Header
}

// Quota is a number of requests per sliding window.
type Quota struct {
	Requests int
	Per      time.Duration
}

// Client obtains RFC 3161 time-stamp tokens and verifies them before it
// returns them. It is safe for concurrent use.
type Client struct {
	cfg       Config
	hash      roamsign.HashAlgorithm
	http      *http.Client
	endpoints []*endpoint
	metrics   Metrics
	log       *slog.Logger
	now       func() time.Time
	// largest is the size of the largest token obtained (TokenSizeHint).
	largest atomic.Int64
	// certs are the certificates parsed from tokens: an authority sends
	// the same few with every token.
	certs icms.CertMemo
}

// New checks cfg and returns a client. Errors are of kind
// roamsign.ErrInvalidInput.
func New(cfg Config) (*Client, error) {
	const op = "tsa.New"
	bad := func(format string, args ...any) error {
		return roamsign.E(roamsign.ErrInvalidInput, op, format, args...)
	}
	switch {
	case len(cfg.TSAs) == 0:
		return nil, bad("no time-stamping authority configured")
	case len(cfg.TSAs) > MaxTSAs:
		return nil, bad("%d authorities exceed the limit of %d", len(cfg.TSAs), MaxTSAs)
	case cfg.Chain == nil:
		return nil, bad("no ChainChecker: tokens could not be verified")
	case cfg.Hash != 0 && !cfg.Hash.Valid():
		return nil, bad("unknown hash algorithm %d", uint8(cfg.Hash))
	case cfg.Timeout < 0 || cfg.MaxReplySize < 0 || cfg.MaxClockSkew < 0 || cfg.BackOff < 0 || cfg.MaxBackOff < 0:
		return nil, bad("negative timeout, size, skew or back-off")
	}
	c := &Client{cfg: cfg, hash: cfg.Hash, http: cfg.HTTPClient, metrics: cfg.Metrics, log: cfg.Logger, now: cfg.Now}
	c.cfg.TSAs = nil // the endpoints hold their own copies
	c.fill()
	for i, t := range cfg.TSAs {
		ep, err := newEndpoint(t, c.cfg.BackOff, c.cfg.MaxBackOff)
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "TSA "+strconv.Itoa(i+1))
		}
		for _, o := range c.endpoints {
			if o.url == ep.url {
				return nil, bad("TSA %s is configured twice", ep.url)
			}
		}
		c.endpoints = append(c.endpoints, ep)
	}
	return c, nil
}

// fill applies the defaults.
func (c *Client) fill() {
	if c.hash == 0 {
		c.hash = roamsign.SHA256
	}
	if c.http == nil {
		// Signers ask for tokens from many goroutines at once (a batch
		// completed in parallel): keep their connections, not two.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		// Replies are DER, which does not compress: no Accept-Encoding.
		tr.DisableCompression = true
		c.http = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.cfg.Timeout == 0 {
		c.cfg.Timeout = DefaultTimeout
	}
	if c.cfg.MaxReplySize == 0 {
		c.cfg.MaxReplySize = DefaultMaxReplySize
	}
	if c.cfg.MaxClockSkew == 0 {
		c.cfg.MaxClockSkew = DefaultClockSkew
	}
	if c.cfg.BackOff == 0 {
		c.cfg.BackOff = DefaultBackOff
	}
	if c.cfg.MaxBackOff == 0 {
		c.cfg.MaxBackOff = max(DefaultMaxBackOff, c.cfg.BackOff)
	}
	if c.metrics == nil {
		c.metrics = noMetrics{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
}

func newEndpoint(t TSA, backOff, maxBackOff time.Duration) (*endpoint, error) {
	u, err := url.Parse(t.URL)
	switch {
	case err != nil:
		return nil, err
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("URL scheme must be http or https")
	case u.Host == "":
		return nil, errors.New("URL has no host")
	case u.User != nil:
		return nil, errors.New("URL may not carry user information (use TSA.Header)")
	case t.Quota.Requests < 0 || t.Quota.Per < 0 || (t.Quota.Requests > 0) != (t.Quota.Per > 0):
		return nil, errors.New("quota needs both a positive number of requests and a positive window, or neither")
	case t.Quota.Requests > 1_000_000:
		return nil, errors.New("quota above 1,000,000 requests per window")
	}
	if t.Policy != nil {
		if _, err := asn1.Marshal(t.Policy); err != nil || len(t.Policy) < 2 {
			return nil, errors.New("malformed policy identifier")
		}
	}
	return &endpoint{
		url:     u.String(),
		policy:  slices.Clone(t.Policy),
		header:  t.Header.Clone(),
		limiter: newLimiter(t.Quota, backOff, maxBackOff),
	}, nil
}

// Request asks for a time-stamp token over a digest.
type Request struct {
	// Hash is the digest's algorithm; zero means SHA-256.
	Hash roamsign.HashAlgorithm
	// Digest is the hash of the data to be stamped (the message imprint).
	Digest []byte
}

// Token is a verified time-stamp token.
type Token struct {
	// DER is the TimeStampToken: a DER ContentInfo of SignedData over a
	// TSTInfo, as a signature-time-stamp attribute or a PDF document
	// time-stamp carries it.
	DER []byte
	// TSA is the URL of the authority that issued it.
	TSA     string
	GenTime time.Time
	// Accuracy is zero when the token states none.
	Accuracy time.Duration
	Policy   asn1.ObjectIdentifier
	Serial   *big.Int
	Hash     roamsign.HashAlgorithm
	Imprint  []byte
	// Signer is the TSA's certificate; Certificates are all the
	// certificates the token carries (Signer among them), the material a
	// B-LT signature embeds for the time-stamp's chain. They are shared
	// with the Client, which parses an authority's certificates once:
	// callers must not modify them.
	Signer       *x509.Certificate
	Certificates []*x509.Certificate
}

// Timestamp returns the DER time-stamp token over the hash (Config.Hash)
// of data: the form signer/pdf and signer/cms take as their Timestamper.
func (c *Client) Timestamp(ctx context.Context, data []byte) ([]byte, error) {
	tok, err := c.Stamp(ctx, Request{Hash: c.hash, Digest: c.hash.Sum(data)})
	if err != nil {
		return nil, err
	}
	return tok.DER, nil
}

// Stamp obtains a verified time-stamp token over req.Digest. It asks the
// configured authorities in order, skipping those whose quota is spent or
// that are in back-off, and fails over to the next one on any failure. A
// token is returned only when every check of the package doc passed.
//
// When no authority gave a token the error is of kind
// roamsign.ErrRateLimited (every authority limited; roamsign.RetryAfterOf
// gives the shortest wait) or roamsign.ErrUnavailable, and wraps one
// [*Error] per authority tried, so errors.Is(err, tsa.ReasonNonce) and
// errors.As work. A malformed req gives roamsign.ErrInvalidInput.
func (c *Client) Stamp(ctx context.Context, req Request) (*Token, error) {
	const op = "tsa.Stamp"
	h := req.Hash
	if h == 0 {
		h = roamsign.SHA256
	}
	if !h.Valid() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "unknown hash algorithm %d", uint8(h))
	}
	if len(req.Digest) != h.Size() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "%s digest must be %d bytes, got %d", h, h.Size(), len(req.Digest))
	}
	var errs []error
	limited := true
	var wait time.Duration
	for _, ep := range c.endpoints {
		if err := ctx.Err(); err != nil {
			return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cancelled")
		}
		tok, err := c.attempt(ctx, ep, h, req.Digest)
		if err == nil {
			c.noteSize(len(tok.DER))
			return tok, nil
		}
		errs = append(errs, err)
		var te *Error
		if errors.As(err, &te) && te.Reason.Kind() == roamsign.ErrRateLimited {
			if wait == 0 || te.RetryAfter < wait {
				wait = te.RetryAfter
			}
		} else {
			limited = false
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, errors.Join(append(errs, err)...), "cancelled")
	}
	if limited {
		return nil, roamsign.RetryAfter(roamsign.Wrap(roamsign.ErrRateLimited, op, errors.Join(errs...), "every time-stamping authority is rate limited"), wait)
	}
	return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, errors.Join(errs...), "no time-stamping authority gave a verifiable token")
}
