package csc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/roamsign/roamsign"
)

// The scopes a registered client may be allowed.
const (
	ScopeCredential = "credential" // the authorization code flow: credential access tokens
	ScopeService    = "service"    // the client credentials grant: service access tokens
)

// allows reports whether the client may obtain scope; a client that names
// no scopes may obtain both.
func (c *OAuthClient) allows(scope string) bool {
	return len(c.Scopes) == 0 || slices.Contains(c.Scopes, scope)
}

// MaxClientsFile bounds a clients file.
const MaxClientsFile = 1 << 20

// clientFile is one entry of a clients file.
type clientFile struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Host         string   `json:"host"`
	SecretSHA256 string   `json:"secretSHA256,omitempty"`
	RedirectURIs []string `json:"redirectURIs,omitempty"`
	Scopes       []string `json:"scopes"`
}

// ParseClients reads a file of OAuth 2.0 clients: a JSON array of
// {"id", "name", "host", "secretSHA256", "redirectURIs", "scopes"}, where
// secretSHA256 is the hex SHA-256 of the client secret ([HashSecret]; none:
// a public client), host the host system the client acts for and scopes
// what it may obtain ("credential": the authorization code flow, which
// needs redirect URIs; "service": the client credentials grant, which
// needs a secret). Every redirect URI must be absolute, without fragment
// or user information, and https; http only on a loopback address
// (127.0.0.1, [::1] or localhost), unless dev allows http anywhere. At
// most [MaxClientsFile] bytes; unknown members, duplicate ids and any
// other fault refuse the whole file (ErrInvalidInput), naming the entry.
func ParseClients(data []byte, dev bool) ([]OAuthClient, error) {
	const op = "csc.ParseClients"
	if len(data) > MaxClientsFile {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "clients file exceeds %d bytes", MaxClientsFile)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var in []clientFile
	if err := dec.Decode(&in); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "clients file is not a JSON array of clients")
	}
	if dec.More() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "clients file holds more than one JSON value")
	}
	out := make([]OAuthClient, 0, len(in))
	seen := map[string]bool{}
	for i, f := range in {
		c, err := f.client(dev)
		if err != nil {
			msg := err.Error()
			var re *roamsign.Error
			if errors.As(err, &re) {
				msg = re.Msg
			}
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "client %d: %s", i+1, msg)
		}
		if seen[c.ID] {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "client %d: duplicate id", i+1)
		}
		seen[c.ID] = true
		out = append(out, c)
	}
	return out, nil
}

func (f clientFile) client(dev bool) (OAuthClient, error) {
	const op = "csc.ParseClients"
	bad := func(format string, a ...any) (OAuthClient, error) {
		return OAuthClient{}, roamsign.E(roamsign.ErrInvalidInput, op, format, a...)
	}
	if !validClientText(f.ID, 128) || !validClientText(f.Host, 256) || len(f.Name) > 128 {
		return bad("id (1 to 128 characters), host (1 to 256) and name (at most 128) must be printable text")
	}
	c := OAuthClient{ID: f.ID, Name: f.Name, Host: roamsign.HostID(f.Host), RedirectURIs: f.RedirectURIs, Scopes: f.Scopes}
	if f.SecretSHA256 != "" {
		d, err := hex.DecodeString(f.SecretSHA256)
		if err != nil || len(d) != len(c.SecretDigest) {
			return bad("secretSHA256 must be 64 hex digits")
		}
		copy(c.SecretDigest[:], d)
	}
	if len(f.Scopes) == 0 {
		return bad("scopes must name credential, service or both")
	}
	for _, s := range f.Scopes {
		switch {
		case s == ScopeCredential && len(f.RedirectURIs) == 0:
			return bad("scope credential needs redirect URIs")
		case s == ScopeService && !c.confidential():
			return bad("scope service needs a secret")
		case s != ScopeCredential && s != ScopeService:
			return bad("unknown scope %q", truncateText(s, 32))
		}
	}
	if len(f.RedirectURIs) > 32 {
		return bad("at most 32 redirect URIs")
	}
	for _, u := range f.RedirectURIs {
		if err := CheckRedirectURI(u, dev); err != nil {
			return OAuthClient{}, err
		}
	}
	return c, nil
}

// CheckRedirectURI refuses a redirect URI that is not absolute, carries a
// fragment or user information, or is not https, except http on a
// loopback address (RFC 8252 section 7.3) and, when dev allows it, http
// anywhere.
func CheckRedirectURI(uri string, dev bool) error {
	const op = "csc.CheckRedirectURI"
	u, err := url.Parse(uri)
	if err != nil || len(uri) > 2048 || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.User != nil {
		return roamsign.E(roamsign.ErrInvalidInput, op, "redirect URI %q must be absolute, without fragment or user information", truncateText(uri, 80))
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && (dev || loopbackHost(u.Hostname())):
		return nil
	}
	return roamsign.E(roamsign.ErrInvalidInput, op, "redirect URI %q must be https (http only on a loopback address)", truncateText(uri, 80))
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func validClientText(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
