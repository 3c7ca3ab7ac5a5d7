package hsm_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"
	"log"
	"os"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
)

// Open a PKCS#11 token by URI, generate a key in it and sign a digest. The
// PIN comes from a file; the key never leaves the token.
func ExampleOpenPKCS11() {
	ctx := context.Background()
	ks, err := hsm.OpenPKCS11(ctx, hsm.PKCS11Config{
		URI:      "pkcs11:token=signing?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/roamsign/token.pin",
		Sessions: 8,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer ks.Close()

	key, err := ks.Generate(ctx, hsm.GenerateRequest{ID: "user-900101015555", Algorithm: roamsign.RSA2048})
	if err != nil {
		log.Fatal(err)
	}
	digest := sha256.Sum256([]byte("document"))
	sig, err := key.SignContext(ctx, digest[:], crypto.SHA256) // PKCS#1 v1.5
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(sig))
}

// A software key store for development: keys are encrypted at rest under a
// passphrase.
func ExampleOpenSoftware() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "keys")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ks, err := hsm.OpenSoftware(ctx, hsm.SoftwareConfig{Dir: dir, Passphrase: "correct horse battery staple", Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	defer ks.Close()

	key, err := ks.Generate(ctx, hsm.GenerateRequest{ID: "demo", Algorithm: roamsign.ECP256})
	if err != nil {
		log.Fatal(err)
	}
	digest := sha256.Sum256([]byte("document"))
	sig, err := key.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(key.Algorithm(), ecdsa.VerifyASN1(key.Public().(*ecdsa.PublicKey), digest[:], sig))

	// A digest of the wrong length is a typed error.
	_, err = key.Sign(nil, digest[:20], crypto.SHA256)
	fmt.Println(roamsign.KindOf(err).Code())
	// Output:
	// EC-P256 true
	// invalid_input
}

func ExampleParseURI() {
	u, err := hsm.ParseURI("pkcs11:token=My%20Token;id=user-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Token, string(u.ID), u.ModulePath)
	fmt.Println(u) // the PIN is redacted

	_, err = hsm.ParseURI("pkcs11:token=a?pin-value=1234&pin-source=/etc/pin")
	fmt.Println(roamsign.KindOf(err).Code())
	// Output:
	// My Token user-1 /usr/lib/softhsm/libsofthsm2.so
	// pkcs11:token=My%20Token;id=user-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=%5Bredacted%5D
	// invalid_input
}
