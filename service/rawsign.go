package service

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"

	"github.com/roamsign/roamsign"
)

// RawSigner is the [FormSigner] of [roamsign.FormRaw]: a bare signature
// value per hash (RSA PKCS#1 v1.5 or ECDSA ASN.1 DER) made directly with the
// crypto.Signer, through [roamsign.SignContext]. Workers bounds the signatures made concurrently, which lets
// a pooled HSM key store use several sessions; zero means 4.
type RawSigner struct {
	Workers int
}

var _ FormSigner = RawSigner{}

// SignBatch signs each hash with key.
func (r RawSigner) SignBatch(ctx context.Context, key crypto.Signer, chain []*x509.Certificate, hashes []roamsign.Hash) ([][]byte, string, error) {
	const op = "service.RawSigner.SignBatch"
	alg, err := rawAlgName(key.Public(), hashes)
	if err != nil {
		return nil, "", err
	}
	sigs, err := signEach(ctx, op, r.Workers, key, hashes, func(h roamsign.Hash) crypto.SignerOpts { return h.Algorithm.CryptoHash() })
	if err != nil {
		return nil, "", err
	}
	return sigs, alg, nil
}

// CheckBatch verifies each signature with the leaf certificate's key.
func (RawSigner) CheckBatch(ctx context.Context, chain []*x509.Certificate, hashes []roamsign.Hash, sigs [][]byte) error {
	return checkEach(ctx, "service.RawSigner.CheckBatch", chain, hashes, sigs, verifyRaw)
}

func verifyRaw(pub crypto.PublicKey, h roamsign.Hash, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, h.Algorithm.CryptoHash(), h.Value, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, h.Value, sig) {
			return fmt.Errorf("ecdsa verification failed")
		}
		return nil
	}
	return fmt.Errorf("unsupported public key type %T", pub)
}

func rawAlgName(pub crypto.PublicKey, hashes []roamsign.Hash) (string, error) {
	var kname string
	switch pub.(type) {
	case *rsa.PublicKey:
		kname = "RSA"
	case *ecdsa.PublicKey:
		kname = "ECDSA"
	case ed25519.PublicKey:
		return "", roamsign.E(roamsign.ErrUnsupported, "service.RawSigner", "Ed25519 keys cannot sign precomputed hashes")
	default:
		return "", roamsign.E(roamsign.ErrUnsupported, "service.RawSigner", "unsupported key type %T", pub)
	}
	alg := hashes[0].Algorithm
	for _, h := range hashes[1:] {
		if h.Algorithm != alg {
			return kname + "-mixed", nil
		}
	}
	if kname == "RSA" {
		return alg.String() + "-RSA-PKCS1v15", nil
	}
	return "ECDSA-" + alg.String(), nil
}
