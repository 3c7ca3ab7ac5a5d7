package signer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log"
	"math/big"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer"
)

// Sign the SHA-256 hash of a document with an in-memory P-256 key and
// return r‖s, as a JWS or PKCS #11 consumer expects.
func ExampleSigner_Sign() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, err := signer.New(key, signer.Config{})
	if err != nil {
		log.Fatal(err)
	}
	h := roamsign.NewHash(roamsign.SHA256, []byte("Surat Perakuan 2026/117"))
	sig, err := s.Sign(context.Background(), h, signer.Options{RawECDSA: true})
	if err != nil {
		log.Fatal(err)
	}
	r, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	fmt.Println(len(sig), ecdsa.Verify(&key.PublicKey, h.Value, r, ss))
	// Output: 64 true
}

// Sign a batch: one result per digest, in order, each with its status.
func ExampleSigner_SignBatch() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := signer.New(key, signer.Config{MaxBatch: 100})
	hashes := []roamsign.Hash{
		roamsign.NewHash(roamsign.SHA256, []byte("page 1")),
		{Algorithm: roamsign.SHA256, Value: []byte("too short")},
		roamsign.NewHash(roamsign.SHA384, []byte("page 3")),
	}
	results, err := s.SignBatch(context.Background(), hashes, signer.Options{})
	for i, r := range results {
		fmt.Println(i, r.Status)
	}
	fmt.Println(err != nil)
	// Output:
	// 0 signed
	// 1 failed
	// 2 signed
	// true
}
