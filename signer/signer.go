package signer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"log/slog"
	"math/big"

	"github.com/roamsign/roamsign"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DefaultMaxBatch is the batch limit when [Config.MaxBatch] is zero.
const DefaultMaxBatch = 1000

// Options selects the signature scheme for one call.
type Options struct {
	// PSS signs with RSASSA-PSS (salt length = digest length, MGF1 with the
	// same digest) instead of PKCS #1 v1.5. It requires an RSA key.
	PSS bool
	// RawECDSA returns ECDSA signatures as r‖s, each left-padded to the
	// curve's byte size (the IEEE P1363 / PKCS #11 / JWS form), instead of
	// ASN.1 DER. It requires an ECDSA key.
	RawECDSA bool
}

// Config tunes a [Signer]. The zero value is usable.
type Config struct {
	// MaxBatch is the largest batch SignBatch accepts. Zero means
	// DefaultMaxBatch; a negative value is invalid.
	MaxBatch int
	// Concurrency is the number of signatures run in parallel by SignBatch.
	// Zero means [roamsign.Concurrency] of the key: its Concurrency() when it
	// implements [roamsign.Concurrent], else runtime.GOMAXPROCS(0).
	Concurrency int
	// VerifyECDSA verifies every ECDSA signature with the public key before
	// returning it. RSA signatures are always verified (a faulty RSA-CRT
	// signature would reveal the key, and verification costs a few percent
	// of an RSA signature); ECDSA verification costs more than the
	// signature, so it is opt-in.
	VerifyECDSA bool
	// CallerVerifies turns off the verification above (RSA, and ECDSA with
	// VerifyECDSA) for a caller that verifies every returned signature
	// against the certificate itself before it uses or releases it.
	CallerVerifies bool
	// Logger receives one debug record per batch (counts and duration, never
	// digests). Nil means no logging.
	Logger *slog.Logger
}

// Signer signs digests with one key. It is safe for concurrent use.
type Signer struct {
	key         crypto.Signer
	pub         crypto.PublicKey
	maxBatch    int
	concurrency int
	verifyEC    bool
	verifyRSA   bool
	log         *slog.Logger
}

// New returns a Signer for key, which must be an RSA (2048 bits or more) or
// ECDSA key.
func New(key crypto.Signer, cfg Config) (*Signer, error) {
	const op = "signer.New"
	if key == nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "no key")
	}
	if cfg.MaxBatch < 0 || cfg.Concurrency < 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "negative batch limit or concurrency")
	}
	pub := key.Public()
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < 2048 {
			return nil, roamsign.E(roamsign.ErrUnsupported, op, "RSA keys below 2048 bits are not supported")
		}
	case *ecdsa.PublicKey:
		if k.Curve == nil {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "ECDSA key without curve")
		}
	default:
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "unsupported key type %T", pub)
	}
	s := &Signer{key: key, pub: pub, maxBatch: cfg.MaxBatch, concurrency: cfg.Concurrency, verifyEC: cfg.VerifyECDSA && !cfg.CallerVerifies, verifyRSA: !cfg.CallerVerifies, log: cfg.Logger}
	if s.maxBatch == 0 {
		s.maxBatch = DefaultMaxBatch
	}
	if s.concurrency == 0 {
		s.concurrency = roamsign.Concurrency(key)
	}
	return s, nil
}

// Public returns the key's public key.
func (s *Signer) Public() crypto.PublicKey { return s.pub }

// Sign signs one digest. The digest length must match its algorithm.
func (s *Signer) Sign(ctx context.Context, h roamsign.Hash, opts Options) ([]byte, error) {
	const op = "signer.Sign"
	if err := s.check(op, opts); err != nil {
		return nil, err
	}
	return s.sign(ctx, op, h, opts)
}

// Sign signs one digest with key: a shorthand for New(key, Config{}) and
// [Signer.Sign].
func Sign(ctx context.Context, key crypto.Signer, h roamsign.Hash, opts Options) ([]byte, error) {
	s, err := New(key, Config{})
	if err != nil {
		return nil, err
	}
	return s.Sign(ctx, h, opts)
}

// check validates opts against the key type.
func (s *Signer) check(op string, opts Options) error {
	_, isRSA := s.pub.(*rsa.PublicKey)
	if opts.PSS && !isRSA {
		return roamsign.E(roamsign.ErrInvalidInput, op, "PSS requires an RSA key")
	}
	if opts.RawECDSA && isRSA {
		return roamsign.E(roamsign.ErrInvalidInput, op, "raw r‖s output requires an ECDSA key")
	}
	return nil
}

func signerOpts(h roamsign.HashAlgorithm, pss bool) crypto.SignerOpts {
	if pss {
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h.CryptoHash()}
	}
	return h.CryptoHash()
}

// sign validates h, signs it, verifies as configured and formats the
// result. opts has been checked.
func (s *Signer) sign(ctx context.Context, op string, h roamsign.Hash, opts Options) ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "bad digest")
	}
	sig, err := roamsign.SignContext(ctx, s.key, h.Value, signerOpts(h.Algorithm, opts.PSS))
	if err != nil {
		return nil, roamsign.Wrap(roamsign.KindOf(err), op, err, "key refused to sign")
	}
	switch pub := s.pub.(type) {
	case *rsa.PublicKey:
		if !s.verifyRSA {
			return sig, nil
		}
		if opts.PSS {
			err = rsa.VerifyPSS(pub, h.Algorithm.CryptoHash(), h.Value, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			err = rsa.VerifyPKCS1v15(pub, h.Algorithm.CryptoHash(), h.Value, sig)
		}
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "key returned a signature that does not verify")
		}
		return sig, nil
	case *ecdsa.PublicKey:
		return s.ecdsaOut(op, pub, h.Value, sig, opts.RawECDSA)
	}
	return nil, roamsign.E(roamsign.ErrInternal, op, "unexpected key type")
}

// ecdsaOut checks an ECDSA signature (DER, or r‖s as some keys return
// it), verifies it when configured and encodes it as asked.
func (s *Signer) ecdsaOut(op string, pub *ecdsa.PublicKey, digest, sig []byte, raw bool) ([]byte, error) {
	n := (pub.Curve.Params().BitSize + 7) / 8
	r, ss, isDER := splitDERSig(sig)
	if !isDER {
		if len(sig) != 2*n {
			return nil, roamsign.E(roamsign.ErrInvalidSignature, op, "key returned a malformed ECDSA signature")
		}
		r, ss = sig[:n], sig[n:]
	}
	r, ss = trimZeros(r), trimZeros(ss)
	if len(r) == 0 || len(ss) == 0 || len(r) > n || len(ss) > n {
		return nil, roamsign.E(roamsign.ErrInvalidSignature, op, "key returned an ECDSA signature out of range")
	}
	if s.verifyEC && !ecdsa.Verify(pub, digest, new(big.Int).SetBytes(r), new(big.Int).SetBytes(ss)) {
		return nil, roamsign.E(roamsign.ErrInvalidSignature, op, "key returned a signature that does not verify")
	}
	if raw {
		out := make([]byte, 2*n)
		copy(out[n-len(r):n], r)
		copy(out[2*n-len(ss):], ss)
		return out, nil
	}
	if isDER {
		return sig, nil
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, 2*n+8))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(r))
		b.AddASN1BigInt(new(big.Int).SetBytes(ss))
	})
	return b.Bytes()
}

// splitDERSig splits a DER ECDSA-Sig-Value ::= SEQUENCE { r INTEGER,
// s INTEGER } into the big-endian magnitudes of two positive integers.
func splitDERSig(sig []byte) (r, s []byte, ok bool) {
	in := cryptobyte.String(sig)
	var seq, ri, si cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&ri, cbasn1.INTEGER) || !seq.ReadASN1(&si, cbasn1.INTEGER) || !seq.Empty() {
		return nil, nil, false
	}
	// DER integers are minimal; a positive one starts with a clear top bit
	// or a single 0x00 before a set top bit.
	for _, v := range []cryptobyte.String{ri, si} {
		if len(v) == 0 || v[0]&0x80 != 0 || len(v) > 1 && v[0] == 0 && v[1]&0x80 == 0 {
			return nil, nil, false
		}
	}
	return ri, si, true
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	return b
}
