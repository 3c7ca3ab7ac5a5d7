package verify

import (
	"crypto/x509"

	imemo "github.com/roamsign/roamsign/internal/memo"
)

// maxMemo bounds each memo; a full memo is emptied.
const maxMemo = 4096

// memo is a bounded cache of values computed from a key (parsed
// certificates, their display forms and extension parses, certificate
// hashes). It is safe for concurrent use; two callers may compute the same
// value once each, which is harmless.
type memo[K comparable, V any] struct{ m imemo.Map[K, V] }

// get returns the value of k, computing it on a miss. Errors are not
// cached.
func (c *memo[K, V]) get(k K, compute func() (V, error)) (V, error) {
	if v, ok := c.m.Get(k); ok {
		return v, nil
	}
	v, err := compute()
	if err != nil {
		return v, err
	}
	c.m.Put(k, v, maxMemo)
	return v, nil
}

// value is get for computations that cannot fail.
func (c *memo[K, V]) value(k K, compute func() V) V {
	v, _ := c.get(k, func() (V, error) { return compute(), nil })
	return v
}

// sigResult is a memoised signature check.
type sigResult struct{ err error }

// certSignedBy checks child's signature with parent's key, memoised per
// verifier (the certificates come from the parse cache).
func (v *Verifier) certSignedBy(child, parent *x509.Certificate) error {
	return v.sigChecks.value([2]*x509.Certificate{child, parent}, func() sigResult {
		return sigResult{parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)}
	}).err
}

// crlSignedBy checks a CRL's signature with signer's key, memoised on the
// CRL (a large CRL costs one hash of its whole content per check; the memo
// lives as long as the CRL).
func (v *Verifier) crlSignedBy(c *CRL, signer *x509.Certificate) error {
	c.sigMu.Lock()
	defer c.sigMu.Unlock()
	for _, s := range c.sigs {
		if s.signer == signer {
			return s.err
		}
	}
	err := c.CheckSignatureFrom(signer)
	if len(c.sigs) < 8 {
		c.sigs = append(c.sigs, crlSig{signer, err})
	}
	return err
}

// crlSig is a memoised CRL signature check.
type crlSig struct {
	signer *x509.Certificate
	err    error
}
