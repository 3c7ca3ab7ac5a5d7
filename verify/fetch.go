package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// Fetcher downloads a CRL (or another revocation object) by URL. It must
// return at most maxSize bytes and fail with an ErrTooLarge error beyond
// that, without reading the whole body.
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string, maxSize int64) ([]byte, error)
}

// HTTPFetcher fetches over HTTP. The zero value is ready: plain http only,
// a 10 s timeout, at most 3 redirects that keep the scheme.
type HTTPFetcher struct {
	// Client is the HTTP client; nil uses a private client. Its
	// CheckRedirect is replaced by the fetcher's policy.
	Client *http.Client
	// Timeout bounds one fetch including the body; zero means 10 s.
	Timeout time.Duration
	// AllowHTTPS also allows https URLs (CRLs are signed, so http is the norm).
	AllowHTTPS bool
}

var _ Fetcher = (*HTTPFetcher)(nil)

func (f *HTTPFetcher) schemeOK(s string) bool {
	return s == "http" || (f.AllowHTTPS && s == "https")
}

// Fetch implements [Fetcher].
func (f *HTTPFetcher) Fetch(ctx context.Context, rawURL string, maxSize int64) ([]byte, error) {
	const op = "verify.HTTPFetcher.Fetch"
	u, err := url.Parse(rawURL)
	if err != nil || !f.schemeOK(u.Scheme) || u.Host == "" {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "URL %q is not an allowed CRL location", rawURL)
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var c http.Client
	if f.Client != nil {
		c = *f.Client
	}
	origScheme := u.Scheme
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		if req.URL.Scheme != origScheme {
			return fmt.Errorf("redirect to scheme %q refused", req.URL.Scheme)
		}
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "bad request")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "fetch failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, roamsign.E(roamsign.ErrUnavailable, op, "fetch %s: HTTP status %d", rawURL, resp.StatusCode)
	}
	if resp.ContentLength > maxSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "%s announces %d bytes, limit %d", rawURL, resp.ContentLength, maxSize)
	}
	return readLimited(resp.Body, maxSize, op)
}

func readLimited(r io.Reader, maxSize int64, op string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "read failed")
	}
	if int64(len(b)) > maxSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "body exceeds %d bytes", maxSize)
	}
	return b, nil
}

// FileFetcher serves URLs from files below Dir: the URL path (cleaned,
// never above Dir) names the file. It is meant for tests and offline use.
type FileFetcher struct {
	Dir string
}

var _ Fetcher = FileFetcher{}

// Fetch implements [Fetcher].
func (f FileFetcher) Fetch(ctx context.Context, rawURL string, maxSize int64) ([]byte, error) {
	const op = "verify.FileFetcher.Fetch"
	if err := ctx.Err(); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cancelled")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "bad URL")
	}
	p := path.Clean("/" + u.Path)
	if strings.Contains(p, "..") {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "bad path")
	}
	fh, err := os.Open(filepath.Join(f.Dir, filepath.FromSlash(p)))
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "open failed")
	}
	defer fh.Close()
	return readLimited(fh, maxSize, op)
}
