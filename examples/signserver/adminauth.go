package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// adminCert is one administrator's client certificate, by the SHA-256 of
// its DER.
type adminCert struct {
	name   roamsign.HostID
	digest [32]byte
}

// newAdminAuth authenticates administrators by their API keys and, when
// cfg.AdminCerts lists any, by mTLS client certificates: the TLS layer
// verifies them to -client-ca, and only a listed certificate names an
// administrator.
func newAdminAuth(cfg Config, keys *httpapi.APIKeys) (*httpapi.HostAuth, error) {
	certs, err := parseAdminCerts(cfg.AdminCerts)
	if err != nil {
		return nil, err
	}
	auth := &httpapi.HostAuth{Keys: keys}
	if len(certs) == 0 {
		return auth, nil
	}
	if cfg.ClientCA == "" {
		return nil, errors.New("-admin-certs needs -client-ca: the TLS layer verifies client certificates to it")
	}
	auth.ClientCerts = true
	auth.CertHost = func(leaf *x509.Certificate) (roamsign.HostID, bool) { return adminOf(certs, leaf) }
	return auth, nil
}

// adminOf returns the administrator whose certificate leaf is, comparing
// every entry in constant time.
func adminOf(certs []adminCert, leaf *x509.Certificate) (roamsign.HostID, bool) {
	d := sha256.Sum256(leaf.Raw)
	var name roamsign.HostID
	found := 0
	for _, c := range certs {
		eq := subtle.ConstantTimeCompare(d[:], c.digest[:])
		if eq == 1 && found == 0 {
			name = c.name
		}
		found |= eq
	}
	return name, found == 1
}

// parseAdminCerts reads "name=sha256:HEX,..." entries.
func parseAdminCerts(list string) ([]adminCert, error) {
	var out []adminCert
	for _, kv := range strings.Split(list, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, d, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		hexd, isDigest := strings.CutPrefix(strings.TrimSpace(d), digestPrefix)
		raw, err := hex.DecodeString(hexd)
		if !ok || name == "" || !isDigest || err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("-admin-certs: want name=%sHEX (64 hexadecimal digits, the SHA-256 of the certificate's DER), got an entry for %q", digestPrefix, name)
		}
		out = append(out, adminCert{name: roamsign.HostID(name), digest: [32]byte(raw)})
	}
	return out, nil
}
