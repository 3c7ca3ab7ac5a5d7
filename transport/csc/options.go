package csc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// Authenticator establishes the calling host system of a request from
// its transport credentials: a verified TLS client certificate or an API
// key in "Authorization: Bearer". transport/httpapi's HostAuth satisfies
// it, so a server authenticates hosts the same way on both faces.
type Authenticator interface {
	Authenticate(r *http.Request) (roamsign.HostID, error)
}

// OAuthClient is a registered OAuth 2.0 client (a signature application). It
// acts for Host: the users it may sign for are the users enrolled for that
// host system.
type OAuthClient struct {
	ID   string
	Name string // shown on the signing page
	Host roamsign.HostID
	// SecretDigest is the SHA-256 of the client secret ([HashSecret]). A
	// client without one is public: it may use the authorization code
	// flow with PKCE but not the client credentials grant.
	SecretDigest [32]byte
	// RedirectURIs are the exact redirect URIs the client may use. A
	// loopback URI (http://127.0.0.1/… or http://[::1]/…) matches any
	// port, as RFC 8252 section 7.3 asks for native applications.
	RedirectURIs []string
	// Scopes are what the client may obtain: ScopeCredential (the
	// authorization code flow) and ScopeService (the client credentials
	// grant). None: both.
	Scopes []string
}

// HashSecret returns the digest under which a client secret is registered.
func HashSecret(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

func (c *OAuthClient) confidential() bool { return c.SecretDigest != [32]byte{} }

// checkSecret compares secret with the registered digest in constant time.
func (c *OAuthClient) checkSecret(secret string) bool {
	d := HashSecret(secret)
	return c.confidential() && subtle.ConstantTimeCompare(d[:], c.SecretDigest[:]) == 1
}

// redirectAllowed reports whether uri is one of the client's redirect URIs.
func (c *OAuthClient) redirectAllowed(uri string) bool {
	for _, r := range c.RedirectURIs {
		if r == uri || loopbackMatch(r, uri) {
			return true
		}
	}
	return false
}

func loopbackMatch(registered, uri string) bool {
	a, err1 := url.Parse(registered)
	b, err2 := url.Parse(uri)
	if err1 != nil || err2 != nil || a.Scheme != "http" || b.Scheme != "http" {
		return false
	}
	h := a.Hostname()
	if h != "127.0.0.1" && h != "::1" {
		return false
	}
	return b.Hostname() == h && a.Path == b.Path && a.RawQuery == b.RawQuery && b.Fragment == "" && b.User == nil
}

// Policy decides what the explicit flow does when credentials/getChallenge
// (v1: credentials/sendOTP) names no hashes. info announces it
// (ExtPolicyStrict or ExtPolicyCompatible in "extensions").
type Policy int

// The policies.
const (
	// PolicyStrict (the default) refuses a challenge without hashes: the
	// OTP is always bound to the exact hashes the signer will approve, and
	// the message carries their verification code.
	PolicyStrict Policy = iota
	// PolicyCompatible serves CSC clients that ask for the OTP before they
	// name the data, as the specification allows: a challenge without
	// hashes sends an OTP bound to the credential, the caller and a nonce
	// only (the service's late binding, [LateBinder]), and the hashes
	// credentials/authorize names, which SCAL 2 requires there, are bound
	// to the transaction and the SAD by that one authorisation. The
	// signer does not see a verification code of the hashes; the data
	// header of the OTP message says the hashes are bound at authorize,
	// and the service's audit records of the authorisation and the
	// signatures say so. It needs an API that offers late binding (the
	// service with Config.LateBinding); without it the handler stays
	// strict.
	PolicyCompatible
)

// String is the policy's name: "strict" or "compatible".
func (p Policy) String() string {
	if p == PolicyCompatible {
		return "compatible"
	}
	return "strict"
}

// ParsePolicy reads "strict" or "compatible".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "strict":
		return PolicyStrict, nil
	case "compatible":
		return PolicyCompatible, nil
	}
	return 0, roamsign.E(roamsign.ErrInvalidInput, "csc.ParsePolicy", "CSC policy must be strict or compatible")
}

// LateBinder is the optional capability of a [roamsign.API] that
// PolicyCompatible needs: an OTP that binds no hashes, whose one Sign binds
// the hashes it names (service.Service.RequestOTPLateBound).
type LateBinder interface {
	RequestOTPLateBound(ctx context.Context, req roamsign.OTPRequest) (*roamsign.OTPResponse, error)
}

// Options configure [Handler]. The zero value of each field means the
// documented default; Auth or Clients must be set for anything but info.
type Options struct {
	// Auth authenticates host systems ("external" and "TLS" service
	// authorization).
	Auth Authenticator
	// ClientCerts advertises the "TLS" authType (client certificates
	// verified by the server's TLS layer and read by Auth).
	ClientCerts bool
	// Clients are the registered OAuth 2.0 clients ("oauth2client" and
	// "oauth2code").
	Clients []OAuthClient
	// BaseURL is the public URL the handler is reached at, for example
	// "https://sign.example.gov.my"; info's "oauth2" is BaseURL + "/csc/v2".
	// Default: https:// and the request's Host.
	BaseURL string
	// Name, Description, Logo, Region and Lang are info's answer.
	// Defaults: "roamsign", a short description, BaseURL + "/static/logo.png",
	// "MY", "en-US".
	Name, Description, Logo, Region, Lang string
	// MultiSign is the most hashes one authorisation may cover; set it to
	// the service's batch limit (service.Config.MaxHashes). Default 1000.
	MultiSign int
	// SADLifetime is the life of a SAD and of a credential access token.
	// Default and maximum 5 minutes.
	SADLifetime time.Duration
	// TransactionLifetime caps how long extendTransaction may keep one
	// authorisation alive. Default 15 minutes.
	TransactionLifetime time.Duration
	// CodeLifetime is the life of an authorization code. Default 60 s.
	CodeLifetime time.Duration
	// PageLifetime is how long the signing page accepts PIN and OTP.
	// Default 10 minutes.
	PageLifetime time.Duration
	// ServiceTokenLifetime is the life of a client credentials access
	// token. Default 1 hour.
	ServiceTokenLifetime time.Duration
	// AuthMode is credentials/info's auth/mode: AuthModeExplicit (the
	// default: the signature application collects PIN and OTP) or
	// AuthModeOAuth2Code (the signer approves on this service's signing
	// page). Both flows are served whatever the mode says.
	AuthMode string
	// OfferPSS advertises RSASSA-PSS for RSA credentials. Enable it only
	// when the service offers roamsign.FormRawPSS.
	OfferPSS bool
	// Policy for challenges without hashes. Default PolicyStrict.
	Policy Policy
	// Page renders the signing page of the authorization code flow.
	// Default: a plain built-in page.
	Page Page
	// State keeps SADs, tokens, codes, pending challenges and signing
	// pages; replicas behind one address share them through one store
	// (store.SessionStore of the service's database). Default: the
	// handler's own memory, for a single replica.
	State StateStore
	// MaxRecords bounds each server-side table (SADs, tokens, codes,
	// pending challenges, pages). Default 10000.
	MaxRecords int
	// MaxBodyBytes limits request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// Timeout bounds each call to the API. Default 60 seconds.
	Timeout time.Duration
	// RetryAfter is sent with 429 and 503. Default 5 seconds.
	RetryAfter time.Duration
	// Logger receives one line per request (method, route, status,
	// duration, host, client; never a body). Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

const maxSADLifetime = 5 * time.Minute

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = "roamsign"
	}
	if o.Description == "" {
		o.Description = "Remote signing authorised by certificate PIN and a one-time password bound to the hashes"
	}
	if o.Region == "" {
		o.Region = "MY"
	}
	if o.Lang == "" {
		o.Lang = "en-US"
	}
	if o.MultiSign <= 0 {
		o.MultiSign = 1000
	}
	if o.SADLifetime <= 0 || o.SADLifetime > maxSADLifetime {
		o.SADLifetime = maxSADLifetime
	}
	if o.TransactionLifetime < o.SADLifetime {
		o.TransactionLifetime = 15 * time.Minute
	}
	if o.CodeLifetime <= 0 || o.CodeLifetime > 10*time.Minute {
		o.CodeLifetime = time.Minute
	}
	if o.PageLifetime <= 0 {
		o.PageLifetime = 10 * time.Minute
	}
	if o.ServiceTokenLifetime <= 0 {
		o.ServiceTokenLifetime = time.Hour
	}
	if o.MaxRecords <= 0 {
		o.MaxRecords = 10000
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Page == nil {
		o.Page = defaultPage{}
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	return o
}
