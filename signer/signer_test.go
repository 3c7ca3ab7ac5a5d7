package signer_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer"
)

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	p256Key  *ecdsa.PrivateKey
	p384Key  *ecdsa.PrivateKey
)

func keys(t testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		p256Key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		p384Key, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	})
	return rsaKey, p256Key, p384Key
}

// verify checks sig over h with pub, as an independent verifier would.
func verify(t *testing.T, pub crypto.PublicKey, h roamsign.Hash, sig []byte, opts signer.Options) {
	t.Helper()
	var ok bool
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if opts.PSS {
			ok = rsa.VerifyPSS(k, h.Algorithm.CryptoHash(), h.Value, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		} else {
			ok = rsa.VerifyPKCS1v15(k, h.Algorithm.CryptoHash(), h.Value, sig) == nil
		}
	case *ecdsa.PublicKey:
		if opts.RawECDSA {
			n := (k.Curve.Params().BitSize + 7) / 8
			if len(sig) != 2*n {
				t.Fatalf("raw signature has %d bytes, want %d", len(sig), 2*n)
			}
			ok = ecdsa.Verify(k, h.Value, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:]))
		} else {
			ok = ecdsa.VerifyASN1(k, h.Value, sig)
		}
	}
	if !ok {
		t.Fatalf("signature does not verify (%T, %v, %+v)", pub, h.Algorithm, opts)
	}
}

func ecdsaVerifyRaw(pub *ecdsa.PublicKey, digest, sig []byte) bool {
	n := len(sig) / 2
	return ecdsa.Verify(pub, digest, new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:]))
}

func TestSignEveryAlgorithm(t *testing.T) {
	r, e256, e384 := keys(t)
	cases := []struct {
		name string
		key  crypto.Signer
		opts signer.Options
	}{
		{"RSA PKCS1v15", r, signer.Options{}},
		{"RSA PSS", r, signer.Options{PSS: true}},
		{"P-256 DER", e256, signer.Options{}},
		{"P-256 raw", e256, signer.Options{RawECDSA: true}},
		{"P-384 DER", e384, signer.Options{}},
		{"P-384 raw", e384, signer.Options{RawECDSA: true}},
	}
	for _, c := range cases {
		for _, alg := range []roamsign.HashAlgorithm{roamsign.SHA256, roamsign.SHA384, roamsign.SHA512} {
			t.Run(c.name+" "+alg.String(), func(t *testing.T) {
				h := roamsign.NewHash(alg, []byte("document "+c.name))
				sig, err := signer.Sign(context.Background(), c.key, h, c.opts)
				require.NoError(t, err)
				verify(t, c.key.Public(), h, sig, c.opts)
			})
		}
	}
}

func TestSignRejectsBadInput(t *testing.T) {
	r, e256, _ := keys(t)
	good := roamsign.NewHash(roamsign.SHA256, []byte("x"))
	cases := []struct {
		name string
		key  crypto.Signer
		h    roamsign.Hash
		opts signer.Options
		kind roamsign.Kind
	}{
		{"short digest", r, roamsign.Hash{Algorithm: roamsign.SHA256, Value: good.Value[:31]}, signer.Options{}, roamsign.ErrInvalidInput},
		{"SHA-384 with 32 bytes", r, roamsign.Hash{Algorithm: roamsign.SHA384, Value: good.Value}, signer.Options{}, roamsign.ErrInvalidInput},
		{"no algorithm", r, roamsign.Hash{Value: good.Value}, signer.Options{}, roamsign.ErrInvalidInput},
		{"PSS with EC", e256, good, signer.Options{PSS: true}, roamsign.ErrInvalidInput},
		{"raw with RSA", r, good, signer.Options{RawECDSA: true}, roamsign.ErrInvalidInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := &countingKey{Signer: c.key}
			_, err := signer.Sign(context.Background(), k, c.h, c.opts)
			require.ErrorIs(t, err, c.kind)
			require.Zero(t, k.calls.Load(), "key used for a bad request")
		})
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	_, err := signer.New(ed, signer.Config{})
	require.ErrorIs(t, err, roamsign.ErrUnsupported, "Ed25519")
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, err = signer.New(small, signer.Config{})
	require.ErrorIs(t, err, roamsign.ErrUnsupported, "RSA-1024")
	_, err = signer.New(nil, signer.Config{})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput, "nil key")
	_, err = signer.New(r, signer.Config{MaxBatch: -1})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput, "negative limit")
}

// countingKey counts calls and, optionally, fails or corrupts chosen
// digests, blocks, or panics.
type countingKey struct {
	crypto.Signer
	calls    atomic.Int64
	fail     func(digest []byte) bool // return an error
	corrupt  func(digest []byte) bool // return a wrong signature
	block    chan struct{}            // when non-nil, SignContext waits for it or ctx
	panicOn  func(digest []byte) bool
	inFlight atomic.Int64
	maxSeen  atomic.Int64
	conc     int
	delay    time.Duration
}

func (k *countingKey) Concurrency() int { return k.conc }

func (k *countingKey) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	k.calls.Add(1)
	n := k.inFlight.Add(1)
	defer k.inFlight.Add(-1)
	for {
		m := k.maxSeen.Load()
		if n <= m || k.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if k.delay > 0 {
		time.Sleep(k.delay)
	}
	if k.block != nil {
		select {
		case <-k.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if k.panicOn != nil && k.panicOn(digest) {
		panic("token removed")
	}
	if k.fail != nil && k.fail(digest) {
		return nil, errors.New("CKR_DEVICE_ERROR")
	}
	sig, err := k.Signer.Sign(rand.Reader, digest, opts)
	if err == nil && k.corrupt != nil && k.corrupt(digest) {
		sig[len(sig)/2] ^= 1
	}
	return sig, err
}

func digests(n int) []roamsign.Hash {
	hs := make([]roamsign.Hash, n)
	for i := range hs {
		hs[i] = roamsign.NewHash(roamsign.SHA256, fmt.Appendf(nil, "document %d", i))
	}
	return hs
}

func TestBatchOrderAndStatus(t *testing.T) {
	r, e256, _ := keys(t)
	for _, c := range []struct {
		name string
		key  crypto.Signer
		opts signer.Options
	}{{"RSA", r, signer.Options{}}, {"RSA PSS", r, signer.Options{PSS: true}}, {"P-256 raw", e256, signer.Options{RawECDSA: true}}} {
		t.Run(c.name, func(t *testing.T) {
			s, err := signer.New(c.key, signer.Config{Concurrency: 4})
			require.NoError(t, err)
			hs := digests(40)
			hs[7] = roamsign.Hash{Algorithm: roamsign.SHA512, Value: hs[7].Value} // wrong length
			res, err := s.SignBatch(context.Background(), hs, c.opts)
			require.ErrorIs(t, err, roamsign.ErrInvalidInput)
			require.Contains(t, err.Error(), "1 of 40")
			require.Len(t, res, len(hs))
			for i, r := range res {
				if i == 7 {
					require.False(t, r.Signed(), "item 7: %+v", r)
					require.Nil(t, r.Signature, "item 7")
					require.ErrorIs(t, r.Err, roamsign.ErrInvalidInput, "item 7")
					require.Contains(t, r.Err.Error(), "item 7")
					continue
				}
				require.True(t, r.Signed(), "item %d: %+v", i, r)
				require.NoError(t, r.Err, "item %d", i)
				require.Equal(t, "signed", r.Status.String(), "item %d", i)
				verify(t, c.key.Public(), hs[i], r.Signature, c.opts) // in input order
			}
		})
	}
}

func TestBatchKeyFailsSomeItems(t *testing.T) {
	r, _, _ := keys(t)
	k := &countingKey{
		Signer:  r,
		conc:    3,
		fail:    func(d []byte) bool { return d[0]%3 == 0 },
		corrupt: func(d []byte) bool { return d[0]%3 == 1 },
		panicOn: func(d []byte) bool { return d[0] == 0x42 },
	}
	s, err := signer.New(k, signer.Config{})
	require.NoError(t, err)
	hs := digests(60)
	hs[10].Value[0] = 0x42
	res, err := s.SignBatch(context.Background(), hs, signer.Options{})
	require.Error(t, err, "no error although items failed")
	var signed, failed int
	for i, r := range res {
		d := hs[i].Value[0]
		switch {
		case d == 0x42:
			require.False(t, r.Signed(), "panicking item %d: %+v", i, r)
			require.ErrorIs(t, r.Err, roamsign.ErrInternal, "panicking item %d", i)
			failed++
		case d%3 == 0:
			require.False(t, r.Signed(), "failing item %d: %+v", i, r)
			require.Nil(t, r.Signature, "failing item %d", i)
			require.ErrorIs(t, r.Err, roamsign.ErrUnavailable, "failing item %d", i)
			failed++
		case d%3 == 1:
			require.False(t, r.Signed(), "corrupted item %d: %+v", i, r)
			require.Nil(t, r.Signature, "corrupted item %d", i)
			require.ErrorIs(t, r.Err, roamsign.ErrInvalidSignature, "corrupted item %d", i)
			failed++
		default:
			require.True(t, r.Signed(), "item %d: %+v", i, r)
			verify(t, k.Public(), hs[i], r.Signature, signer.Options{})
			signed++
		}
	}
	require.NotZero(t, signed)
	require.NotZero(t, failed)
	require.Contains(t, err.Error(), fmt.Sprintf("%d of 60", failed))
}

func TestBatchCorruptECDSAWithVerify(t *testing.T) {
	_, e256, _ := keys(t)
	k := &countingKey{Signer: e256, conc: 2, corrupt: func(d []byte) bool { return d[0]%2 == 0 }}
	s, _ := signer.New(k, signer.Config{VerifyECDSA: true})
	hs := digests(20)
	res, _ := s.SignBatch(context.Background(), hs, signer.Options{})
	for i, r := range res {
		if hs[i].Value[0]%2 == 0 {
			if r.Signed() {
				t.Fatalf("corrupted ECDSA item %d reported signed", i)
			}
			continue
		}
		if !r.Signed() {
			t.Fatalf("item %d: %v", i, r.Err)
		}
		verify(t, e256.Public(), hs[i], r.Signature, signer.Options{})
	}
}

func TestBatchLimit(t *testing.T) {
	_, e256, _ := keys(t)
	k := &countingKey{Signer: e256}
	s, _ := signer.New(k, signer.Config{MaxBatch: 5})
	res, err := s.SignBatch(context.Background(), digests(6), signer.Options{})
	require.ErrorIs(t, err, roamsign.ErrTooLarge, "6 > 5")
	require.Nil(t, res, "6 > 5")
	_, err = s.SignBatch(context.Background(), digests(5), signer.Options{})
	require.NoError(t, err)
	def, _ := signer.New(k, signer.Config{})
	before := k.calls.Load()
	_, err = def.SignBatch(context.Background(), digests(signer.DefaultMaxBatch+1), signer.Options{})
	require.ErrorIs(t, err, roamsign.ErrTooLarge, "default limit")
	_, err = def.SignBatch(context.Background(), nil, signer.Options{})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput, "empty batch")
	require.Equal(t, before, k.calls.Load(), "key used for a refused batch")
}

func TestBatchCancellation(t *testing.T) {
	_, e256, _ := keys(t)
	block := make(chan struct{})
	k := &countingKey{Signer: e256, conc: 2, block: block}
	s, _ := signer.New(k, signer.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	// Let three signatures through, then cancel while the next wait.
	go func() {
		for range 3 {
			block <- struct{}{}
		}
		for k.inFlight.Load() < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	hs := digests(50)
	res, err := s.SignBatch(ctx, hs, signer.Options{})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, roamsign.ErrUnavailable)
	signed := 0
	for i, r := range res {
		if r.Signed() {
			verify(t, e256.Public(), hs[i], r.Signature, signer.Options{})
			signed++
			continue
		}
		require.Nil(t, r.Signature, "item %d", i)
		require.ErrorIs(t, r.Err, context.Canceled, "item %d", i)
	}
	require.Equal(t, 3, signed, "items signed")
	require.LessOrEqual(t, k.calls.Load(), int64(5), "key calls after cancellation")
}

func TestBatchUsesKeyConcurrency(t *testing.T) {
	_, e256, _ := keys(t)
	k := &countingKey{Signer: e256, conc: 3, delay: 5 * time.Millisecond}
	s, _ := signer.New(k, signer.Config{})
	_, err := s.SignBatch(context.Background(), digests(30), signer.Options{})
	require.NoError(t, err)
	require.EqualValues(t, 3, k.maxSeen.Load(), "max parallel signatures: the key's 3")
	k.maxSeen.Store(0)
	s1, _ := signer.New(k, signer.Config{Concurrency: 1})
	_, err = s1.SignBatch(context.Background(), digests(5), signer.Options{})
	require.NoError(t, err)
	require.EqualValues(t, 1, k.maxSeen.Load(), "Concurrency 1: max parallel")
}

func TestBatchLogHasNoDigests(t *testing.T) {
	_, e256, _ := keys(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, _ := signer.New(e256, signer.Config{Logger: log})
	hs := digests(3)
	_, err := s.SignBatch(context.Background(), hs, signer.Options{})
	require.NoError(t, err)
	out := buf.String()
	require.Contains(t, out, "items=3")
	for _, h := range hs {
		require.NotContains(t, out, base64.StdEncoding.EncodeToString(h.Value), "digest in log")
		require.NotContains(t, out, fmt.Sprintf("%x", h.Value), "digest in log")
	}
}

// plainKey hides SignContext so that the Sign path is used.
type plainKey struct{ k crypto.Signer }

func (p plainKey) Public() crypto.PublicKey { return p.k.Public() }
func (p plainKey) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return p.k.Sign(r, d, o)
}

func TestPlainSignerAndCancelledContext(t *testing.T) {
	_, e256, _ := keys(t)
	h := roamsign.NewHash(roamsign.SHA256, []byte("x"))
	sig, err := signer.Sign(context.Background(), plainKey{e256}, h, signer.Options{})
	require.NoError(t, err)
	verify(t, e256.Public(), h, sig, signer.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = signer.Sign(ctx, plainKey{e256}, h, signer.Options{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestRawECDSAFromRawKey(t *testing.T) {
	// A key that returns r‖s (as PKCS #11 does) still gives DER or raw as asked.
	_, _, e384 := keys(t)
	k := rawKey{e384}
	h := roamsign.NewHash(roamsign.SHA384, []byte("x"))
	for _, raw := range []bool{false, true} {
		sig, err := signer.Sign(context.Background(), k, h, signer.Options{RawECDSA: raw})
		require.NoError(t, err)
		verify(t, e384.Public(), h, sig, signer.Options{RawECDSA: raw})
	}
}

type rawKey struct{ k *ecdsa.PrivateKey }

func (r rawKey) Public() crypto.PublicKey { return r.k.Public() }
func (r rawKey) Sign(rnd io.Reader, d []byte, _ crypto.SignerOpts) ([]byte, error) {
	a, b, err := ecdsa.Sign(rnd, r.k, d)
	if err != nil {
		return nil, err
	}
	n := (r.k.Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*n)
	a.FillBytes(out[:n])
	b.FillBytes(out[n:])
	return out, nil
}
