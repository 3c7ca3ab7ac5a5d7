package httpapi

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"

	"github.com/roamsign/roamsign"
)

// Authenticator establishes the calling host system of a request.
type Authenticator interface {
	// Authenticate returns the host identity of r, or an error of kind
	// ErrUnauthenticated.
	Authenticate(r *http.Request) (roamsign.HostID, error)
}

// HostAuth authenticates hosts by mTLS client certificate and, as an
// alternative, by API key. A verified client certificate wins over a key.
//
// Client certificates are only trusted when the TLS layer verified them:
// configure the server's tls.Config with ClientCAs and ClientAuth
// VerifyClientCertIfGiven (or RequireAndVerifyClientCert).
type HostAuth struct {
	// ClientCerts enables host identity from verified client certificates.
	ClientCerts bool
	// CertHost maps a verified leaf certificate to a host id; nil uses the
	// subject common name. Return false to refuse the certificate.
	CertHost func(*x509.Certificate) (roamsign.HostID, bool)
	// Keys, when set, accepts "Authorization: Bearer <key>".
	Keys *APIKeys
}

var _ Authenticator = (*HostAuth)(nil)

// Authenticate implements Authenticator.
func (a *HostAuth) Authenticate(r *http.Request) (roamsign.HostID, error) {
	const op = "httpapi.Authenticate"
	if a.ClientCerts && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		leaf := r.TLS.VerifiedChains[0][0]
		var (
			h  roamsign.HostID
			ok bool
		)
		if a.CertHost != nil {
			h, ok = a.CertHost(leaf)
		} else {
			h, ok = roamsign.HostID(leaf.Subject.CommonName), true
		}
		if ok && validHostID(string(h)) {
			return h, nil
		}
		return "", roamsign.E(roamsign.ErrUnauthenticated, op, "client certificate names no host system")
	}
	if a.Keys != nil {
		if key, ok := bearer(r); ok {
			if h, ok := a.Keys.Lookup(key); ok {
				return h, nil
			}
			return "", roamsign.E(roamsign.ErrUnauthenticated, op, "unknown API key")
		}
	}
	return "", roamsign.E(roamsign.ErrUnauthenticated, op, "no client certificate or API key")
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):]), true
	}
	return "", false
}

func validHostID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// APIKeys holds API keys by their SHA-256 digest only. API keys are 256-bit
// random values (see [NewAPIKey]), so a fast hash is enough to make a
// stolen table useless; a lookup compares against every entry in constant
// time. It is safe for concurrent use.
type APIKeys struct {
	mu   sync.RWMutex
	keys []apiKey
}

type apiKey struct {
	digest [32]byte
	host   roamsign.HostID
}

// NewAPIKey returns a fresh random API key ("rsk_" + 43 characters).
func NewAPIKey() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", roamsign.Wrap(roamsign.ErrUnavailable, "httpapi.NewAPIKey", err, "random source failed")
	}
	return "rsk_" + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// HashAPIKey returns the digest under which a key is stored, for
// configuration files that hold digests instead of keys.
func HashAPIKey(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// Add registers key for host. Keys shorter than 32 characters are refused.
func (k *APIKeys) Add(host roamsign.HostID, key string) error {
	if len(key) < 32 {
		return roamsign.E(roamsign.ErrInvalidInput, "httpapi.APIKeys.Add", "API key too short")
	}
	return k.AddDigest(host, HashAPIKey(key))
}

// AddDigest registers a key by its digest ([HashAPIKey]).
func (k *APIKeys) AddDigest(host roamsign.HostID, digest [32]byte) error {
	if !validHostID(string(host)) {
		return roamsign.E(roamsign.ErrInvalidInput, "httpapi.APIKeys.Add", "malformed host id")
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append(k.keys, apiKey{digest: digest, host: host})
	return nil
}

// Lookup returns the host of key.
func (k *APIKeys) Lookup(key string) (roamsign.HostID, bool) {
	d := HashAPIKey(key)
	k.mu.RLock()
	defer k.mu.RUnlock()
	var found roamsign.HostID
	match := 0
	for _, e := range k.keys {
		eq := subtle.ConstantTimeCompare(d[:], e.digest[:])
		if eq == 1 && match == 0 {
			found = e.host
		}
		match |= eq
	}
	return found, match == 1
}
