package bench

import (
	"crypto/x509"
	"fmt"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/devmailbox"
	"github.com/roamsign/roamsign/verify"
)

// CheckRaw verifies every raw signature of res against its leaf
// certificate (see [CheckRawSignature]).
func CheckRaw(res *roamsign.SignResponse, hashes []roamsign.Hash) error {
	const op = "bench.CheckRaw"
	if res == nil || len(res.Chain) == 0 {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "no certificate chain")
	}
	if len(res.Items) != len(hashes) {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "%d items for %d hashes", len(res.Items), len(hashes))
	}
	leaf, err := parseLeaf(op, res.Chain)
	if err != nil {
		return err
	}
	for i, it := range res.Items {
		if it.Status != roamsign.ItemSigned {
			continue
		}
		if it.Index != i {
			return roamsign.E(roamsign.ErrInvalidSignature, op, "item %d has index %d", i, it.Index)
		}
		if err := checkRaw(op, leaf, hashes[i], it.Signature); err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, fmt.Sprintf("item %d", i))
		}
	}
	return nil
}

// CheckRawSignature verifies one raw signature over h against the leaf
// certificate of chain with [verify.VerifyDigestSignature]
// (RSASSA-PKCS1-v1_5 for RSA keys, ASN.1 ECDSA for EC keys): the host-side
// check, independent of the server's own self-check.
func CheckRawSignature(chain [][]byte, h roamsign.Hash, sig []byte) error {
	const op = "bench.CheckRawSignature"
	leaf, err := parseLeaf(op, chain)
	if err != nil {
		return err
	}
	return checkRaw(op, leaf, h, sig)
}

func parseLeaf(op string, chain [][]byte) (*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidSignature, op, "no certificate chain")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "leaf certificate")
	}
	return leaf, nil
}

func checkRaw(op string, leaf *x509.Certificate, h roamsign.Hash, sig []byte) error {
	if err := verify.VerifyDigestSignature(leaf.PublicKey, h.Algorithm.CryptoHash(), h.Value, sig, false); err != nil {
		return roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "")
	}
	return nil
}

// Mailbox reads OTPs from the example server's development mailbox (see
// internal/devmailbox, its home); it is an [OTPSource].
type Mailbox = devmailbox.Client
