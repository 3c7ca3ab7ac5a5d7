package service

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"

	"github.com/roamsign/roamsign"
)

// RawPSSSigner is the [FormSigner] of [roamsign.FormRawPSS]: a bare
// RSASSA-PSS signature value per hash, MGF1 with the hash's algorithm and
// a salt as long as the hash. ECDSA keys are refused (ErrUnsupported).
// Workers bounds the signatures made concurrently; zero means 4.
type RawPSSSigner struct {
	Workers int
}

var _ FormSigner = RawPSSSigner{}

// SignBatch signs each hash with key.
func (r RawPSSSigner) SignBatch(ctx context.Context, key crypto.Signer, _ []*x509.Certificate, hashes []roamsign.Hash) ([][]byte, string, error) {
	const op = "service.RawPSSSigner.SignBatch"
	if _, ok := key.Public().(*rsa.PublicKey); !ok {
		return nil, "", roamsign.E(roamsign.ErrUnsupported, op, "RSASSA-PSS needs an RSA key")
	}
	sigs, err := signEach(ctx, op, r.Workers, key, hashes, func(h roamsign.Hash) crypto.SignerOpts { return pssOpts(h) })
	if err != nil {
		return nil, "", err
	}
	return sigs, pssAlgName(hashes), nil
}

// CheckBatch verifies each signature with the leaf certificate's key.
func (RawPSSSigner) CheckBatch(ctx context.Context, chain []*x509.Certificate, hashes []roamsign.Hash, sigs [][]byte) error {
	return checkEach(ctx, "service.RawPSSSigner.CheckBatch", chain, hashes, sigs, func(pub crypto.PublicKey, h roamsign.Hash, sig []byte) error {
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return errors.New("certificate key is not RSA")
		}
		return rsa.VerifyPSS(k, h.Algorithm.CryptoHash(), h.Value, sig, pssOpts(h))
	})
}

func pssOpts(h roamsign.Hash) *rsa.PSSOptions {
	return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h.Algorithm.CryptoHash()}
}

func pssAlgName(hashes []roamsign.Hash) string {
	for _, h := range hashes[1:] {
		if h.Algorithm != hashes[0].Algorithm {
			return "RSA-PSS-mixed"
		}
	}
	return hashes[0].Algorithm.String() + "-RSA-PSS"
}
