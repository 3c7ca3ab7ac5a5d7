package service

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"runtime"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/parallel"
)

// The batch loops of the raw forms ([RawSigner], [RawPSSSigner]): one home
// for the workers, the order of the results and the errors.

// signEach signs every hash with key, opts giving each hash's signer
// options, at most workers (zero: 4) at a time; the signatures are in the
// order of hashes.
func signEach(ctx context.Context, op string, workers int, key crypto.Signer, hashes []roamsign.Hash, opts func(roamsign.Hash) crypto.SignerOpts) ([][]byte, error) {
	if workers <= 0 {
		workers = 4
	}
	sigs := make([][]byte, len(hashes))
	err := parallel.Each(ctx, workers, len(hashes), func(i int) error {
		sig, err := roamsign.SignContext(ctx, key, hashes[i].Value, opts(hashes[i]))
		if err != nil {
			return roamsign.Wrap(kindOr(err, roamsign.ErrUnavailable), op, err, fmt.Sprintf("signing hash %d", i))
		}
		sigs[i] = sig
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sigs, nil
}

// checkEach verifies every signature against the leaf certificate's key
// with verify, concurrently; any failure is ErrInvalidSignature.
func checkEach(ctx context.Context, op string, chain []*x509.Certificate, hashes []roamsign.Hash, sigs [][]byte, verify func(pub crypto.PublicKey, h roamsign.Hash, sig []byte) error) error {
	if len(chain) == 0 {
		return roamsign.E(roamsign.ErrInternal, op, "no certificate to check against")
	}
	if len(sigs) != len(hashes) {
		return roamsign.E(roamsign.ErrInvalidSignature, op, "%d signatures for %d hashes", len(sigs), len(hashes))
	}
	pub := chain[0].PublicKey
	return parallel.Each(ctx, runtime.GOMAXPROCS(0), len(hashes), func(i int) error {
		if err := verify(pub, hashes[i], sigs[i]); err != nil {
			return roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, fmt.Sprintf("signature %d does not verify", i))
		}
		return nil
	})
}
