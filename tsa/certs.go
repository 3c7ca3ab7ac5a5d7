package tsa

import (
	"crypto/x509"
	"sync"
)

// maxParsedCerts bounds a Client's memo of parsed certificates; when full
// it is emptied.
const maxParsedCerts = 64

// certMemo remembers the certificates parsed from tokens, keyed by their
// DER: an authority sends the same few certificates with every token. The
// parse is a pure function of the DER, so the memo changes no outcome.
type certMemo struct {
	mu sync.Mutex
	m  map[string]*x509.Certificate
}

// parse returns the certificate of der, parsed once.
func (m *certMemo) parse(der []byte) (*x509.Certificate, error) {
	m.mu.Lock()
	c, ok := m.m[string(der)]
	m.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.m == nil || len(m.m) >= maxParsedCerts {
		m.m = map[string]*x509.Certificate{}
	}
	m.m[string(der)] = c
	m.mu.Unlock()
	return c, nil
}
