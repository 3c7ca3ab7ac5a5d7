package service

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"runtime"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/parallel"
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
	workers := r.Workers
	if workers <= 0 {
		workers = 4
	}
	sigs := make([][]byte, len(hashes))
	err := parallel.Each(ctx, workers, len(hashes), func(i int) error {
		h := hashes[i]
		sig, err := roamsign.SignContext(ctx, key, h.Value, pssOpts(h))
		if err != nil {
			return roamsign.Wrap(kindOr(err, roamsign.ErrUnavailable), op, err, fmt.Sprintf("signing hash %d", i))
		}
		sigs[i] = sig
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return sigs, pssAlgName(hashes), nil
}

// CheckBatch verifies each signature with the leaf certificate's key.
func (RawPSSSigner) CheckBatch(ctx context.Context, chain []*x509.Certificate, hashes []roamsign.Hash, sigs [][]byte) error {
	const op = "service.RawPSSSigner.CheckBatch"
	if len(chain) == 0 {
		return roamsign.E(roamsign.ErrInternal, op, "no certificate to check against")
	}
	if len(sigs) != len(hashes) {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "%d signatures for %d hashes", len(sigs), len(hashes))
	}
	pub, ok := chain[0].PublicKey.(*rsa.PublicKey)
	if !ok {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "certificate key is not RSA")
	}
	return parallel.Each(ctx, runtime.GOMAXPROCS(0), len(hashes), func(i int) error {
		if err := rsa.VerifyPSS(pub, hashes[i].Algorithm.CryptoHash(), hashes[i].Value, sigs[i], pssOpts(hashes[i])); err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, fmt.Sprintf("signature %d does not verify", i))
		}
		return nil
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
