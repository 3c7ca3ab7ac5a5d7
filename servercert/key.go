package servercert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/atomicfile"
)

// KeyAlgorithm names a key type and size for a new server key.
type KeyAlgorithm string

// The key algorithms [GenerateKey] accepts.
const (
	RSA2048 KeyAlgorithm = "rsa2048"
	RSA3072 KeyAlgorithm = "rsa3072"
	RSA4096 KeyAlgorithm = "rsa4096"
	P256    KeyAlgorithm = "p256"
	P384    KeyAlgorithm = "p384"
)

// KeyAlgorithms lists the accepted algorithms, the recommended one first.
func KeyAlgorithms() []KeyAlgorithm {
	return []KeyAlgorithm{P256, P384, RSA2048, RSA3072, RSA4096}
}

// GenerateKey makes a new private key of the given algorithm in memory. For
// a key held in an HSM, generate it there and pass its [crypto.Signer] to
// [CreateCSR] instead.
func GenerateKey(alg KeyAlgorithm) (crypto.Signer, error) {
	const op = "servercert.GenerateKey"
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case RSA2048:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		k, err = rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		k, err = rsa.GenerateKey(rand.Reader, 4096)
	case P256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case P384:
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	default:
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "key algorithm %q not supported (use one of %v)", alg, KeyAlgorithms())
	}
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "key generation failed")
	}
	return k, nil
}

// MarshalPrivateKeyPEM encodes a software private key as an unencrypted
// PKCS#8 "PRIVATE KEY" PEM block. Keys that are not exportable (an HSM
// handle) get [roamsign.ErrUnsupported].
func MarshalPrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnsupported, "servercert.MarshalPrivateKeyPEM", err, "key cannot be exported (hardware key?)")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// WriteKeyFile writes key as PKCS#8 PEM to path with permissions 0600. The
// file appears atomically and complete, or not at all; an existing file is
// never overwritten ([roamsign.ErrConflict]), so a key that a certificate
// was issued for cannot be lost by mistake.
func WriteKeyFile(path string, key crypto.Signer) error {
	const op = "servercert.WriteKeyFile"
	pemBytes, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		return err
	}
	return writeFileAtomic(op, path, pemBytes, 0o600)
}

// WriteFile writes data to path atomically with the given permissions,
// refusing to overwrite an existing file.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return writeFileAtomic("servercert.WriteFile", path, data, perm)
}

func writeFileAtomic(op, path string, data []byte, perm fs.FileMode) error {
	err := atomicfile.Create(path, data, perm)
	switch {
	case errors.Is(err, fs.ErrExist):
		return roamsign.E(roamsign.ErrConflict, op, "%s exists; refusing to overwrite it", path)
	case err != nil:
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot write file")
	}
	return nil
}

// ParsePrivateKey reads a private key from PEM (PKCS#8, PKCS#1 "RSA PRIVATE
// KEY" or SEC 1 "EC PRIVATE KEY") or DER. Encrypted PEM is refused with a
// hint to decrypt it first. Any text around the PEM block is ignored.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	const op = "servercert.ParsePrivateKey"
	if len(data) > MaxInputSize {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "key input is %d bytes, limit %d", len(data), MaxInputSize)
	}
	der := data
	if b, _ := pem.Decode(cleanPaste(data)); b != nil {
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "" {
			return nil, roamsign.E(roamsign.ErrUnsupported, op, "private key is encrypted; decrypt it first (openssl pkey -in key.pem -out plain.pem)")
		}
		der = b.Bytes
	}
	var key any
	var err error
	if key, err = x509.ParsePKCS8PrivateKey(der); err != nil {
		if k, e1 := x509.ParsePKCS1PrivateKey(der); e1 == nil {
			key, err = k, nil
		} else if k, e2 := x509.ParseECPrivateKey(der); e2 == nil {
			key, err = k, nil
		}
	}
	if err != nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "not a private key in PKCS#8, PKCS#1 or SEC 1 form")
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "key type %T cannot sign", key)
	}
	return s, nil
}

// DescribeKey names a public key's algorithm and size, for example
// "RSA 2048" or "ECDSA P-256".
func DescribeKey(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("unknown %T", pub)
}
