package cms

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"time"

	"github.com/roamsign/roamsign"
	icms "github.com/roamsign/roamsign/internal/cms"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxChain is the largest number of certificates accepted in a chain.
const MaxChain = 10

// Options tunes a signature. The zero value signs with SHA-256, the current
// time as signing time and id-data as content type.
type Options struct {
	// Hash is the digest algorithm of the content and of the signed
	// attributes. Zero means SHA-256.
	Hash roamsign.HashAlgorithm
	// SigningTime is put in the signing-time attribute. Zero means Now().
	SigningTime time.Time
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// ContentType is the eContentType and the content-type attribute. Nil
	// means id-data (1.2.840.113549.1.7.1). CAdES and PAdES baseline
	// signatures (ETSI EN 319 122-1 and EN 319 142-1 clause 6.3) have
	// id-data; another type makes a CMS signature outside those profiles.
	ContentType asn1.ObjectIdentifier
	// AlgorithmProtection adds the CMSAlgorithmProtection attribute (RFC
	// 6211), binding the digest and signature algorithms into what is signed.
	AlgorithmProtection bool
	// PSS signs with RSASSA-PSS (salt length = digest length, MGF1 with the
	// same digest) instead of PKCS #1 v1.5. It requires an RSA key.
	PSS bool
	// OmitSigningTime leaves out the signing-time attribute, as a PAdES
	// baseline signature must (EN 319 142-1 clause 6.3: the time is the
	// signature dictionary's /M). A CAdES baseline signature has it (EN
	// 319 122-1 clause 6.3), so a detached CMS signature without it is
	// outside that profile.
	OmitSigningTime bool
	// CallerVerifies makes [SignDigest] skip its verification of RSA
	// signatures, for a caller that verifies every result against the
	// certificate itself before it uses or releases it. [Prepared.Complete]
	// always verifies.
	CallerVerifies bool
}

// Prepared is the first half of a CMS signature: the signed attributes for a
// content digest and a certificate chain, waiting for the signature over
// them. It is immutable and safe for concurrent use.
type Prepared struct {
	hash        roamsign.HashAlgorithm
	pss         bool
	contentType asn1.ObjectIdentifier
	attrs       []byte              // DER SET OF Attribute
	digest      []byte              // hash of attrs
	chain       []*x509.Certificate // leaf first
	sigAlg      []byte              // DER AlgorithmIdentifier of the signature
	digestAlg   []byte              // DER AlgorithmIdentifier of the digest
	ctDER       []byte              // DER OBJECT IDENTIFIER of the content type
	serialDER   []byte              // DER INTEGER of the leaf's serial number
}

// Prepare builds the signed attributes for contentDigest (the digest of the
// detached content under opts.Hash) and the certificate chain, leaf first.
// The leaf's key must be RSA or ECDSA (P-256, P-384, P-521).
func Prepare(contentDigest []byte, chain []*x509.Certificate, opts Options) (*Prepared, error) {
	const op = "cms.Prepare"
	h := opts.Hash
	if h == 0 {
		h = roamsign.SHA256
	}
	if !h.Valid() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "unknown hash algorithm %d", uint8(h))
	}
	if len(contentDigest) != h.Size() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "%s content digest must be %d bytes, got %d", h, h.Size(), len(contentDigest))
	}
	ct := opts.ContentType
	if ct == nil {
		ct = icms.OIDData
	} else if err := checkOID(ct); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "bad content type")
	}
	p, err := newPrepared(op, h, opts.PSS, ct, chain)
	if err != nil {
		return nil, err
	}
	var signingTime time.Time
	if !opts.OmitSigningTime {
		signingTime = opts.SigningTime
		if signingTime.IsZero() {
			now := opts.Now
			if now == nil {
				now = time.Now
			}
			signingTime = now()
		}
	}
	attrs, err := p.buildAttrs(contentDigest, signingTime, opts.AlgorithmProtection)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "encode signed attributes")
	}
	p.setAttrs(attrs)
	return p, nil
}

// newPrepared checks the chain and the key type and fills in everything but
// the attributes.
func newPrepared(op string, h roamsign.HashAlgorithm, pss bool, ct asn1.ObjectIdentifier, chain []*x509.Certificate) (*Prepared, error) {
	if len(chain) == 0 || chain[0] == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no signer certificate")
	}
	if len(chain) > MaxChain {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "chain of %d certificates exceeds the limit of %d", len(chain), MaxChain)
	}
	for i, c := range chain {
		if c == nil || len(c.Raw) == 0 {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "certificate %d is empty", i)
		}
	}
	p := &Prepared{
		hash:        h,
		pss:         pss,
		contentType: append(asn1.ObjectIdentifier(nil), ct...),
		chain:       append([]*x509.Certificate(nil), chain...),
	}
	var err error
	if p.sigAlg, err = icms.SignerAlgorithm(chain[0].PublicKey, h, pss); err != nil {
		return nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "signer certificate")
	}
	p.digestAlg = icms.DigestAlgorithmID(h)
	if p.ctDER, err = asn1.Marshal(p.contentType); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "bad content type")
	}
	if p.serialDER, err = asn1.Marshal(chain[0].SerialNumber); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "bad serial number")
	}
	return p, nil
}

func (p *Prepared) setAttrs(attrs []byte) {
	p.attrs = attrs
	p.digest = p.hash.Sum(attrs)
}

func checkOID(oid asn1.ObjectIdentifier) error {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1ObjectIdentifier(oid)
	_, err := b.Bytes()
	return err
}

// buildAttrs encodes the signed attributes as a DER SET OF Attribute, in
// DER order.
func (p *Prepared) buildAttrs(contentDigest []byte, signingTime time.Time, algProtection bool) ([]byte, error) {
	leaf := p.chain[0]
	var elems [][]byte
	attr := func(oid asn1.ObjectIdentifier, val cryptobyte.BuilderContinuation) {
		b := cryptobyte.NewBuilder(make([]byte, 0, 128))
		icms.AddAttribute(b, oid, val)
		elems = append(elems, b.BytesOrPanic())
	}
	raw := func(der []byte) cryptobyte.BuilderContinuation {
		return func(b *cryptobyte.Builder) { b.AddBytes(der) }
	}
	attr(icms.OIDAttrContentType, raw(p.ctDER))
	attr(icms.OIDAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(contentDigest) })
	if !signingTime.IsZero() {
		// UTCTime for 1950 to 2049, GeneralizedTime otherwise (RFC 5652
		// section 11.3).
		attr(icms.OIDAttrSigningTime, func(b *cryptobyte.Builder) {
			if t := signingTime.UTC(); t.Year() >= 1950 && t.Year() < 2050 {
				b.AddASN1UTCTime(t)
			} else {
				b.AddASN1GeneralizedTime(t)
			}
		})
	}
	attr(icms.OIDAttrSigningCertV2, func(b *cryptobyte.Builder) { icms.AddSigningCertificateV2(b, leaf, p.serialDER) })
	if algProtection {
		// CMSAlgorithmProtection ::= SEQUENCE { digestAlgorithm,
		//   signatureAlgorithm [1] IMPLICIT AlgorithmIdentifier, ... }
		sa := cryptobyte.String(p.sigAlg)
		var body cryptobyte.String
		sa.ReadASN1(&body, cbasn1.SEQUENCE)
		attr(icms.OIDAttrAlgProtection, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(p.digestAlg)
				b.AddASN1(tagCtx1, raw(body))
			})
		})
	}
	return icms.SetOf(elems), nil
}

// SignedAttributes returns the DER encoding of the SET OF signed attributes:
// the bytes the signature covers. The caller must not modify it.
func (p *Prepared) SignedAttributes() []byte { return p.attrs }

// Digest returns the hash of [Prepared.SignedAttributes] under the chosen
// algorithm: the value a remote key signs ("Data Hash To Sign"). The caller
// must not modify it.
func (p *Prepared) Digest() []byte { return p.digest }

// Hash returns the digest algorithm.
func (p *Prepared) Hash() roamsign.HashAlgorithm { return p.hash }

// Chain returns a copy of the certificate chain, leaf first.
func (p *Prepared) Chain() []*x509.Certificate {
	return append([]*x509.Certificate(nil), p.chain...)
}

// MaxSize returns an upper bound of the length of the DER that
// [Prepared.Complete] returns (the largest signature the leaf's key can
// produce), before any timestamp token is added. A PDF signer reserves
// /Contents from it.
func (p *Prepared) MaxSize() int {
	var n int
	switch k := p.chain[0].PublicKey.(type) {
	case *rsa.PublicKey:
		n = (k.N.BitLen() + 7) / 8
	case *ecdsa.PublicKey:
		// SEQUENCE header (up to 3 bytes) and two INTEGERs of up to n+1
		// bytes with 2-byte headers.
		c := (k.Curve.Params().BitSize + 7) / 8
		n = 3 + 2*(2+c+1)
	}
	der, _ := p.encode(make([]byte, n), nil)
	return len(der)
}

// SignerOpts returns the options to pass to [crypto.Signer.Sign] with
// [Prepared.Digest]: a [*rsa.PSSOptions] for PSS, otherwise the hash.
func (p *Prepared) SignerOpts() crypto.SignerOpts {
	if p.pss {
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: p.hash.CryptoHash()}
	}
	return p.hash.CryptoHash()
}

// Complete returns the detached CMS SignedData (a DER ContentInfo) around
// signature, the signature of [Prepared.Digest] by the leaf's key. The
// signature is checked against the leaf's public key first; a signature
// that does not verify gives an error of kind [roamsign.ErrInvalidSignature].
// ECDSA signatures may be ASN.1 DER or raw r‖s (as PKCS #11 returns them).
func (p *Prepared) Complete(signature []byte) ([]byte, error) {
	return p.complete("cms.Complete", signature, true)
}

// CompleteTimestamped is [Prepared.Complete] followed by a signature
// time-stamp (CAdES-B-T, ETSI EN 319 122-1): it checks signature as
// Complete does, asks ts for a time-stamp token over the signature value
// and returns the SignedData with the token as its signature-time-stamp
// unsigned attribute, and the token. It is what Complete then
// [AddSignatureTimestamp] make, without parsing the SignedData again. A
// token over other data is refused with [roamsign.ErrInvalidInput]; its
// own signature is ts's to check (a tsa.Client checks it). ts's errors are
// returned as they are.
func (p *Prepared) CompleteTimestamped(ctx context.Context, signature []byte, ts Timestamper) (der, token []byte, err error) {
	const op = "cms.CompleteTimestamped"
	if ts == nil {
		return nil, nil, roamsign.E(roamsign.ErrInvalidInput, op, "no Timestamper")
	}
	sig, err := p.signatureValue(op, signature, true)
	if err != nil {
		return nil, nil, err
	}
	if token, err = ts.Timestamp(ctx, sig); err != nil {
		return nil, nil, err
	}
	attr, err := timestampAttribute(op, sig, token)
	if err != nil {
		return nil, nil, err
	}
	if der, err = p.encode(sig, attr); err != nil {
		return nil, nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encode SignedData")
	}
	return der, token, nil
}

// signatureValue returns signature normalised to DER, once it verified
// with the leaf's key when check is set.
func (p *Prepared) signatureValue(op string, signature []byte, check bool) ([]byte, error) {
	sig, err := p.normalize(signature)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "malformed signature")
	}
	if check {
		if err := p.verify(sig); err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "signature does not verify with the signer certificate")
		}
	}
	return sig, nil
}

func (p *Prepared) complete(op string, signature []byte, check bool) ([]byte, error) {
	sig, err := p.signatureValue(op, signature, check)
	if err != nil {
		return nil, err
	}
	out, err := p.encode(sig, nil)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encode SignedData")
	}
	return out, nil
}

// normalize converts a raw r‖s ECDSA signature to DER; other signatures are
// returned as they are.
func (p *Prepared) normalize(sig []byte) ([]byte, error) {
	if len(sig) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "", "empty signature")
	}
	k, ok := p.chain[0].PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return sig, nil
	}
	n := (k.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*n || sig[0] == 0x30 && isDERSig(sig) {
		return sig, nil
	}
	r := new(big.Int).SetBytes(sig[:n])
	s := new(big.Int).SetBytes(sig[n:])
	b := cryptobyte.NewBuilder(make([]byte, 0, 2*n+8))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.Bytes()
}

func isDERSig(sig []byte) bool {
	s := cryptobyte.String(sig)
	var inner cryptobyte.String
	var r, q big.Int
	return s.ReadASN1(&inner, cbasn1.SEQUENCE) && s.Empty() &&
		inner.ReadASN1Integer(&r) && inner.ReadASN1Integer(&q) && inner.Empty()
}

// verify checks sig over the prepared digest with the leaf's key.
func (p *Prepared) verify(sig []byte) error {
	switch k := p.chain[0].PublicKey.(type) {
	case *rsa.PublicKey:
		if p.pss {
			return rsa.VerifyPSS(k, p.hash.CryptoHash(), p.digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.VerifyPKCS1v15(k, p.hash.CryptoHash(), p.digest, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, p.digest, sig) {
			return roamsign.E(roamsign.ErrInvalidSignature, "", "ECDSA verification failed")
		}
		return nil
	}
	return roamsign.E(roamsign.ErrUnsupported, "", "unsupported key")
}

// encode writes ContentInfo { id-signedData, [0] SignedData } around the
// prepared state, sig, and optional already encoded unsigned attributes
// (the content of the [1] IMPLICIT SET).
func (p *Prepared) encode(sig []byte, unsigned []byte) ([]byte, error) {
	leaf := p.chain[0]
	size := 96 + 2*len(p.digestAlg) + len(p.ctDER) + len(leaf.RawIssuer) + len(p.serialDER) +
		len(p.attrs) + len(p.sigAlg) + len(sig) + len(unsigned)
	for _, c := range p.chain {
		size += len(c.Raw)
	}
	version := int64(1)
	if !p.contentType.Equal(icms.OIDData) {
		version = 3
	}
	raw := func(der []byte) cryptobyte.BuilderContinuation {
		return func(b *cryptobyte.Builder) { b.AddBytes(der) }
	}
	attrs := cryptobyte.String(p.attrs)
	var attrBody cryptobyte.String
	attrs.ReadASN1(&attrBody, cbasn1.SET)
	b := cryptobyte.NewBuilder(make([]byte, 0, size))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(icms.OIDSignedData)
		b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(version)
				b.AddASN1(cbasn1.SET, raw(p.digestAlg))
				b.AddASN1(cbasn1.SEQUENCE, raw(p.ctDER)) // encapContentInfo without eContent: detached
				b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) {
					for _, c := range p.chain {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // issuerAndSerialNumber
							b.AddBytes(leaf.RawIssuer)
							b.AddBytes(p.serialDER)
						})
						b.AddBytes(p.digestAlg)
						b.AddASN1(tagCtx0, raw(attrBody)) // [0] IMPLICIT SET OF Attribute
						b.AddBytes(p.sigAlg)
						b.AddASN1OctetString(sig)
						if len(unsigned) > 0 {
							b.AddASN1(tagCtx1, raw(unsigned))
						}
					})
				})
			})
		})
	})
	return b.Bytes()
}
