package cms

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"io"

	"github.com/roamsign/roamsign"
)

// SignDigest signs contentDigest (the digest of the detached content under
// opts.Hash) with key in one step: [Prepare], the key's signature of
// [Prepared.Digest], then the assembly of [Prepared.Complete]. chain[0] must
// hold key's public key; a key that does not match is refused before it is
// used.
//
// RSA signatures are verified before they are embedded, as Complete does (a
// faulty RSA-CRT signature would expose the key). ECDSA signatures of the
// local key are not re-verified: the key was matched against the
// certificate, and verification would cost more than the signature.
// opts.CallerVerifies turns the RSA verification off.
func SignDigest(ctx context.Context, key crypto.Signer, contentDigest []byte, chain []*x509.Certificate, opts Options) ([]byte, error) {
	const op = "cms.SignDigest"
	if key == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no key")
	}
	p, err := Prepare(contentDigest, chain, opts)
	if err != nil {
		return nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(p.chain[0].PublicKey) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "key does not match the signer certificate")
	}
	sig, err := roamsign.SignContext(ctx, key, p.Digest(), p.SignerOpts())
	if err != nil {
		return nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "sign")
	}
	_, isRSA := p.chain[0].PublicKey.(*rsa.PublicKey)
	return p.complete(op, sig, isRSA && !opts.CallerVerifies)
}

// Sign reads the whole content, hashes it under opts.Hash and signs it with
// [SignDigest]. The content is not embedded: the result is detached.
func Sign(ctx context.Context, key crypto.Signer, content io.Reader, chain []*x509.Certificate, opts Options) ([]byte, error) {
	const op = "cms.Sign"
	h := opts.Hash
	if h == 0 {
		h = roamsign.SHA256
	}
	if !h.Valid() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "unknown hash algorithm %d", uint8(h))
	}
	if content == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no content")
	}
	hw := h.CryptoHash().New()
	if _, err := io.Copy(hw, ctxReader{ctx, content}); err != nil {
		return nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "read content")
	}
	return SignDigest(ctx, key, hw.Sum(nil), chain, opts)
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, roamsign.Wrap(roamsign.ErrUnavailable, "", err, "cancelled")
	}
	return c.r.Read(p)
}
