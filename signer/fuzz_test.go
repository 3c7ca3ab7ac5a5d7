package signer_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"io"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer"
)

// fixedKey returns whatever bytes it is given as its signature.
type fixedKey struct {
	pub crypto.PublicKey
	sig []byte
}

func (f fixedKey) Public() crypto.PublicKey                                  { return f.pub }
func (f fixedKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return f.sig, nil }

// FuzzECDSASignatureFromKey feeds arbitrary key output to the signature
// checks: no panic, a typed error, and nothing reported signed that does
// not verify.
func FuzzECDSASignatureFromKey(f *testing.F) {
	_, e256, _ := keys(f)
	h := roamsign.NewHash(roamsign.SHA256, []byte("fuzz"))
	good, _ := e256.Sign(nil, h.Value, crypto.SHA256)
	f.Add(good, false)
	f.Add(good, true)
	f.Add(make([]byte, 64), true)
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, false)
	f.Fuzz(func(t *testing.T, sig []byte, raw bool) {
		s, err := signer.New(fixedKey{e256.Public(), sig}, signer.Config{VerifyECDSA: true})
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Sign(context.Background(), h, signer.Options{RawECDSA: raw})
		if err != nil {
			if roamsign.KindOf(err) != roamsign.ErrInvalidSignature {
				t.Fatalf("kind %v: %v", roamsign.KindOf(err), err)
			}
			return
		}
		ok := false
		if raw {
			ok = len(out) == 64 && ecdsaVerifyRaw(&e256.PublicKey, h.Value, out)
		} else {
			ok = ecdsa.VerifyASN1(&e256.PublicKey, h.Value, out)
		}
		if !ok {
			t.Fatalf("signature reported signed does not verify: %x", out)
		}
	})
}
