package hsm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"

	"github.com/roamsign/roamsign"
)

// KeyStore holds signing keys. Both backends ([OpenPKCS11] and
// [OpenSoftware]) implement it and pass the same conformance tests.
//
// Every method that does I/O takes a context; a cancelled context stops a
// wait for a session, not an operation already running in the token.
// After [KeyStore.Close] every method returns an error of kind
// roamsign.ErrClosed.
type KeyStore interface {
	// Generate creates a key pair inside the store. An ID that is already
	// used gives roamsign.ErrConflict.
	Generate(ctx context.Context, req GenerateRequest) (Key, error)
	// Key looks a key up by ID (roamsign.ErrNotFound when absent).
	Key(ctx context.Context, id string) (Key, error)
	// List describes every key in the store, sorted by ID.
	List(ctx context.Context) ([]KeyInfo, error)
	// Delete removes a key pair and its certificates.
	Delete(ctx context.Context, id string) error
	// ImportChain stores a key's certificate chain, leaf first, replacing
	// any stored chain. The leaf must certify the key's public key.
	ImportChain(ctx context.Context, id string, chain []*x509.Certificate) error
	// Chain returns the key's stored certificate chain, leaf first; an empty
	// slice when none is stored.
	Chain(ctx context.Context, id string) ([]*x509.Certificate, error)
	// Close releases the store. It is idempotent and returns the first real
	// error met while closing.
	Close() error
}

// Key is a private key held in a [KeyStore]. It is a [crypto.Signer]:
//
//   - RSA keys sign PKCS#1 v1.5 when opts is a crypto.Hash and RSASSA-PSS
//     when opts is *rsa.PSSOptions (MGF1 with the same hash; salt lengths
//     rsa.PSSSaltLengthEqualsHash and rsa.PSSSaltLengthAuto both mean the
//     hash length, see the package documentation);
//   - ECDSA keys return an ASN.1 DER Ecdsa-Sig-Value.
//
// The digest must be the output of opts.HashFunc(), which must be SHA-256,
// SHA-384 or SHA-512; a digest of the wrong length gives
// roamsign.ErrInvalidInput.
//
// Sign uses context.Background(); use SignContext (or
// [roamsign.SignContext]) to bound the wait for a session. A Key stays valid while its store is open and is safe for
// concurrent use.
type Key interface {
	// ContextSigner's SignContext signs digest like Sign, waiting for a
	// session no longer than ctx allows.
	roamsign.ContextSigner
	// Concurrency is how many signatures the key can compute at once (the
	// PKCS#11 session pool size, GOMAXPROCS for the software store).
	roamsign.Concurrent
	// ID is the key's identifier in its store (the PKCS#11 CKA_ID).
	ID() string
	// Label is the key's human-readable label (the PKCS#11 CKA_LABEL).
	Label() string
	// Algorithm is the key's type and size.
	Algorithm() roamsign.KeyAlgorithm
}

// GenerateRequest asks for a new key pair.
type GenerateRequest struct {
	// ID identifies the key: 1 to 64 characters from [A-Za-z0-9._-], not
	// starting with '.'. Empty: a random 32-character hexadecimal ID.
	ID string
	// Label is a human-readable label of at most 128 bytes; empty: the ID.
	Label string
	// Algorithm is the key type and size; empty: roamsign.RSA2048.
	Algorithm roamsign.KeyAlgorithm
}

// KeyInfo describes a stored key.
type KeyInfo struct {
	ID        string
	Label     string
	Algorithm roamsign.KeyAlgorithm
}

const (
	maxIDLen    = 64
	maxLabelLen = 128
	maxChainLen = 10
)

// validID checks a key ID.
func validID(op, id string) error {
	if id == "" || len(id) > maxIDLen || id[0] == '.' {
		return roamsign.E(roamsign.ErrInvalidInput, op, "key id must be 1 to %d characters not starting with '.'", maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			continue
		}
		return roamsign.E(roamsign.ErrInvalidInput, op, "key id may contain only A-Z a-z 0-9 . _ -")
	}
	return nil
}

// normalise fills the request defaults and validates it.
func (r GenerateRequest) normalise(op string, random func([]byte) error) (GenerateRequest, error) {
	if r.ID == "" {
		b := make([]byte, 16)
		if err := random(b); err != nil {
			return r, roamsign.Wrap(roamsign.ErrInternal, op, err, "random key id")
		}
		r.ID = hex.EncodeToString(b)
	}
	if err := validID(op, r.ID); err != nil {
		return r, err
	}
	if r.Label == "" {
		r.Label = r.ID
	}
	if len(r.Label) > maxLabelLen {
		return r, roamsign.E(roamsign.ErrInvalidInput, op, "label longer than %d bytes", maxLabelLen)
	}
	if r.Algorithm == "" {
		r.Algorithm = roamsign.RSA2048
	}
	if !r.Algorithm.Valid() {
		return r, roamsign.E(roamsign.ErrUnsupported, op, "unsupported key algorithm %.32q", string(r.Algorithm))
	}
	return r, nil
}

func rsaBits(a roamsign.KeyAlgorithm) int {
	switch a {
	case roamsign.RSA2048:
		return 2048
	case roamsign.RSA3072:
		return 3072
	case roamsign.RSA4096:
		return 4096
	}
	return 0
}

func curveOf(a roamsign.KeyAlgorithm) elliptic.Curve {
	switch a {
	case roamsign.ECP256:
		return elliptic.P256()
	case roamsign.ECP384:
		return elliptic.P384()
	case roamsign.ECP521:
		return elliptic.P521()
	}
	return nil
}

// algorithmOf returns the algorithm of a public key, or "" when the key is
// not one the store supports.
func algorithmOf(pub crypto.PublicKey) roamsign.KeyAlgorithm {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return roamsign.RSA2048
		case 3072:
			return roamsign.RSA3072
		case 4096:
			return roamsign.RSA4096
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return roamsign.ECP256
		case elliptic.P384():
			return roamsign.ECP384
		case elliptic.P521():
			return roamsign.ECP521
		}
	}
	return ""
}

// signMode is the checked form of a sign request.
type signMode struct {
	hash crypto.Hash
	pss  bool
	salt int // PSS salt length in bytes
}

// checkSign validates digest and opts for a key's public key.
func checkSign(op string, pub crypto.PublicKey, digest []byte, opts crypto.SignerOpts) (signMode, error) {
	if opts == nil {
		return signMode{}, roamsign.E(roamsign.ErrInvalidInput, op, "no signer options (hash) given")
	}
	h := opts.HashFunc()
	switch h {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	case 0:
		return signMode{}, roamsign.E(roamsign.ErrInvalidInput, op, "a hash function is required; raw signing is not supported")
	default:
		return signMode{}, roamsign.E(roamsign.ErrUnsupported, op, "unsupported hash %v", h)
	}
	if len(digest) != h.Size() {
		return signMode{}, roamsign.E(roamsign.ErrInvalidInput, op, "%v digest must be %d bytes, got %d", h, h.Size(), len(digest))
	}
	m := signMode{hash: h}
	pss, isPSS := opts.(*rsa.PSSOptions)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if !isPSS {
			return m, nil
		}
		m.pss = true
		switch {
		case pss.SaltLength == rsa.PSSSaltLengthAuto || pss.SaltLength == rsa.PSSSaltLengthEqualsHash:
			m.salt = h.Size()
		case pss.SaltLength > 0:
			m.salt = pss.SaltLength
		default:
			return m, roamsign.E(roamsign.ErrInvalidInput, op, "invalid PSS salt length %d", pss.SaltLength)
		}
		emLen := (k.N.BitLen() - 1 + 7) / 8
		if m.salt > emLen-h.Size()-2 {
			return m, roamsign.E(roamsign.ErrInvalidInput, op, "PSS salt length %d too long for the key", m.salt)
		}
	case *ecdsa.PublicKey:
		if isPSS {
			return m, roamsign.E(roamsign.ErrInvalidInput, op, "PSS options given for an ECDSA key")
		}
	default:
		return m, roamsign.E(roamsign.ErrUnsupported, op, "unsupported key type %T", pub)
	}
	return m, nil
}

// pssOptions returns stdlib options equivalent to m.
func (m signMode) pssOptions() *rsa.PSSOptions {
	return &rsa.PSSOptions{SaltLength: m.salt, Hash: m.hash}
}

// digestInfoPrefix is the DER prefix of a PKCS#1 v1.5 DigestInfo (RFC 8017
// section 9.2, note 1) for each supported hash.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// digestInfo returns DigestInfo(h, digest).
func digestInfo(h crypto.Hash, digest []byte) []byte {
	p := digestInfoPrefix[h]
	out := make([]byte, 0, len(p)+len(digest))
	return append(append(out, p...), digest...)
}

// ecdsaDER converts an r‖s signature (PKCS#11 CKM_ECDSA output) to an ASN.1
// DER Ecdsa-Sig-Value, in one allocation.
func ecdsaDER(rs []byte) ([]byte, error) {
	if len(rs) == 0 || len(rs)%2 != 0 || len(rs) > 2*66 {
		return nil, roamsign.E(roamsign.ErrInternal, "hsm.ecdsaDER", "ECDSA signature of unexpected length %d", len(rs))
	}
	n := len(rs) / 2
	r, s := derInt(rs[:n]), derInt(rs[n:])
	body := 2 + len(r) + 2 + len(s) // both fit in short-form lengths (≤ 67)
	out := make([]byte, 0, 3+body)
	out = append(out, 0x30)
	if body < 0x80 {
		out = append(out, byte(body))
	} else {
		out = append(out, 0x81, byte(body))
	}
	out = append(out, 0x02, byte(len(r)))
	out = append(out, r...)
	out = append(out, 0x02, byte(len(s)))
	out = append(out, s...)
	return out, nil
}

// derInt returns the content octets of a DER INTEGER for the unsigned
// big-endian value b: leading zeros removed, one zero added when the high
// bit is set. The result may alias b, or be a short constant.
func derInt(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) == 0 {
		return []byte{0}
	}
	if b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

// samePublicKey reports whether a and b are the same public key.
func samePublicKey(a, b crypto.PublicKey) bool {
	type eq interface{ Equal(crypto.PublicKey) bool }
	x, ok := a.(eq)
	return ok && x.Equal(b)
}

// checkChain validates a chain for import: 1 to maxChainLen certificates,
// leaf first, certifying pub.
func checkChain(op string, pub crypto.PublicKey, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "empty certificate chain")
	}
	if len(chain) > maxChainLen {
		return roamsign.E(roamsign.ErrTooLarge, op, "certificate chain longer than %d", maxChainLen)
	}
	for i, c := range chain {
		if c == nil || len(c.Raw) == 0 {
			return roamsign.E(roamsign.ErrInvalidInput, op, "certificate %d is empty", i)
		}
	}
	if !samePublicKey(pub, chain[0].PublicKey) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "the leaf certificate does not certify this key")
	}
	return nil
}

// orderChain puts certificates that share a key ID in chain order: the leaf
// (certifying pub) first, then each issuer in turn; certificates that do not
// fit follow in their original order.
func orderChain(pub crypto.PublicKey, certs []*x509.Certificate) []*x509.Certificate {
	left := append([]*x509.Certificate(nil), certs...)
	var out []*x509.Certificate
	take := func(i int) *x509.Certificate {
		c := left[i]
		left = append(left[:i], left[i+1:]...)
		out = append(out, c)
		return c
	}
	var cur *x509.Certificate
	for i, c := range left {
		if samePublicKey(pub, c.PublicKey) {
			cur = take(i)
			break
		}
	}
	for cur != nil {
		next := -1
		for i, c := range left {
			if bytes.Equal(c.RawSubject, cur.RawIssuer) && !bytes.Equal(c.Raw, cur.Raw) {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		cur = take(next)
	}
	return append(out, left...)
}

// MACKeyStore is an optional capability of a [KeyStore] (both backends
// have it): secret HMAC-SHA256 keys that never leave the store, for uses
// such as a PIN-verifier pepper or an OTP MAC key. MAC keys share the ID
// rules of signing keys but live in their own namespace and are not listed
// by [KeyStore.List].
type MACKeyStore interface {
	// GenerateMAC creates a 256-bit MAC key (roamsign.ErrConflict when the
	// ID is used).
	GenerateMAC(ctx context.Context, id string) (MACKey, error)
	// MACKey looks a MAC key up (roamsign.ErrNotFound when absent).
	MACKey(ctx context.Context, id string) (MACKey, error)
	// DeleteMAC removes a MAC key.
	DeleteMAC(ctx context.Context, id string) error
}

// MACKey computes HMAC-SHA256 with a key held in a [MACKeyStore].
type MACKey interface {
	ID() string
	// MAC returns the 32-byte HMAC-SHA256 of data (at most [MaxMACInput]
	// bytes).
	MAC(ctx context.Context, data []byte) ([]byte, error)
}

// MaxMACInput is the largest input MACKey.MAC accepts.
const MaxMACInput = 1 << 20

func checkMACInput(op string, data []byte) error {
	if len(data) > MaxMACInput {
		return roamsign.E(roamsign.ErrTooLarge, op, "MAC input longer than %d bytes", MaxMACInput)
	}
	return nil
}
