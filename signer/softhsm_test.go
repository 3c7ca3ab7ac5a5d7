//go:build cgo

package signer_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/softhsmtest"
	"github.com/roamsign/roamsign/signer"
)

// hsmKey opens a SoftHSM token through package hsm with the given number of
// sessions and generates a key in it.
func hsmKey(tb testing.TB, alg roamsign.KeyAlgorithm, sessions int) (*softhsmtest.Token, hsm.Key) {
	tb.Helper()
	tok := softhsmtest.New(tb)
	store, err := hsm.OpenPKCS11(context.Background(), hsm.PKCS11Config{URI: tok.URI(), Sessions: sessions})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = store.Close() })
	key, err := store.Generate(context.Background(), hsm.GenerateRequest{Algorithm: alg})
	require.NoError(tb, err)
	return tok, key
}

func TestSoftHSMBatch(t *testing.T) {
	for _, c := range []struct {
		alg  roamsign.KeyAlgorithm
		opts signer.Options
	}{
		{roamsign.RSA2048, signer.Options{}},
		{roamsign.RSA2048, signer.Options{PSS: true}},
		{roamsign.ECP256, signer.Options{}},
		{roamsign.ECP384, signer.Options{RawECDSA: true}},
	} {
		t.Run(fmt.Sprintf("%s %+v", c.alg, c.opts), func(t *testing.T) {
			_, key := hsmKey(t, c.alg, 3)
			cc, ok := key.(roamsign.Concurrent)
			require.True(t, ok, "an hsm key reports its session count through roamsign.Concurrent")
			require.Equal(t, 3, cc.Concurrency())
			s, err := signer.New(key, signer.Config{VerifyECDSA: true})
			require.NoError(t, err)
			hs := digests(24)
			hs[5] = roamsign.NewHash(roamsign.SHA512, []byte("five"))
			hs[9] = roamsign.Hash{Algorithm: roamsign.SHA384, Value: hs[9].Value} // wrong length
			res, err := s.SignBatch(context.Background(), hs, c.opts)
			require.Error(t, err, "bad item not reported")
			for i, r := range res {
				if i == 9 {
					require.False(t, r.Signed(), "bad digest reported signed")
					continue
				}
				require.True(t, r.Signed(), "item %d: %v", i, r.Err)
				verify(t, key.Public(), hs[i], r.Signature, c.opts)
			}
		})
	}
}

// rawPool is the baseline: the same number of logged-in sessions on the
// same token, driven directly through miekg/pkcs11.
type rawPool struct {
	p        *pkcs11.Ctx
	sessions []pkcs11.SessionHandle
	key      pkcs11.ObjectHandle
	mech     []*pkcs11.Mechanism
	rsa      bool
}

func newRawPool(tb testing.TB, tok *softhsmtest.Token, key hsm.Key, n int) *rawPool {
	tb.Helper()
	p := softhsmtest.Module(tb)
	rp := &rawPool{p: p}
	id, err := hex.DecodeString(key.ID())
	if err != nil {
		id = []byte(key.ID())
	}
	for range n {
		rp.sessions = append(rp.sessions, tok.Session(tb, p))
	}
	find := func(id []byte) []pkcs11.ObjectHandle {
		s := rp.sessions[0]
		tmpl := []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), pkcs11.NewAttribute(pkcs11.CKA_ID, id)}
		require.NoError(tb, p.FindObjectsInit(s, tmpl))
		hs, _, err := p.FindObjects(s, 2)
		require.NoError(tb, err)
		_ = p.FindObjectsFinal(s)
		return hs
	}
	hs := find(id)
	if len(hs) != 1 {
		hs = find([]byte(key.ID()))
	}
	if len(hs) != 1 {
		tb.Fatalf("raw baseline: key %s not found", key.ID())
	}
	rp.key = hs[0]
	if _, ok := key.Public().(*ecdsa.PublicKey); ok {
		rp.mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}
	} else {
		rp.rsa = true
		rp.mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}
	}
	return rp
}

// sha256Prefix is the DigestInfo prefix of a SHA-256 digest (RFC 8017).
var sha256Prefix = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// signAll signs every digest, one goroutine per session, each taking the
// next unsigned digest.
func (rp *rawPool) signAll(tb testing.TB, hs []roamsign.Hash) {
	var wg sync.WaitGroup
	var next atomic.Int64
	for _, s := range rp.sessions {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(hs) {
					return
				}
				h := hs[i]
				data := h.Value
				if rp.rsa {
					data = append(append(make([]byte, 0, 51), sha256Prefix...), h.Value...)
				}
				if err := rp.p.SignInit(s, rp.mech, rp.key); err != nil {
					tb.Error(err)
					return
				}
				if _, err := rp.p.Sign(s, data); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkSoftHSMBatch signs batches of 1000 SHA-256 digests on a SoftHSM
// key, alternating the raw miekg/pkcs11 baseline (same number of sessions,
// same token) and signer.SignBatch over package hsm, and reports both
// rates and their ratio.
func BenchmarkSoftHSMBatch(b *testing.B) {
	const sessions, batch = 2, 1000
	for _, alg := range []roamsign.KeyAlgorithm{roamsign.RSA2048, roamsign.ECP256} {
		b.Run(string(alg), func(b *testing.B) {
			tok, key := hsmKey(b, alg, sessions)
			raw := newRawPool(b, tok, key, sessions)
			s, err := signer.New(key, signer.Config{})
			require.NoError(b, err)
			hs := digests(batch)
			ctx := context.Background()
			var mRaw, mBatch, mKey meter
			runRaw := func() { raw.signAll(b, hs) }
			runBatch := func() {
				if _, err := s.SignBatch(ctx, hs, signer.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			// The hsm key alone, driven like the raw baseline: separates the
			// key store's cost from the batch signer's.
			runKey := func() {
				var wg sync.WaitGroup
				var next atomic.Int64
				for range sessions {
					wg.Go(func() {
						for {
							i := int(next.Add(1) - 1)
							if i >= len(hs) {
								return
							}
							if _, err := key.SignContext(ctx, hs[i].Value, crypto.SHA256); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
			}
			steps := []func(){func() { mRaw.run(runRaw) }, func() { mBatch.run(runBatch) }, func() { mKey.run(runKey) }}
			i := 0
			for b.Loop() {
				// Rotate the order so that no side always runs first.
				for j := range steps {
					steps[(i+j)%len(steps)]()
				}
				i++
			}
			report(b, float64(b.N)*batch, []string{"raw", "batch", "hsmkey"}, []*meter{&mRaw, &mBatch, &mKey})
		})
	}
}

// Keys of package hsm take a context.
var _ roamsign.ContextSigner = hsm.Key(nil)
