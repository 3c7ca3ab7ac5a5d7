package hsm_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/testpki"
)

// quiet discards the stores' logs in tests.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// allAlgorithms are the key algorithms every backend supports.
var allAlgorithms = []roamsign.KeyAlgorithm{
	roamsign.RSA2048, roamsign.RSA3072, roamsign.RSA4096,
	roamsign.ECP256, roamsign.ECP384, roamsign.ECP521,
}

func wantKind(t *testing.T, err error, kind roamsign.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", kind.Code())
	}
	if !errors.Is(err, kind) {
		t.Fatalf("got %v (kind %v), want kind %v", err, roamsign.KindOf(err), kind.Code())
	}
}

// generate creates a key and fails the test when that fails.
func generate(t testing.TB, ks hsm.KeyStore, req hsm.GenerateRequest) hsm.Key {
	t.Helper()
	k, err := ks.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func digestOf(h crypto.Hash, msg string) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256([]byte(msg))
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384([]byte(msg))
		return d[:]
	}
	d := sha512.Sum512([]byte(msg))
	return d[:]
}

// verify checks sig over digest with the standard library.
func verify(t testing.TB, pub crypto.PublicKey, h crypto.Hash, digest, sig []byte, opts crypto.SignerOpts) {
	t.Helper()
	if err := verifyErr(pub, h, digest, sig, opts); err != nil {
		t.Fatal(err)
	}
}

func verifyErr(pub crypto.PublicKey, h crypto.Hash, digest, sig []byte, opts crypto.SignerOpts) error {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			if err := rsa.VerifyPSS(p, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: pss.Hash}); err != nil {
				return fmt.Errorf("PSS signature does not verify: %w", err)
			}
			// The documented salt length is the hash length.
			if pss.SaltLength <= 0 {
				if err := rsa.VerifyPSS(p, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}); err != nil {
					return fmt.Errorf("PSS salt is not the hash length: %w", err)
				}
			}
			return nil
		}
		if err := rsa.VerifyPKCS1v15(p, h, digest, sig); err != nil {
			return fmt.Errorf("PKCS#1 v1.5 signature does not verify: %w", err)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(p, digest, sig) {
			return errors.New("ECDSA signature does not verify")
		}
	default:
		return fmt.Errorf("unexpected public key %T", pub)
	}
	return nil
}

// runConformance runs the same test bodies against any KeyStore. open must
// return a fresh, empty store; the suite closes it.
func runConformance(t *testing.T, open func(t *testing.T) hsm.KeyStore) {
	ctx := context.Background()

	t.Run("SignVerify", func(t *testing.T) {
		ks := open(t)
		defer ks.Close()
		for _, alg := range allAlgorithms {
			t.Run(string(alg), func(t *testing.T) {
				id := "k-" + strings.ToLower(string(alg))
				k := generate(t, ks, hsm.GenerateRequest{ID: id, Label: "label " + id, Algorithm: alg})
				if k.ID() != id || k.Label() != "label "+id || k.Algorithm() != alg {
					t.Fatalf("key %q %q %q", k.ID(), k.Label(), k.Algorithm())
				}
				if k.Concurrency() < 1 {
					t.Fatal("key does not report its concurrency")
				}
				_, isRSA := k.Public().(*rsa.PublicKey)
				for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
					d := digestOf(h, "message "+string(alg))
					sig, err := k.Sign(nil, d, h)
					if err != nil {
						t.Fatalf("%v: %v", h, err)
					}
					verify(t, k.Public(), h, d, sig, h)
					// A signature is over this digest only.
					other := digestOf(h, "another")
					if _, ok := k.Public().(*ecdsa.PublicKey); ok && ecdsa.VerifyASN1(k.Public().(*ecdsa.PublicKey), other, sig) {
						t.Fatal("signature verifies for another digest")
					}
					if !isRSA {
						continue
					}
					for _, salt := range []int{rsa.PSSSaltLengthEqualsHash, rsa.PSSSaltLengthAuto, 20} {
						opts := &rsa.PSSOptions{SaltLength: salt, Hash: h}
						sig, err := k.SignContext(ctx, d, opts)
						if err != nil {
							t.Fatalf("PSS %v salt %d: %v", h, salt, err)
						}
						verify(t, k.Public(), h, d, sig, opts)
					}
				}
				// Wrong digest lengths and bad options.
				for _, bad := range [][]byte{nil, make([]byte, 31), make([]byte, 33), make([]byte, 48)} {
					_, err := k.Sign(nil, bad, crypto.SHA256)
					wantKind(t, err, roamsign.ErrInvalidInput)
				}
				_, err := k.Sign(nil, make([]byte, 20), crypto.SHA1)
				wantKind(t, err, roamsign.ErrUnsupported)
				_, err = k.Sign(nil, make([]byte, 32), nil)
				wantKind(t, err, roamsign.ErrInvalidInput)
				_, err = k.Sign(nil, make([]byte, 32), crypto.Hash(0))
				wantKind(t, err, roamsign.ErrInvalidInput)
				_, err = k.Sign(nil, make([]byte, 32), &rsa.PSSOptions{SaltLength: -7, Hash: crypto.SHA256})
				wantKind(t, err, roamsign.ErrInvalidInput)
				if !isRSA {
					_, err = k.Sign(nil, make([]byte, 32), &rsa.PSSOptions{Hash: crypto.SHA256})
					wantKind(t, err, roamsign.ErrInvalidInput)
				}
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				_, err = k.SignContext(cctx, digestOf(crypto.SHA256, "x"), crypto.SHA256)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("cancelled context: %v", err)
				}
				// Looked up again, it is the same key.
				k2, err := ks.Key(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !k2.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) || k2.Algorithm() != alg || k2.Label() != k.Label() {
					t.Fatal("lookup returned another key")
				}
			})
		}
		list, err := ks.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != len(allAlgorithms) {
			t.Fatalf("List: %d keys, want %d: %+v", len(list), len(allAlgorithms), list)
		}
		for i, ki := range list {
			if i > 0 && list[i-1].ID >= ki.ID {
				t.Fatal("List is not sorted by ID")
			}
			if ki.ID != "k-"+strings.ToLower(string(ki.Algorithm)) || ki.Label != "label "+ki.ID {
				t.Fatalf("List entry %+v", ki)
			}
		}
	})

	t.Run("Lifecycle", func(t *testing.T) {
		ks := open(t)
		defer ks.Close()
		k := generate(t, ks, hsm.GenerateRequest{Algorithm: roamsign.ECP256})
		if len(k.ID()) != 32 || k.Label() != k.ID() {
			t.Fatalf("default id/label %q %q", k.ID(), k.Label())
		}
		def := generate(t, ks, hsm.GenerateRequest{ID: "default-alg"})
		if def.Algorithm() != roamsign.RSA2048 {
			t.Fatalf("default algorithm %v", def.Algorithm())
		}
		_, err := ks.Generate(ctx, hsm.GenerateRequest{ID: k.ID(), Algorithm: roamsign.ECP256})
		wantKind(t, err, roamsign.ErrConflict)
		_, err = ks.Generate(ctx, hsm.GenerateRequest{ID: "x", Algorithm: "DSA-1024"})
		wantKind(t, err, roamsign.ErrUnsupported)
		for _, bad := range []string{"../x", ".hidden", "a/b", "a b", strings.Repeat("a", 65), "ä"} {
			_, err = ks.Generate(ctx, hsm.GenerateRequest{ID: bad, Algorithm: roamsign.ECP256})
			wantKind(t, err, roamsign.ErrInvalidInput)
			_, err = ks.Key(ctx, bad)
			wantKind(t, err, roamsign.ErrInvalidInput)
		}
		_, err = ks.Generate(ctx, hsm.GenerateRequest{ID: "long-label", Label: strings.Repeat("l", 129), Algorithm: roamsign.ECP256})
		wantKind(t, err, roamsign.ErrInvalidInput)
		_, err = ks.Key(ctx, "absent")
		wantKind(t, err, roamsign.ErrNotFound)

		// Certificate chain: empty, imported, replaced.
		chain, err := ks.Chain(ctx, k.ID())
		if err != nil || len(chain) != 0 {
			t.Fatalf("chain before import: %v %v", len(chain), err)
		}
		root, err := testpki.NewRoot(testpki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		inter, err := root.NewIntermediate(testpki.Options{Name: "Test Sub CA"})
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := inter.IssueLeaf("ALI BIN ABU", "900101015555", k.Public(), testpki.LeafOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := append([]*x509.Certificate{leaf}, inter.Chain()...)
		if err := ks.ImportChain(ctx, k.ID(), want); err != nil {
			t.Fatal(err)
		}
		got, err := ks.Chain(ctx, k.ID())
		if err != nil {
			t.Fatal(err)
		}
		sameChain(t, got, want)
		other, err := inter.IssueLeaf("OTHER", "900101015556", def.Public(), testpki.LeafOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wantKind(t, ks.ImportChain(ctx, k.ID(), []*x509.Certificate{other}), roamsign.ErrInvalidInput)
		wantKind(t, ks.ImportChain(ctx, k.ID(), nil), roamsign.ErrInvalidInput)
		wantKind(t, ks.ImportChain(ctx, "absent", want), roamsign.ErrNotFound)
		got, _ = ks.Chain(ctx, k.ID())
		sameChain(t, got, want) // a rejected import changes nothing
		leaf2, err := root.IssueLeaf("ALI BIN ABU", "900101015555", k.Public(), testpki.LeafOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := ks.ImportChain(ctx, k.ID(), []*x509.Certificate{leaf2, root.Cert}); err != nil {
			t.Fatal(err)
		}
		got, _ = ks.Chain(ctx, k.ID())
		sameChain(t, got, []*x509.Certificate{leaf2, root.Cert})

		// Delete: a key held by a caller can no longer sign.
		if err := ks.Delete(ctx, k.ID()); err != nil {
			t.Fatal(err)
		}
		_, err = k.Sign(nil, digestOf(crypto.SHA256, "x"), crypto.SHA256)
		wantKind(t, err, roamsign.ErrNotFound)
		_, err = ks.Key(ctx, k.ID())
		wantKind(t, err, roamsign.ErrNotFound)
		wantKind(t, ks.Delete(ctx, k.ID()), roamsign.ErrNotFound)
		_, err = ks.Chain(ctx, k.ID())
		wantKind(t, err, roamsign.ErrNotFound)
		list, err := ks.List(ctx)
		if err != nil || len(list) != 1 || list[0].ID != "default-alg" {
			t.Fatalf("List after delete: %+v %v", list, err)
		}
		// The ID can be used again; the old Key value never signs with the
		// new key.
		generate(t, ks, hsm.GenerateRequest{ID: k.ID(), Algorithm: roamsign.ECP256})
		_, err = k.Sign(nil, digestOf(crypto.SHA256, "x"), crypto.SHA256)
		wantKind(t, err, roamsign.ErrNotFound)
		got, _ = ks.Chain(ctx, k.ID())
		if len(got) != 0 {
			t.Fatal("a new key inherited the old key's chain")
		}
	})

	t.Run("MAC", func(t *testing.T) {
		ks := open(t)
		defer ks.Close()
		ms, ok := ks.(hsm.MACKeyStore)
		if !ok {
			t.Fatal("store has no MAC keys")
		}
		// A signing key and a MAC key may share an ID.
		generate(t, ks, hsm.GenerateRequest{ID: "pepper", Algorithm: roamsign.ECP256})
		m, err := ms.GenerateMAC(ctx, "pepper")
		if err != nil {
			t.Fatal(err)
		}
		other, err := ms.GenerateMAC(ctx, "otp-mac")
		if err != nil {
			t.Fatal(err)
		}
		_, err = ms.GenerateMAC(ctx, "pepper")
		wantKind(t, err, roamsign.ErrConflict)
		_, err = ms.GenerateMAC(ctx, "../x")
		wantKind(t, err, roamsign.ErrInvalidInput)
		a1, err := m.MAC(ctx, []byte("123456"))
		if err != nil {
			t.Fatal(err)
		}
		a2, _ := m.MAC(ctx, []byte("123456"))
		b1, _ := m.MAC(ctx, []byte("123457"))
		c1, _ := other.MAC(ctx, []byte("123456"))
		if len(a1) != 32 || string(a1) != string(a2) || string(a1) == string(b1) || string(a1) == string(c1) {
			t.Fatal("MAC is not a keyed deterministic 32-byte function")
		}
		_, err = m.MAC(ctx, make([]byte, hsm.MaxMACInput+1))
		wantKind(t, err, roamsign.ErrTooLarge)
		again, err := ms.MACKey(ctx, "pepper")
		if err != nil {
			t.Fatal(err)
		}
		if a3, _ := again.MAC(ctx, []byte("123456")); string(a3) != string(a1) || again.ID() != "pepper" {
			t.Fatal("looked-up MAC key differs")
		}
		_, err = ms.MACKey(ctx, "absent")
		wantKind(t, err, roamsign.ErrNotFound)
		// MAC keys are not signing keys, and deleting one leaves the other.
		if list, _ := ks.List(ctx); len(list) != 1 {
			t.Fatalf("List shows MAC keys: %+v", list)
		}
		if err := ms.DeleteMAC(ctx, "pepper"); err != nil {
			t.Fatal(err)
		}
		_, err = m.MAC(ctx, []byte("123456"))
		wantKind(t, err, roamsign.ErrNotFound)
		_, err = ms.MACKey(ctx, "pepper")
		wantKind(t, err, roamsign.ErrNotFound)
		wantKind(t, ms.DeleteMAC(ctx, "pepper"), roamsign.ErrNotFound)
		if _, err := ks.Key(ctx, "pepper"); err != nil {
			t.Fatalf("signing key gone with the MAC key: %v", err)
		}
		if err := ks.Delete(ctx, "pepper"); err != nil {
			t.Fatal(err)
		}
		if _, err := other.MAC(ctx, nil); err != nil {
			t.Fatal(err)
		}
		ks.Close()
		_, err = other.MAC(ctx, nil)
		wantKind(t, err, roamsign.ErrClosed)
		_, err = ms.MACKey(ctx, "otp-mac")
		wantKind(t, err, roamsign.ErrClosed)
	})

	t.Run("Close", func(t *testing.T) {
		ks := open(t)
		k := generate(t, ks, hsm.GenerateRequest{ID: "c", Algorithm: roamsign.ECP256})
		d := digestOf(crypto.SHA256, "x")
		if _, err := k.Sign(nil, d, crypto.SHA256); err != nil {
			t.Fatal(err)
		}
		if err := ks.Close(); err != nil {
			t.Fatal(err)
		}
		if err := ks.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		_, err := k.Sign(nil, d, crypto.SHA256)
		wantKind(t, err, roamsign.ErrClosed)
		_, err = k.SignContext(ctx, d, crypto.SHA256)
		wantKind(t, err, roamsign.ErrClosed)
		_, err = ks.Generate(ctx, hsm.GenerateRequest{ID: "d"})
		wantKind(t, err, roamsign.ErrClosed)
		_, err = ks.Key(ctx, "c")
		wantKind(t, err, roamsign.ErrClosed)
		_, err = ks.List(ctx)
		wantKind(t, err, roamsign.ErrClosed)
		wantKind(t, ks.Delete(ctx, "c"), roamsign.ErrClosed)
		wantKind(t, ks.ImportChain(ctx, "c", nil), roamsign.ErrClosed)
		_, err = ks.Chain(ctx, "c")
		wantKind(t, err, roamsign.ErrClosed)
	})
}

func sameChain(t *testing.T, got, want []*x509.Certificate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("chain of %d certificates, want %d", len(got), len(want))
	}
	for i := range got {
		if !got[i].Equal(want[i]) {
			t.Fatalf("certificate %d differs", i)
		}
	}
}
