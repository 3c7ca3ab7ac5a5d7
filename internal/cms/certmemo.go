package cms

import (
	"crypto/x509"

	"github.com/roamsign/roamsign/internal/memo"
)

// Bounds of a [CertMemo]: the certificates it holds, and the size of a
// certificate it keeps (larger ones are parsed each time).
const (
	MaxMemoCerts    = 64
	MaxMemoCertSize = 16 << 10
)

// CertMemo remembers certificates parsed from their DER, for code that
// meets the same few certificates again and again (a time-stamping
// authority's, a signer's CA). A parse is a pure function of the DER, so
// the memo changes no outcome. It holds at most MaxMemoCerts certificates
// of at most MaxMemoCertSize bytes each, and is emptied when full, so its
// memory is bounded whatever the input. The zero value is ready to use; a
// CertMemo is safe for concurrent use.
type CertMemo struct {
	m memo.Map[string, *x509.Certificate]
}

// Parse returns x509.ParseCertificate(der), from the memo when the same
// DER was parsed before. The certificate is shared: callers must not
// modify it.
func (m *CertMemo) Parse(der []byte) (*x509.Certificate, error) {
	if len(der) > MaxMemoCertSize {
		return x509.ParseCertificate(der)
	}
	if c, ok := m.m.Get(string(der)); ok {
		return c, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	m.m.Put(string(der), c, MaxMemoCerts)
	return c, nil
}
