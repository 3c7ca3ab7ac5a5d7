package hsm_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
)

// testKDF keeps Argon2id cheap in tests (the minimum memory the store
// accepts).
var testKDF = hsm.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}

func openSoftware(t testing.TB, dir string, pass string) *hsm.SoftwareStore {
	t.Helper()
	ks, err := hsm.OpenSoftware(context.Background(), hsm.SoftwareConfig{Dir: dir, Passphrase: roamsign.Secret(pass), KDF: testKDF, Logger: quiet})
	require.NoError(t, err)
	return ks
}

func TestSoftwareConformance(t *testing.T) {
	t.Parallel() // sequential tests (those that finalise the library) have finished
	runConformance(t, func(t *testing.T) hsm.KeyStore {
		return openSoftware(t, t.TempDir(), "correct horse battery staple")
	})
}

func TestSoftwareAtRest(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "keys") // created by the store
	const pass = "s3cret passphrase"
	ks := openSoftware(t, dir, pass)
	k, err := ks.Generate(ctx, hsm.GenerateRequest{ID: "ec", Algorithm: roamsign.ECP256})
	require.NoError(t, err)
	if _, err := ks.Generate(ctx, hsm.GenerateRequest{ID: "other", Algorithm: roamsign.ECP256}); err != nil {
		t.Fatal(err)
	}
	require.NoError(t, ks.Close())

	// Files are 0600, hold neither the private scalar nor the passphrase,
	// and no temporary files are left behind.
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	pkcs8Header := []byte{0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13} // PKCS#8 P-256
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v", e.Name(), fi.Mode().Perm())
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if bytes.Contains(b, []byte(pass)) {
			t.Fatalf("%s holds the passphrase", e.Name())
		}
		if strings.HasSuffix(e.Name(), ".key") {
			var kf struct{ Sealed []byte }
			require.NoError(t, json.Unmarshal(b, &kf))
			if len(kf.Sealed) < 12+16+100 || bytes.Contains(kf.Sealed, pkcs8Header) {
				t.Fatalf("%s: sealed key looks unencrypted", e.Name())
			}
			if _, err := x509.ParsePKCS8PrivateKey(kf.Sealed[12:]); err == nil {
				t.Fatalf("%s holds a clear PKCS#8 key", e.Name())
			}
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v", fi.Mode().Perm())
	}

	// A wrong passphrase is refused.
	_, err = hsm.OpenSoftware(ctx, hsm.SoftwareConfig{Dir: dir, Passphrase: "wrong", KDF: testKDF})
	wantKind(t, err, roamsign.ErrUnauthenticated)
	if strings.Contains(err.Error(), "wrong") && strings.Contains(err.Error(), pass) {
		t.Fatal("error names a passphrase")
	}
	_, err = hsm.OpenSoftware(ctx, hsm.SoftwareConfig{Dir: dir})
	wantKind(t, err, roamsign.ErrInvalidInput)
	_, err = hsm.OpenSoftware(ctx, hsm.SoftwareConfig{Passphrase: "x"})
	wantKind(t, err, roamsign.ErrInvalidInput)

	// Reopened, the key signs and is the same key.
	ks = openSoftware(t, dir, pass)
	k2, err := ks.Key(ctx, "ec")
	require.NoError(t, err)
	if !k2.Public().(*ecdsa.PublicKey).Equal(k.Public()) {
		t.Fatal("reopened key differs")
	}
	d := digestOf(crypto.SHA256, "persist")
	sig, err := k2.Sign(nil, d, crypto.SHA256)
	require.NoError(t, err)
	verify(t, k.Public(), crypto.SHA256, d, sig, crypto.SHA256)
	ks.Close()

	// Tampering: a changed label, a key file moved to another name and a
	// flipped ciphertext bit are all detected.
	tamper := func(name string, f func(m map[string]any)) {
		t.Helper()
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		f(m)
		b, _ = json.Marshal(m)
		require.NoError(t, os.WriteFile(p, b, 0o600))
	}
	tamper("ec.key", func(m map[string]any) { m["label"] = "evil" })
	ks = openSoftware(t, dir, pass)
	_, err = ks.Key(ctx, "ec")
	wantKind(t, err, roamsign.ErrInternal)
	ks.Close()

	otherBytes, _ := os.ReadFile(filepath.Join(dir, "other.key"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ec.key"), otherBytes, 0o600))
	ks = openSoftware(t, dir, pass)
	_, err = ks.Key(ctx, "ec")
	wantKind(t, err, roamsign.ErrInternal)
	ks.Close()

	tamper("other.key", func(m map[string]any) {
		s := m["sealed"].(string)
		m["sealed"] = s[:10] + string(rune('A'+(s[10]-'A'+1)%26)) + s[11:]
	})
	ks = openSoftware(t, dir, pass)
	_, err = ks.Key(ctx, "other")
	wantKind(t, err, roamsign.ErrInternal)
	ks.Close()

	// A header asking for absurd KDF cost is refused before deriving.
	tamper("keystore.json", func(m map[string]any) {
		m["params"].(map[string]any)["MemoryKiB"] = 1 << 30
	})
	_, err = hsm.OpenSoftware(ctx, hsm.SoftwareConfig{Dir: dir, Passphrase: pass})
	wantKind(t, err, roamsign.ErrInternal)
}

// FuzzSoftwareFiles feeds arbitrary key, MAC and chain files to the
// software store: nothing panics, every error is typed, and nothing but a
// sealed key opens.
func FuzzSoftwareFiles(f *testing.F) {
	ctx := context.Background()
	dir := f.TempDir()
	ks := openSoftware(f, dir, "fuzz passphrase")
	defer ks.Close()
	real, err := ks.Generate(ctx, hsm.GenerateRequest{ID: "real", Algorithm: roamsign.ECP256})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(filepath.Join(dir, "real.key"))
	f.Add(good, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	f.Add([]byte(`{"version":1,"id":"x","algorithm":"EC-P256","sealed":"AAAA"}`), []byte{})
	f.Add([]byte(`{"version":1,"id":"x","sealed":null}`), []byte("garbage"))
	f.Fuzz(func(t *testing.T, keyFile, chainFile []byte) {
		typed := func(err error) {
			if err != nil && roamsign.KindOf(err) == roamsign.KindUnknown {
				t.Fatalf("untyped error %v", err)
			}
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "x.key"), keyFile, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "x.mac"), keyFile, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "real.chain.pem"), chainFile, 0o600))
		if _, err := ks.Key(ctx, "x"); err == nil {
			t.Fatal("a forged key file opened")
		} else {
			typed(err)
		}
		if _, err := ks.MACKey(ctx, "x"); err == nil {
			t.Fatal("a forged MAC key file opened")
		} else {
			typed(err)
		}
		_, err := ks.List(ctx)
		typed(err)
		certs, err := ks.Chain(ctx, real.ID())
		typed(err)
		if err == nil && len(certs) > 0 && !certs[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(real.Public()) {
			t.Fatal("Chain returned a leaf for another key")
		}
	})
}

// The readiness check reads the key files again: a MAC key file or the
// last signing key's file that disappears makes it fail.
func TestSoftwareReadinessMissingKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ks := openSoftware(t, dir, "correct horse battery staple")
	t.Cleanup(func() { _ = ks.Close() })
	_, err := ks.GenerateMAC(ctx, "otp-mac")
	require.NoError(t, err)
	k, err := ks.Generate(ctx, hsm.GenerateRequest{ID: "user", Algorithm: roamsign.ECP256})
	require.NoError(t, err)
	_, err = k.SignContext(ctx, digestOf(crypto.SHA256, "x"), crypto.SHA256)
	require.NoError(t, err)
	ready := hsm.ReadinessCheck(ks, "otp-mac")
	require.NoError(t, ready(ctx))
	require.ErrorIs(t, hsm.ReadinessCheck(ks, "no-such-mac")(ctx), roamsign.ErrUnavailable)

	files, err := filepath.Glob(filepath.Join(dir, "user.*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		require.NoError(t, os.Rename(f, f+".away"))
	}
	require.ErrorIs(t, ready(ctx), roamsign.ErrUnavailable, "the signing key's file is gone")
	for _, f := range files {
		require.NoError(t, os.Rename(f+".away", f))
	}
	require.NoError(t, ready(ctx))
	macs, err := filepath.Glob(filepath.Join(dir, "otp-mac.*"))
	require.NoError(t, err)
	require.Len(t, macs, 1)
	require.NoError(t, os.Remove(macs[0]))
	require.ErrorIs(t, ready(ctx), roamsign.ErrUnavailable, "the MAC key's file is gone")
}
