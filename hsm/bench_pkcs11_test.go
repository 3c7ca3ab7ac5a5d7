//go:build cgo

package hsm_test

import (
	"context"
	"crypto"
	"fmt"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/softhsmtest"
)

// digestInfoSHA256 is the DER prefix of a SHA-256 DigestInfo: the raw
// baseline signs a prepared DigestInfo, the key store builds it per call.
var digestInfoSHA256 = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// BenchmarkPKCS11Sign compares, in one run, a raw miekg/pkcs11 loop
// (C_SignInit + C_Sign on one session per goroutine) with Key.SignContext
// on a store whose pool has as many sessions as there are goroutines.
//
//	go test -run '^$' -bench PKCS11Sign -benchtime 2000x ./hsm
func BenchmarkPKCS11Sign(b *testing.B) {
	ctx := context.Background()
	tok := softhsmtest.New(b)
	p := softhsmtest.Module(b)
	gen, err := hsm.OpenPKCS11(ctx, hsm.PKCS11Config{URI: tok.URI(), Sessions: 1, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer gen.Close()
	algs := []struct {
		name string
		alg  roamsign.KeyAlgorithm
		mech uint
	}{
		{"RSA2048", roamsign.RSA2048, pkcs11.CKM_RSA_PKCS},
		{"P256", roamsign.ECP256, pkcs11.CKM_ECDSA},
	}
	digest := digestOf(crypto.SHA256, "benchmark")
	for _, a := range algs {
		if _, err := gen.Generate(ctx, hsm.GenerateRequest{ID: a.name, Algorithm: a.alg}); err != nil {
			b.Fatal(err)
		}
	}
	for _, a := range algs {
		data := digest
		if a.mech == pkcs11.CKM_RSA_PKCS {
			data = append(append([]byte(nil), digestInfoSHA256...), digest...)
		}
		for _, g := range []int{1, 2, 8} {
			// Fixtures: g raw sessions, and a store with g sessions.
			sessions := make([]pkcs11.SessionHandle, g)
			handles := make([]pkcs11.ObjectHandle, g)
			for i := range sessions {
				sessions[i] = tok.Session(b, p)
				handles[i] = findKey(b, p, sessions[i], a.name)
			}
			mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(a.mech, nil)}
			raw := func(w int) error {
				if err := p.SignInit(sessions[w], mech, handles[w]); err != nil {
					return err
				}
				_, err := p.Sign(sessions[w], data)
				return err
			}
			ks, err := hsm.OpenPKCS11(ctx, hsm.PKCS11Config{URI: tok.URI(), Sessions: g, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer ks.Close()
			k, err := ks.Key(ctx, a.name)
			if err != nil {
				b.Fatal(err)
			}
			warm(b, k, g, digest) // open every pooled session before timing
			store := func(int) error {
				_, err := k.SignContext(ctx, digest, crypto.SHA256)
				return err
			}
			b.Run(fmt.Sprintf("%s/g=%d/raw", a.name, g), func(b *testing.B) { runSplit(b, g, raw) })
			b.Run(fmt.Sprintf("%s/g=%d/keystore", a.name, g), func(b *testing.B) { runSplit(b, g, store) })
			// paired alternates raw and key-store batches of 64 signatures so
			// both see the same machine load, and reports the rate ratio.
			b.Run(fmt.Sprintf("%s/g=%d/paired", a.name, g), func(b *testing.B) { runPaired(b, g, raw, store) })
		}
	}
}

func warm(b *testing.B, k hsm.Key, g int, digest []byte) {
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 4; j++ {
				if _, err := k.Sign(nil, digest, crypto.SHA256); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func findKey(b *testing.B, p *pkcs11.Ctx, s pkcs11.SessionHandle, id string) pkcs11.ObjectHandle {
	b.Helper()
	hs := findRaw(b, p, s, pkcs11.CKO_PRIVATE_KEY, id, 1)
	if len(hs) != 1 {
		b.Fatalf("find %s: none", id)
	}
	return hs[0]
}
