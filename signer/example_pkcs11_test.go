//go:build cgo

package signer_test

import (
	"context"
	"fmt"
	"log"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/signer"
)

// Sign a batch of hashes with a key in a PKCS #11 token (SoftHSM here),
// spread over the store's session pool. Not run: it needs a token.
func ExampleNew_pkcs11() {
	ctx := context.Background()
	store, err := hsm.OpenPKCS11(ctx, hsm.PKCS11Config{
		URI:      "pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/roamsign/token.pin",
		Sessions: 4,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	key, err := store.Key(ctx, "user-900101145678")
	if err != nil {
		log.Fatal(err)
	}
	s, err := signer.New(key, signer.Config{}) // 4 signatures at a time: the key reports its sessions
	if err != nil {
		log.Fatal(err)
	}
	results, err := s.SignBatch(ctx, []roamsign.Hash{
		roamsign.NewHash(roamsign.SHA256, []byte("page 1")),
		roamsign.NewHash(roamsign.SHA256, []byte("page 2")),
	}, signer.Options{})
	if err != nil {
		log.Printf("some items failed: %v", err)
	}
	for i, r := range results {
		fmt.Println(i, r.Status, len(r.Signature))
	}
}
