package roamsign

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// HashAlgorithm names a digest algorithm accepted for signing. The zero value
// is invalid.
type HashAlgorithm uint8

// The supported digest algorithms.
const (
	SHA256 HashAlgorithm = iota + 1
	SHA384
	SHA512
)

var hashInfo = [...]struct {
	name string
	size int
	oid  asn1.ObjectIdentifier
	h    crypto.Hash
}{
	SHA256: {"SHA-256", 32, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, crypto.SHA256},
	SHA384: {"SHA-384", 48, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, crypto.SHA384},
	SHA512: {"SHA-512", 64, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, crypto.SHA512},
}

// Valid reports whether a is one of the supported algorithms.
func (a HashAlgorithm) Valid() bool { return a >= SHA256 && a <= SHA512 }

// String returns the algorithm's name ("SHA-256", "SHA-384", "SHA-512").
func (a HashAlgorithm) String() string {
	if !a.Valid() {
		return fmt.Sprintf("HashAlgorithm(%d)", uint8(a))
	}
	return hashInfo[a].name
}

// Size returns the digest length in bytes, or 0 for an invalid algorithm.
func (a HashAlgorithm) Size() int {
	if !a.Valid() {
		return 0
	}
	return hashInfo[a].size
}

// OID returns the algorithm's object identifier (RFC 5754 / NIST), or nil.
// The returned slice is a copy.
func (a HashAlgorithm) OID() asn1.ObjectIdentifier {
	if !a.Valid() {
		return nil
	}
	return append(asn1.ObjectIdentifier(nil), hashInfo[a].oid...)
}

// CryptoHash returns the matching [crypto.Hash], or 0.
func (a HashAlgorithm) CryptoHash() crypto.Hash {
	if !a.Valid() {
		return 0
	}
	return hashInfo[a].h
}

// Sum returns the digest of data under a.
func (a HashAlgorithm) Sum(data []byte) []byte {
	switch a {
	case SHA256:
		s := sha256.Sum256(data)
		return s[:]
	case SHA384:
		s := sha512.Sum384(data)
		return s[:]
	case SHA512:
		s := sha512.Sum512(data)
		return s[:]
	}
	return nil
}

// MarshalText encodes the algorithm by name.
func (a HashAlgorithm) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, E(ErrInvalidInput, "roamsign.HashAlgorithm", "unknown hash algorithm %d", uint8(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText decodes a name accepted by [ParseHashAlgorithm].
func (a *HashAlgorithm) UnmarshalText(b []byte) error {
	v, err := ParseHashAlgorithm(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseHashAlgorithm accepts "SHA-256", "SHA256", "sha256" and the same forms
// for SHA-384 and SHA-512.
func ParseHashAlgorithm(s string) (HashAlgorithm, error) {
	switch strings.ToUpper(strings.ReplaceAll(s, "-", "")) {
	case "SHA256":
		return SHA256, nil
	case "SHA384":
		return SHA384, nil
	case "SHA512":
		return SHA512, nil
	}
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return 0, E(ErrInvalidInput, "roamsign.ParseHashAlgorithm", "unknown hash algorithm %q", s)
}

// HashAlgorithmFromCrypto maps a [crypto.Hash] to a HashAlgorithm.
func HashAlgorithmFromCrypto(h crypto.Hash) (HashAlgorithm, error) {
	for a := SHA256; a <= SHA512; a++ {
		if hashInfo[a].h == h {
			return a, nil
		}
	}
	return 0, E(ErrUnsupported, "roamsign.HashAlgorithmFromCrypto", "unsupported hash %v", h)
}

// HashAlgorithmFromOID maps a digest algorithm OID to a HashAlgorithm.
func HashAlgorithmFromOID(oid asn1.ObjectIdentifier) (HashAlgorithm, error) {
	for a := SHA256; a <= SHA512; a++ {
		if hashInfo[a].oid.Equal(oid) {
			return a, nil
		}
	}
	return 0, E(ErrUnsupported, "roamsign.HashAlgorithmFromOID", "unsupported digest algorithm %v", oid)
}

// Hash is one digest to be signed: the algorithm and the digest value. On
// the wire (JSON) the value is standard base64, as the signing screen's
// "Data Hash To Sign" shows it.
type Hash struct {
	Algorithm HashAlgorithm `json:"algorithm"`
	Value     []byte        `json:"value"`
}

// Validate checks that the algorithm is supported and the value has its
// digest length.
func (h Hash) Validate() error {
	if !h.Algorithm.Valid() {
		return E(ErrInvalidInput, "roamsign.Hash", "unknown hash algorithm %d", uint8(h.Algorithm))
	}
	if len(h.Value) != h.Algorithm.Size() {
		return E(ErrInvalidInput, "roamsign.Hash", "%s digest must be %d bytes, got %d", h.Algorithm, h.Algorithm.Size(), len(h.Value))
	}
	return nil
}

// String returns "SHA-256:<base64>".
func (h Hash) String() string {
	return h.Algorithm.String() + ":" + base64.StdEncoding.EncodeToString(h.Value)
}

// NewHash returns the Hash of data under a.
func NewHash(a HashAlgorithm, data []byte) Hash { return Hash{Algorithm: a, Value: a.Sum(data)} }

// ValidateHashes checks a hash list: at least one entry, at most max entries
// (no upper bound when max <= 0), every entry valid.
func ValidateHashes(hashes []Hash, max int) error {
	if len(hashes) == 0 {
		return E(ErrInvalidInput, "roamsign.ValidateHashes", "no hashes given")
	}
	if max > 0 && len(hashes) > max {
		return E(ErrTooLarge, "roamsign.ValidateHashes", "%d hashes exceed the limit of %d", len(hashes), max)
	}
	for i, h := range hashes {
		if err := h.Validate(); err != nil {
			return &Error{Kind: ErrInvalidInput, Op: "roamsign.ValidateHashes", Msg: fmt.Sprintf("hash %d", i), Err: err}
		}
	}
	return nil
}

// HashListDigest returns the SHA-256 digest of the canonical encoding of a
// hash list: for each entry in order, one byte of algorithm, a 2-byte
// big-endian length and the value, after a domain-separation prefix and a
// 4-byte count. Two lists have the same digest only if they have the same
// entries in the same order. The OTP MAC, the signature activation and the
// audit log all bind to this digest.
func HashListDigest(hashes []Hash) [32]byte {
	h := sha256.New()
	h.Write([]byte("roamsign/hash-list/v1\x00"))
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(hashes)))
	h.Write(n[:])
	for _, x := range hashes {
		var hdr [3]byte
		hdr[0] = byte(x.Algorithm)
		binary.BigEndian.PutUint16(hdr[1:], uint16(len(x.Value)))
		h.Write(hdr[:])
		h.Write(x.Value)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
