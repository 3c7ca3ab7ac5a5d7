package medium

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/roamsign/roamsign"
)

// MaxDirectoryResponse bounds the body of a directory answer.
const MaxDirectoryResponse = 1 << 20

// HTTPConfig configures an [HTTPResolver].
type HTTPConfig struct {
	// BaseURL of the directory web service, for example
	// "https://directory.example.gov.my/api". Required. The resolver asks
	// GET {BaseURL}/users/{user}?host={host}.
	BaseURL string
	// Client is the HTTP client (for mTLS, proxies); default: a client
	// that follows no redirects.
	Client *http.Client
	// Timeout bounds one lookup (default 5s); the context's deadline
	// applies too.
	Timeout time.Duration
	// Header is added to every request (for example an Authorization
	// header). It is copied.
	Header http.Header
}

// DirectoryRecord is the JSON a directory answers with:
//
//	{"user": "900101145678", "media": ["token", "roaming+otp"],
//	 "hosts": ["hr"], "use": "roaming+otp", "disabled": false,
//	 "chain": ["MIIC…(base64 DER, leaf first)"]}
//
// "hosts" lists the host systems the server-side media are enrolled for;
// absent or empty means none. "use" is the directory's own choice for the
// host; when absent or not
// held by the user the resolver chooses (see [Choose]). An unknown user is
// answered with 404.
type DirectoryRecord struct {
	User     string   `json:"user"`
	Media    []string `json:"media"`
	Hosts    []string `json:"hosts,omitempty"`
	Use      string   `json:"use,omitempty"`
	Disabled bool     `json:"disabled,omitempty"`
	Chain    [][]byte `json:"chain,omitempty"`
}

// HTTPResolver asks an external directory web service.
type HTTPResolver struct {
	base    *url.URL
	client  *http.Client
	timeout time.Duration
	header  http.Header
}

var _ Resolver = (*HTTPResolver)(nil)

// NewHTTPResolver returns a resolver for cfg.
func NewHTTPResolver(cfg HTTPConfig) (*HTTPResolver, error) {
	const op = "medium.NewHTTPResolver"
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "BaseURL must be an http(s) URL")
	}
	r := &HTTPResolver{base: u, client: cfg.Client, timeout: cfg.Timeout, header: cfg.Header.Clone()}
	if r.client == nil {
		r.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if r.timeout <= 0 {
		r.timeout = 5 * time.Second
	}
	return r, nil
}

// Resolve implements Resolver. An unknown user (404) gives [ErrNotFound];
// a network error, timeout, any other status or a malformed answer gives
// [ErrUnavailable].
func (r *HTTPResolver) Resolve(ctx context.Context, user roamsign.UserID, host roamsign.HostID) (*Answer, error) {
	const op = "medium.HTTPResolver.Resolve"
	if err := checkUser(op, user); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	u := r.base.JoinPath("users", string(user))
	q := url.Values{}
	if host != "" {
		q.Set("host", string(host))
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "building request")
	}
	for k, v := range r.header {
		req.Header[k] = append([]string(nil), v...)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, unavailable(op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDirectoryResponse+1))
	if err != nil {
		return nil, unavailable(op, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, roamsign.Wrap(roamsign.ErrNotFound, op, ErrNotFound, "")
	case resp.StatusCode != http.StatusOK:
		return nil, unavailable(op, fmt.Errorf("directory answered %s", resp.Status))
	case len(body) > MaxDirectoryResponse:
		return nil, unavailable(op, fmt.Errorf("answer larger than %d bytes", MaxDirectoryResponse))
	}
	a, err := ParseDirectoryRecord(body, user, host)
	if err != nil {
		if roamsign.KindOf(err) == roamsign.ErrForbidden {
			return nil, err
		}
		return nil, unavailable(op, err)
	}
	return a, nil
}

func unavailable(op string, cause error) error {
	return &roamsign.Error{Kind: roamsign.ErrUnavailable, Op: op, Err: errors.Join(ErrUnavailable, cause)}
}

// ParseDirectoryRecord parses a directory answer (JSON [DirectoryRecord])
// for user and host. The record must name the same user; unknown fields
// are ignored, unknown media kinds refused. Inputs above
// [MaxDirectoryResponse] are refused.
func ParseDirectoryRecord(b []byte, user roamsign.UserID, host roamsign.HostID) (*Answer, error) {
	const op = "medium.ParseDirectoryRecord"
	if len(b) > MaxDirectoryResponse {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "directory answer larger than %d bytes", MaxDirectoryResponse)
	}
	var rec DirectoryRecord
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&rec); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "malformed directory answer")
	}
	if dec.More() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "trailing data after directory answer")
	}
	got, err := roamsign.ParseUserID(rec.User)
	if err != nil || got != user {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "directory answered for another user")
	}
	if len(rec.Media) > 16 || len(rec.Hosts) > 1024 || len(rec.Chain) > 16 {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "too many entries in directory answer")
	}
	e := &Entry{Disabled: rec.Disabled, Chain: rec.Chain}
	for _, m := range rec.Media {
		k, err := roamsign.ParseMediumKind(m)
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "directory answer")
		}
		e.Media = append(e.Media, k)
	}
	for _, h := range rec.Hosts {
		e.Hosts = append(e.Hosts, roamsign.HostID(h))
	}
	if rec.Use != "" {
		k, err := roamsign.ParseMediumKind(rec.Use)
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "directory answer")
		}
		e.Prefer = map[roamsign.HostID]roamsign.MediumKind{host: k}
	}
	return answer(op, user, host, e)
}
