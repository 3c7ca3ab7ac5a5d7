package cms

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"

	"github.com/roamsign/roamsign/internal/memo"
)

// maxVerified bounds the memo of verified signatures; a full memo is
// emptied.
const maxVerified = 4096

// verified remembers SignerInfo signatures that verified in this process,
// so that a token checked by the time-stamp client is not checked again,
// at the same cost, by the code that embeds it. A signature check is a
// pure function of the public key, the algorithm, the signed bytes and
// the signature: the memo is keyed by a SHA-256 of all four, and only
// successes are remembered, so a changed byte in any of them is checked
// afresh.
var verified memo.Map[[sha256.Size]byte, struct{}]

// verifiedKey returns the memo key of a check of signature over signed
// with alg and cert's public key. Each part is length-prefixed.
func verifiedKey(cert *x509.Certificate, alg x509.SignatureAlgorithm, signed, signature []byte) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, part := range [][]byte{cert.RawSubjectPublicKeyInfo, binary.BigEndian.AppendUint64(nil, uint64(alg)), signed, signature} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// checkSignatureMemo is cert.CheckSignature(alg, signed, signature),
// remembered on success.
func checkSignatureMemo(cert *x509.Certificate, alg x509.SignatureAlgorithm, signed, signature []byte) error {
	if len(cert.RawSubjectPublicKeyInfo) == 0 {
		// A certificate built in memory rather than parsed: its key is not
		// in the memo's key, so it is checked every time.
		return cert.CheckSignature(alg, signed, signature)
	}
	k := verifiedKey(cert, alg, signed, signature)
	if _, ok := verified.Get(k); ok {
		return nil
	}
	if err := cert.CheckSignature(alg, signed, signature); err != nil {
		return err
	}
	verified.Put(k, struct{}{}, maxVerified)
	return nil
}
