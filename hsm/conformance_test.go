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

	"github.com/stretchr/testify/require"

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
	require.Error(t, err, "want kind %v", kind.Code())
	require.ErrorIs(t, err, kind, "got kind %v, want %v", roamsign.KindOf(err), kind.Code())
}

// generate creates a key and fails the test when that fails.
func generate(t testing.TB, ks hsm.KeyStore, req hsm.GenerateRequest) hsm.Key {
	t.Helper()
	k, err := ks.Generate(context.Background(), req)
	require.NoError(t, err)
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
	require.NoError(t, verifyErr(pub, h, digest, sig, opts))
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

// conformanceTests are the test bodies every KeyStore passes, named as
// store/storetest.Run names its own. Each gets a fresh, empty store.
var conformanceTests = []struct {
	name string
	fn   func(*testing.T, hsm.KeyStore)
}{
	{"SignVerify", testSignVerify},
	{"GenerateDefaults", testGenerateDefaults},
	{"Chain", testChain},
	{"Delete", testDelete},
	{"MAC", testMAC},
	{"Readiness", testReadiness},
	{"Close", testClose},
}

// runConformance runs conformanceTests against stores from open, which
// must return a fresh, empty store; the suite closes it.
func runConformance(t *testing.T, open func(t *testing.T) hsm.KeyStore) {
	for _, tc := range conformanceTests {
		t.Run(tc.name, func(t *testing.T) {
			ks := open(t)
			t.Cleanup(func() { _ = ks.Close() })
			tc.fn(t, ks)
		})
	}
}

// testSignVerify signs with a key of every algorithm, then lists them.
func testSignVerify(t *testing.T, ks hsm.KeyStore) {
	for _, alg := range allAlgorithms {
		t.Run(string(alg), func(t *testing.T) { checkSigns(t, ks, alg) })
	}
	list, err := ks.List(context.Background())
	require.NoError(t, err)
	require.Len(t, list, len(allAlgorithms), "List: %+v", list)
	for i, ki := range list {
		if i > 0 {
			require.Less(t, list[i-1].ID, ki.ID, "List is not sorted by ID")
		}
		require.Equal(t, "k-"+strings.ToLower(string(ki.Algorithm)), ki.ID, "List entry %+v", ki)
		require.Equal(t, "label "+ki.ID, ki.Label, "List entry %+v", ki)
	}
}

// checkSigns generates a key of alg and checks its signatures with every
// hash (and PSS salt for RSA), its refusals of bad input and a cancelled
// context, and that looking it up again gives the same key.
func checkSigns(t *testing.T, ks hsm.KeyStore, alg roamsign.KeyAlgorithm) {
	ctx := context.Background()
	id := "k-" + strings.ToLower(string(alg))
	k := generate(t, ks, hsm.GenerateRequest{ID: id, Label: "label " + id, Algorithm: alg})
	require.Equal(t, id, k.ID())
	require.Equal(t, "label "+id, k.Label())
	require.Equal(t, alg, k.Algorithm())
	require.GreaterOrEqual(t, k.Concurrency(), 1, "key does not report its concurrency")
	_, isRSA := k.Public().(*rsa.PublicKey)
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		d := digestOf(h, "message "+string(alg))
		sig, err := k.Sign(nil, d, h)
		require.NoError(t, err, "%v", h)
		verify(t, k.Public(), h, d, sig, h)
		// A signature is over this digest only.
		if pub, ok := k.Public().(*ecdsa.PublicKey); ok {
			require.False(t, ecdsa.VerifyASN1(pub, digestOf(h, "another"), sig), "signature verifies for another digest")
		}
		if !isRSA {
			continue
		}
		for _, salt := range []int{rsa.PSSSaltLengthEqualsHash, rsa.PSSSaltLengthAuto, 20} {
			opts := &rsa.PSSOptions{SaltLength: salt, Hash: h}
			sig, err := k.SignContext(ctx, d, opts)
			require.NoError(t, err, "PSS %v salt %d", h, salt)
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
	require.ErrorIs(t, err, context.Canceled, "cancelled context")
	// Looked up again, it is the same key.
	k2, err := ks.Key(ctx, id)
	require.NoError(t, err)
	require.True(t, k2.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()), "lookup returned another key")
	require.Equal(t, alg, k2.Algorithm())
	require.Equal(t, k.Label(), k2.Label())
}

// testGenerateDefaults checks the defaults of a generate request and the
// refusals of bad ones.
func testGenerateDefaults(t *testing.T, ks hsm.KeyStore) {
	ctx := context.Background()
	k := generate(t, ks, hsm.GenerateRequest{Algorithm: roamsign.ECP256})
	require.Len(t, k.ID(), 32, "default id")
	require.Equal(t, k.ID(), k.Label(), "default label")
	def := generate(t, ks, hsm.GenerateRequest{ID: "default-alg"})
	require.Equal(t, roamsign.RSA2048, def.Algorithm(), "default algorithm")
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
}

// testChain imports, refuses and replaces a key's certificate chain.
func testChain(t *testing.T, ks hsm.KeyStore) {
	ctx := context.Background()
	k := generate(t, ks, hsm.GenerateRequest{Algorithm: roamsign.ECP256})
	def := generate(t, ks, hsm.GenerateRequest{ID: "default-alg"})
	chain, err := ks.Chain(ctx, k.ID())
	require.NoError(t, err)
	require.Empty(t, chain, "chain before import")
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	inter, err := root.NewIntermediate(testpki.Options{Name: "Test Sub CA"})
	require.NoError(t, err)
	leaf, err := inter.IssueLeaf("ALI BIN ABU", "900101015555", k.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	want := append([]*x509.Certificate{leaf}, inter.Chain()...)
	require.NoError(t, ks.ImportChain(ctx, k.ID(), want))
	got, err := ks.Chain(ctx, k.ID())
	require.NoError(t, err)
	sameChain(t, got, want)
	other, err := inter.IssueLeaf("OTHER", "900101015556", def.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	wantKind(t, ks.ImportChain(ctx, k.ID(), []*x509.Certificate{other}), roamsign.ErrInvalidInput)
	wantKind(t, ks.ImportChain(ctx, k.ID(), nil), roamsign.ErrInvalidInput)
	wantKind(t, ks.ImportChain(ctx, "absent", want), roamsign.ErrNotFound)
	got, _ = ks.Chain(ctx, k.ID())
	sameChain(t, got, want) // a rejected import changes nothing
	leaf2, err := root.IssueLeaf("ALI BIN ABU", "900101015555", k.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	require.NoError(t, ks.ImportChain(ctx, k.ID(), []*x509.Certificate{leaf2, root.Cert}))
	got, _ = ks.Chain(ctx, k.ID())
	sameChain(t, got, []*x509.Certificate{leaf2, root.Cert})
}

// testDelete deletes a key with a chain: a Key held by a caller no longer
// signs, not even once the ID names a new key.
func testDelete(t *testing.T, ks hsm.KeyStore) {
	ctx := context.Background()
	k := generate(t, ks, hsm.GenerateRequest{Algorithm: roamsign.ECP256})
	generate(t, ks, hsm.GenerateRequest{ID: "default-alg"})
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	leaf, err := root.IssueLeaf("ALI BIN ABU", "900101015555", k.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	require.NoError(t, ks.ImportChain(ctx, k.ID(), []*x509.Certificate{leaf, root.Cert}))

	require.NoError(t, ks.Delete(ctx, k.ID()))
	_, err = k.Sign(nil, digestOf(crypto.SHA256, "x"), crypto.SHA256)
	wantKind(t, err, roamsign.ErrNotFound)
	_, err = ks.Key(ctx, k.ID())
	wantKind(t, err, roamsign.ErrNotFound)
	wantKind(t, ks.Delete(ctx, k.ID()), roamsign.ErrNotFound)
	_, err = ks.Chain(ctx, k.ID())
	wantKind(t, err, roamsign.ErrNotFound)
	list, err := ks.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "List after delete: %+v", list)
	require.Equal(t, "default-alg", list[0].ID)
	// The ID can be used again; the old Key value never signs with the
	// new key.
	generate(t, ks, hsm.GenerateRequest{ID: k.ID(), Algorithm: roamsign.ECP256})
	_, err = k.Sign(nil, digestOf(crypto.SHA256, "x"), crypto.SHA256)
	wantKind(t, err, roamsign.ErrNotFound)
	got, _ := ks.Chain(ctx, k.ID())
	require.Empty(t, got, "a new key inherited the old key's chain")
}

// testMAC makes, uses, looks up and deletes MAC keys beside a signing key
// with the same ID.
func testMAC(t *testing.T, ks hsm.KeyStore) {
	ctx := context.Background()
	ms, ok := ks.(hsm.MACKeyStore)
	require.True(t, ok, "store has no MAC keys")
	// A signing key and a MAC key may share an ID.
	generate(t, ks, hsm.GenerateRequest{ID: "pepper", Algorithm: roamsign.ECP256})
	m, err := ms.GenerateMAC(ctx, "pepper")
	require.NoError(t, err)
	other, err := ms.GenerateMAC(ctx, "otp-mac")
	require.NoError(t, err)
	_, err = ms.GenerateMAC(ctx, "pepper")
	wantKind(t, err, roamsign.ErrConflict)
	_, err = ms.GenerateMAC(ctx, "../x")
	wantKind(t, err, roamsign.ErrInvalidInput)
	a1, err := m.MAC(ctx, []byte("123456"))
	require.NoError(t, err)
	a2, _ := m.MAC(ctx, []byte("123456"))
	b1, _ := m.MAC(ctx, []byte("123457"))
	c1, _ := other.MAC(ctx, []byte("123456"))
	require.Len(t, a1, 32)
	require.Equal(t, a1, a2, "MAC is not deterministic")
	require.NotEqual(t, a1, b1, "MAC ignores its input")
	require.NotEqual(t, a1, c1, "MAC ignores its key")
	_, err = m.MAC(ctx, make([]byte, hsm.MaxMACInput+1))
	wantKind(t, err, roamsign.ErrTooLarge)
	again, err := ms.MACKey(ctx, "pepper")
	require.NoError(t, err)
	require.Equal(t, "pepper", again.ID())
	a3, _ := again.MAC(ctx, []byte("123456"))
	require.Equal(t, a1, a3, "looked-up MAC key differs")
	_, err = ms.MACKey(ctx, "absent")
	wantKind(t, err, roamsign.ErrNotFound)
	// MAC keys are not signing keys, and deleting one leaves the other.
	list, _ := ks.List(ctx)
	require.Len(t, list, 1, "List shows MAC keys: %+v", list)
	require.NoError(t, ms.DeleteMAC(ctx, "pepper"))
	_, err = m.MAC(ctx, []byte("123456"))
	wantKind(t, err, roamsign.ErrNotFound)
	_, err = ms.MACKey(ctx, "pepper")
	wantKind(t, err, roamsign.ErrNotFound)
	wantKind(t, ms.DeleteMAC(ctx, "pepper"), roamsign.ErrNotFound)
	_, err = ks.Key(ctx, "pepper")
	require.NoError(t, err, "signing key gone with the MAC key")
	require.NoError(t, ks.Delete(ctx, "pepper"))
	_, err = other.MAC(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, ks.Close())
	_, err = other.MAC(ctx, nil)
	wantKind(t, err, roamsign.ErrClosed)
	_, err = ms.MACKey(ctx, "otp-mac")
	wantKind(t, err, roamsign.ErrClosed)
}

// testReadiness checks the readiness probe: it needs the MAC keys it is
// given; a signing key deleted through the store is not missing.
func testReadiness(t *testing.T, ks hsm.KeyStore) {
	ctx := context.Background()
	ms, ok := ks.(hsm.MACKeyStore)
	require.True(t, ok, "store has no MAC keys")
	_, err := ms.GenerateMAC(ctx, "otp-mac")
	require.NoError(t, err)
	ready := hsm.ReadinessCheck(ks, "otp-mac")
	require.NoError(t, ready(ctx))
	wantKind(t, hsm.ReadinessCheck(ks, "otp-mac", "absent")(ctx), roamsign.ErrUnavailable)
	wantKind(t, hsm.ReadinessCheck(ks, "../x")(ctx), roamsign.ErrInvalidInput)
	k := generate(t, ks, hsm.GenerateRequest{ID: "user", Algorithm: roamsign.ECP256})
	_, err = k.SignContext(ctx, digestOf(crypto.SHA256, "x"), crypto.SHA256)
	require.NoError(t, err)
	require.NoError(t, ready(ctx))
	require.NoError(t, ks.Delete(ctx, "user"))
	require.NoError(t, ready(ctx), "a key deleted through the store counts as missing")
	require.NoError(t, ms.DeleteMAC(ctx, "otp-mac"))
	wantKind(t, ready(ctx), roamsign.ErrUnavailable)
}

// testClose closes the store twice, then every method and a held key
// answer ErrClosed.
func testClose(t *testing.T, ks hsm.KeyStore) {
	ctx := context.Background()
	k := generate(t, ks, hsm.GenerateRequest{ID: "c", Algorithm: roamsign.ECP256})
	d := digestOf(crypto.SHA256, "x")
	_, err := k.Sign(nil, d, crypto.SHA256)
	require.NoError(t, err)
	require.NoError(t, ks.Close())
	require.NoError(t, ks.Close(), "second Close")
	_, err = k.Sign(nil, d, crypto.SHA256)
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
}

func sameChain(t *testing.T, got, want []*x509.Certificate) {
	t.Helper()
	require.Len(t, got, len(want), "chain length")
	for i := range got {
		require.True(t, got[i].Equal(want[i]), "certificate %d differs", i)
	}
}
