package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"time"

	"github.com/roamsign/roamsign"
)

// VerifyDigestSignature checks a raw signature over a digest: RSA PKCS#1
// v1.5 or (pss true) RSASSA-PSS with MGF1 over the same hash and any salt
// length, or ECDSA with a DER (ASN.1) signature. Only SHA-256, SHA-384 and
// SHA-512 are accepted. It returns nil or an error of kind
// ErrInvalidSignature, ErrInvalidInput or ErrUnsupported.
func VerifyDigestSignature(pub crypto.PublicKey, h crypto.Hash, digest, sig []byte, pss bool) error {
	const op = "verify.VerifyDigestSignature"
	switch h {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return roamsign.E(roamsign.ErrUnsupported, op, "hash %v not accepted", h)
	}
	if len(digest) != h.Size() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "digest is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		var err error
		if pss {
			err = rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: h})
		} else {
			err = rsa.VerifyPKCS1v15(k, h, digest, sig)
		}
		if err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "RSA signature does not verify")
		}
		return nil
	case *ecdsa.PublicKey:
		if pss {
			return roamsign.E(roamsign.ErrInvalidInput, op, "PSS requested for an ECDSA key")
		}
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return roamsign.E(roamsign.ErrInvalidSignature, op, "ECDSA signature does not verify")
		}
		return nil
	}
	return roamsign.E(roamsign.ErrUnsupported, op, "public key type %T not supported for digest signatures", pub)
}

// DigestRequest asks for a raw signature over a digest to be verified.
type DigestRequest struct {
	Hash      crypto.Hash
	Digest    []byte
	Signature []byte
	// PSS selects RSASSA-PSS for RSA keys (else PKCS#1 v1.5).
	PSS bool
	// Certificate is the signing certificate; Intermediates are candidates.
	Certificate   *x509.Certificate
	Intermediates []*x509.Certificate
	// At is a trusted signing time (from a verified timestamp); zero means
	// the verification time.
	At time.Time
	// Supplied is validation material for this request only.
	Supplied ValidationData
}

// VerifyDigest verifies a raw signature and the signer's certificate (chain,
// key usage, revocation). It never returns nil.
func (v *Verifier) VerifyDigest(ctx context.Context, req DigestRequest) *Result {
	r := &Result{}
	if req.Certificate == nil {
		r.add(CheckFormat, Invalid, "no signing certificate")
		return r
	}
	if err := VerifyDigestSignature(req.Certificate.PublicKey, req.Hash, req.Digest, req.Signature, req.PSS); err != nil {
		r.add(CheckSignature, Invalid, err.Error())
		ci := v.info(req.Certificate)
		r.Signer = &ci
		return r
	}
	r.add(CheckSignature, Valid, "")
	cr := v.VerifyChain(ctx, ChainRequest{Leaf: req.Certificate, Intermediates: req.Intermediates, At: req.At, Timestamped: !req.At.IsZero(), Supplied: req.Supplied})
	merge(r, cr)
	return r
}

// merge folds the chain result cr into r.
func merge(r, cr *Result) {
	for _, c := range cr.Checks {
		r.addSub(c.Name, c.Verdict, c.SubIndication, c.Reason)
	}
	r.Signer, r.Chain, r.Revocation = cr.Signer, cr.Chain, cr.Revocation
	r.Policies, r.Validation = cr.Policies, cr.Validation
	r.TrustedTime, r.TimeSource = cr.TrustedTime, cr.TimeSource
}
