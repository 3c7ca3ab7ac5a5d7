//go:build !cgo

package hsm

import (
	"context"
	"crypto/x509"

	"github.com/roamsign/roamsign"
)

// PKCS11Store is a [KeyStore] on a PKCS#11 token. This build has no cgo, so
// the PKCS#11 backend is not available: [OpenPKCS11] returns
// roamsign.ErrUnsupported.
type PKCS11Store struct{}

var (
	_ KeyStore    = (*PKCS11Store)(nil)
	_ MACKeyStore = (*PKCS11Store)(nil)
)

func errNoCgo(op string) error {
	return roamsign.E(roamsign.ErrUnsupported, op, "PKCS#11 needs a build with cgo (CGO_ENABLED=1)")
}

// OpenPKCS11 returns roamsign.ErrUnsupported: this build has no cgo.
func OpenPKCS11(ctx context.Context, cfg PKCS11Config) (*PKCS11Store, error) {
	return nil, errNoCgo("hsm.OpenPKCS11")
}

// Sessions returns 0.
func (s *PKCS11Store) Sessions() int { return 0 }

// URI returns "".
func (s *PKCS11Store) URI() string { return "" }

// Generate returns roamsign.ErrUnsupported.
func (s *PKCS11Store) Generate(context.Context, GenerateRequest) (Key, error) {
	return nil, errNoCgo("hsm.PKCS11Store.Generate")
}

// Key returns roamsign.ErrUnsupported.
func (s *PKCS11Store) Key(context.Context, string) (Key, error) {
	return nil, errNoCgo("hsm.PKCS11Store.Key")
}

// URIKey returns roamsign.ErrUnsupported.
func (s *PKCS11Store) URIKey(context.Context) (Key, error) {
	return nil, errNoCgo("hsm.PKCS11Store.URIKey")
}

// List returns roamsign.ErrUnsupported.
func (s *PKCS11Store) List(context.Context) ([]KeyInfo, error) {
	return nil, errNoCgo("hsm.PKCS11Store.List")
}

// Delete returns roamsign.ErrUnsupported.
func (s *PKCS11Store) Delete(context.Context, string) error {
	return errNoCgo("hsm.PKCS11Store.Delete")
}

// ImportChain returns roamsign.ErrUnsupported.
func (s *PKCS11Store) ImportChain(context.Context, string, []*x509.Certificate) error {
	return errNoCgo("hsm.PKCS11Store.ImportChain")
}

// Chain returns roamsign.ErrUnsupported.
func (s *PKCS11Store) Chain(context.Context, string) ([]*x509.Certificate, error) {
	return nil, errNoCgo("hsm.PKCS11Store.Chain")
}

// Close does nothing.
func (s *PKCS11Store) Close() error { return nil }

// GenerateMAC returns roamsign.ErrUnsupported.
func (s *PKCS11Store) GenerateMAC(context.Context, string) (MACKey, error) {
	return nil, errNoCgo("hsm.PKCS11Store.GenerateMAC")
}

// MACKey returns roamsign.ErrUnsupported.
func (s *PKCS11Store) MACKey(context.Context, string) (MACKey, error) {
	return nil, errNoCgo("hsm.PKCS11Store.MACKey")
}

// DeleteMAC returns roamsign.ErrUnsupported.
func (s *PKCS11Store) DeleteMAC(context.Context, string) error {
	return errNoCgo("hsm.PKCS11Store.DeleteMAC")
}

// CheckKeys returns roamsign.ErrUnsupported.
func (s *PKCS11Store) CheckKeys(context.Context, ...string) error {
	return errNoCgo("hsm.PKCS11Store.CheckKeys")
}
