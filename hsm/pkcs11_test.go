//go:build cgo

package hsm_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/softhsmtest"
	"github.com/roamsign/roamsign/internal/testpki"
)

func openPKCS11(t testing.TB, tok *softhsmtest.Token, sessions int) *hsm.PKCS11Store {
	t.Helper()
	ks, err := hsm.OpenPKCS11(context.Background(), hsm.PKCS11Config{URI: tok.URI(), Sessions: sessions, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ks.Close() })
	return ks
}

func TestPKCS11Conformance(t *testing.T) {
	t.Parallel() // sequential tests (those that finalise the library) have finished
	runConformance(t, func(t *testing.T) hsm.KeyStore {
		return openPKCS11(t, softhsmtest.New(t), 2)
	})
}

// 64 goroutines × 200 signatures through a pool of 4 sessions; every
// signature verifies.
func TestPKCS11Concurrency(t *testing.T) {
	t.Parallel() // sequential tests (those that finalise the library) have finished
	tok := softhsmtest.New(t)
	ks := openPKCS11(t, tok, 4)
	ctx := context.Background()
	k := generate(t, ks, hsm.GenerateRequest{ID: "conc", Algorithm: roamsign.ECP256})
	require.Equal(t, 4, k.Concurrency())
	pub := k.Public().(*ecdsa.PublicKey)
	const workers, per = 64, 200
	var wg sync.WaitGroup
	var bad atomic.Int64
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				d := digestOf(crypto.SHA256, fmt.Sprintf("w%d-%d", w, i))
				sig, err := k.SignContext(ctx, d, crypto.SHA256)
				if err != nil {
					errs <- err
					return
				}
				if !ecdsa.VerifyASN1(pub, d, sig) {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Zero(t, bad.Load(), "signatures that do not verify")
}

// A wait for a session ends with the caller's context.
func TestPKCS11SessionWaitCancelled(t *testing.T) {
	tok := softhsmtest.New(t)
	ks := openPKCS11(t, tok, 1)
	ctx := context.Background()
	k := generate(t, ks, hsm.GenerateRequest{ID: "slow", Algorithm: roamsign.RSA2048})
	d := digestOf(crypto.SHA256, "x")
	// Keep the single session busy with RSA signatures while another
	// caller waits with a short deadline; at least one such wait must time out.
	stop := make(chan struct{})
	var busy sync.WaitGroup
	busy.Add(1)
	go func() {
		defer busy.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := k.Sign(nil, d, crypto.SHA256); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	defer func() { close(stop); busy.Wait() }()
	for i := 0; i < 200; i++ {
		cctx, cancel := context.WithTimeout(ctx, 50*time.Microsecond)
		_, err := k.SignContext(cctx, d, crypto.SHA256)
		cancel()
		if err != nil {
			wantKind(t, err, roamsign.ErrUnavailable)
			require.Contains(t, err.Error(), "deadline", "the error does not say why")
			return
		}
	}
	t.Fatal("no wait ended with its context")
}

// Faults injected from another handle of the same library while a loop
// signs, one after every 66 signatures: the store recovers, never returns a
// wrong signature, and any error that surfaces is typed.
func TestPKCS11FaultRecovery(t *testing.T) {
	faults := map[string]func(t *testing.T, p *pkcs11.Ctx, tok *softhsmtest.Token){
		"CloseAllSessions": func(t *testing.T, p *pkcs11.Ctx, tok *softhsmtest.Token) {
			require.NoError(t, p.CloseAllSessions(tok.Slot(t, p)))
		},
		"FinalizeInitialize": func(t *testing.T, p *pkcs11.Ctx, _ *softhsmtest.Token) {
			require.NoError(t, p.Finalize())
			require.NoError(t, p.Initialize())
		},
		"FinalizeOnly": func(t *testing.T, p *pkcs11.Ctx, _ *softhsmtest.Token) {
			require.NoError(t, p.Finalize())
		},
	}
	for name, inject := range faults {
		t.Run(name, func(t *testing.T) {
			tok := softhsmtest.New(t)
			p := softhsmtest.Module(t)
			var recoveries atomic.Int64
			log := slog.New(countHandler{msg: "PKCS#11 fault; recovering", n: &recoveries})
			ks, err := hsm.OpenPKCS11(context.Background(), hsm.PKCS11Config{URI: tok.URI(), Sessions: 3, Logger: log})
			require.NoError(t, err)
			defer ks.Close()
			ctx := context.Background()
			ec := generate(t, ks, hsm.GenerateRequest{ID: "ec", Algorithm: roamsign.ECP256})
			rsaKey := generate(t, ks, hsm.GenerateRequest{ID: "rsa", Algorithm: roamsign.RSA2048})
			keys := []hsm.Key{ec, rsaKey}

			// The library is not safe against finalisation while a call is
			// in flight (the PKCS#11 specification leaves it undefined), so
			// signers hold a read lock per call and faults are injected
			// between calls, as a device reset between requests would be.
			// A fault is due after every `every` calls: the signer whose
			// call completes the count hands the fault to the test goroutine
			// and waits until it is injected, so all nfaults faults land
			// while signing goes on, however fast the machine is.
			var gate sync.RWMutex
			const signers, rounds, nfaults = 4, 150, 8
			const every = signers * rounds / (nfaults + 1)
			var (
				wg                sync.WaitGroup
				calls             atomic.Int64
				ok, failed, wrong atomic.Int64
				untyped           atomic.Value
			)
			due := make(chan chan struct{})
			for w := 0; w < signers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < rounds; i++ {
						k := keys[(w+i)%2]
						d := digestOf(crypto.SHA256, fmt.Sprintf("%s-%d-%d", name, w, i))
						gate.RLock()
						sig, err := k.SignContext(ctx, d, crypto.SHA256)
						gate.RUnlock()
						if n := calls.Add(1); n%every == 0 && n/every <= nfaults {
							injected := make(chan struct{})
							due <- injected
							<-injected
						}
						if err != nil {
							failed.Add(1)
							if k := roamsign.KindOf(err); k != roamsign.ErrUnavailable {
								untyped.Store(err)
							}
							continue
						}
						if !verifies(k.Public(), d, sig) {
							wrong.Add(1)
						}
						ok.Add(1)
					}
				}()
			}
			for range nfaults {
				done := <-due
				gate.Lock()
				inject(t, p, tok)
				gate.Unlock()
				close(done)
			}
			wg.Wait()
			require.Nil(t, untyped.Load(), "an error of the wrong kind surfaced")
			require.Zero(t, wrong.Load(), "wrong signatures")
			t.Logf("%d faults: %d recoveries, %d signatures, %d typed failures", nfaults, recoveries.Load(), ok.Load(), failed.Load())
			require.GreaterOrEqual(t, recoveries.Load(), int64(nfaults), "recoveries for %d faults", nfaults)
			require.LessOrEqual(t, failed.Load(), int64(nfaults*signers), "failures for %d faults: recovery is not working", nfaults)
			// One more fault, then every key works again at the first try.
			inject(t, p, tok)
			for _, k := range keys {
				d := digestOf(crypto.SHA256, "after")
				sig, err := k.Sign(nil, d, crypto.SHA256)
				require.NoError(t, err, "after recovery")
				require.True(t, verifies(k.Public(), d, sig), "wrong signature after recovery")
			}
			_, err = ks.List(ctx)
			require.NoError(t, err)
		})
	}
}

// countHandler counts log records with a given message.
type countHandler struct {
	msg string
	n   *atomic.Int64
}

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

func verifies(pub crypto.PublicKey, d, sig []byte) bool {
	return verifyErr(pub, crypto.SHA256, d, sig, crypto.SHA256) == nil
}

func TestPKCS11BadInput(t *testing.T) {
	ctx := context.Background()
	tok := softhsmtest.New(t)
	other := softhsmtest.New(t)
	open := func(uri string) error {
		ks, err := hsm.OpenPKCS11(ctx, hsm.PKCS11Config{URI: uri, Logger: quiet})
		if err == nil {
			ks.Close()
		}
		return err
	}
	mod := "module-path=" + tok.ModulePath
	cases := []struct {
		name string
		uri  string
		kind roamsign.Kind
	}{
		{"missing module path", "pkcs11:token=" + tok.Label + "?pin-value=" + tok.PIN, roamsign.ErrInvalidInput},
		{"module path not a file", "pkcs11:token=" + tok.Label + "?module-path=/nonexistent/lib.so&pin-value=" + tok.PIN, roamsign.ErrInvalidInput},
		{"relative module path", "pkcs11:token=" + tok.Label + "?module-path=lib.so&pin-value=" + tok.PIN, roamsign.ErrInvalidInput},
		{"not a module", "pkcs11:token=" + tok.Label + "?module-path=/etc/hostname&pin-value=" + tok.PIN, roamsign.ErrUnavailable},
		{"unknown token", "pkcs11:token=no-such-token?" + mod + "&pin-value=" + tok.PIN, roamsign.ErrNotFound},
		{"no token named", "pkcs11:object=x?" + mod + "&pin-value=" + tok.PIN, roamsign.ErrInvalidInput},
		{"no PIN", "pkcs11:token=" + tok.Label + "?" + mod, roamsign.ErrInvalidInput},
		{"pin-source and pin-value", "pkcs11:token=" + tok.Label + "?" + mod + "&pin-value=" + tok.PIN + "&pin-source=/etc/pin", roamsign.ErrInvalidInput},
		{"slot of another token", fmt.Sprintf("pkcs11:token=%s;slot-id=%d?%s&pin-value=%s", tok.Label, other.SlotID, mod, tok.PIN), roamsign.ErrNotFound},
		{"unknown attribute", "pkcs11:token=" + tok.Label + ";colour=blue?" + mod + "&pin-value=" + tok.PIN, roamsign.ErrInvalidInput},
		{"duplicate attribute", "pkcs11:token=" + tok.Label + ";token=" + other.Label + "?" + mod + "&pin-value=" + tok.PIN, roamsign.ErrInvalidInput},
		{"not a pkcs11 URI", "file:///etc/passwd", roamsign.ErrInvalidInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := open(c.uri)
			wantKind(t, err, c.kind)
			require.NotContains(t, err.Error(), tok.PIN, "the error contains the PIN")
		})
	}
	_, err := hsm.OpenPKCS11(ctx, hsm.PKCS11Config{URI: tok.URI(), Sessions: -1})
	wantKind(t, err, roamsign.ErrInvalidInput)
	_, err = hsm.OpenPKCS11(ctx, hsm.PKCS11Config{URI: tok.URI(), Sessions: hsm.MaxSessions + 1})
	wantKind(t, err, roamsign.ErrInvalidInput)

	t.Run("wrong PIN", func(t *testing.T) {
		p := softhsmtest.Module(t)
		const wrong = "wrong-pin-1234"
		for _, uri := range []string{
			"pkcs11:token=" + tok.Label + "?" + mod + "&pin-value=" + wrong,
			"pkcs11:token=" + tok.Label + "?" + mod + "&pin-source=" + writePIN(t, wrong+"\n"),
		} {
			err := open(uri)
			wantKind(t, err, roamsign.ErrUnauthenticated)
			require.NotContains(t, err.Error(), wrong, "the error contains a PIN")
			require.NotContains(t, err.Error(), tok.PIN, "the error contains a PIN")
			ti, err := p.GetTokenInfo(tok.Slot(t, p))
			require.NoError(t, err)
			require.Zero(t, ti.Flags&(pkcs11.CKF_USER_PIN_LOCKED|pkcs11.CKF_USER_PIN_FINAL_TRY), "token flags %#x after one wrong PIN", ti.Flags)
		}
		// The right PIN, from a file, still works: the token is not locked.
		require.NoError(t, open("pkcs11:token="+tok.Label+"?"+mod+"&pin-source=file://"+writePIN(t, tok.PIN+"\n")))
	})

	t.Run("extractable key", func(t *testing.T) {
		ks := openPKCS11(t, tok, 1)
		p := softhsmtest.Module(t)
		s := tok.Session(t, p)
		mk := func(id string, sensitive, extractable bool) {
			t.Helper()
			_, priv, err := p.GenerateKeyPair(s,
				[]*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)},
				[]*pkcs11.Attribute{
					pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
					pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}),
					pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
				},
				[]*pkcs11.Attribute{
					pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
					pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
					pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
					pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, sensitive),
					pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, extractable),
					pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
				})
			require.NoError(t, err)
			if !sensitive {
				// Made sensitive later: still not ALWAYS_SENSITIVE.
				require.NoError(t, p.SetAttributeValue(s, priv, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true)}))
			}
		}
		mk("extractable", true, true)
		mk("was-exposed", false, false)
		for _, id := range []string{"extractable", "was-exposed"} {
			_, err := ks.Key(ctx, id)
			wantKind(t, err, roamsign.ErrForbidden)
		}
	})
}

func writePIN(t *testing.T, pin string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pin")
	require.NoError(t, os.WriteFile(p, []byte(pin), 0o600))
	return p
}

// Keys generated by the store are sensitive and non-extractable from the
// start; their secret parts cannot be read; certificates are stored as
// CKO_CERTIFICATE objects with the key's CKA_ID.
func TestPKCS11Attributes(t *testing.T) {
	ctx := context.Background()
	tok := softhsmtest.New(t)
	ks := openPKCS11(t, tok, 1)
	p := softhsmtest.Module(t)
	s := tok.Session(t, p)
	secret := map[roamsign.KeyAlgorithm]uint{roamsign.RSA2048: pkcs11.CKA_PRIVATE_EXPONENT, roamsign.ECP256: pkcs11.CKA_VALUE}
	for alg, secretAttr := range secret {
		k := generate(t, ks, hsm.GenerateRequest{ID: "attr-" + strings.ToLower(string(alg)), Algorithm: alg})
		hs := findRaw(t, p, s, pkcs11.CKO_PRIVATE_KEY, k.ID(), 2)
		require.Len(t, hs, 1)
		want := map[uint]bool{
			pkcs11.CKA_TOKEN: true, pkcs11.CKA_PRIVATE: true, pkcs11.CKA_SENSITIVE: true, pkcs11.CKA_SIGN: true,
			pkcs11.CKA_ALWAYS_SENSITIVE: true, pkcs11.CKA_NEVER_EXTRACTABLE: true,
			pkcs11.CKA_EXTRACTABLE: false, pkcs11.CKA_DECRYPT: false, pkcs11.CKA_UNWRAP: false, pkcs11.CKA_DERIVE: false,
		}
		var tmpl []*pkcs11.Attribute
		for a := range want {
			tmpl = append(tmpl, pkcs11.NewAttribute(a, nil))
		}
		got, err := p.GetAttributeValue(s, hs[0], tmpl)
		require.NoError(t, err)
		for _, a := range got {
			assert.Equal(t, want[a.Type], len(a.Value) == 1 && a.Value[0] != 0, "%v: attribute %#x", alg, a.Type)
		}
		_, err = p.GetAttributeValue(s, hs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(secretAttr, nil)})
		assert.True(t, softhsmtest.IsRV(err, pkcs11.CKR_ATTRIBUTE_SENSITIVE), "%v: reading the secret attribute gave %v, want CKR_ATTRIBUTE_SENSITIVE", alg, err)
	}

	// MAC keys: sensitive, never extractable, value unreadable.
	_, err := ks.GenerateMAC(ctx, "mac")
	require.NoError(t, err)
	mh := findRaw(t, p, s, pkcs11.CKO_SECRET_KEY, "mac", 2)
	require.Len(t, mh, 1, "MAC keys found")
	got, err := p.GetAttributeValue(s, mh[0], []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_NEVER_EXTRACTABLE, nil),
	})
	require.NoError(t, err)
	for i, want := range []bool{true, false, true, true} {
		assert.Equal(t, want, len(got[i].Value) == 1 && got[i].Value[0] != 0, "MAC key attribute %#x", got[i].Type)
	}
	_, err = p.GetAttributeValue(s, mh[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	assert.True(t, softhsmtest.IsRV(err, pkcs11.CKR_ATTRIBUTE_SENSITIVE), "reading the MAC key value gave %v", err)

	// Certificates.
	k, err := ks.Key(ctx, "attr-ec-p256")
	require.NoError(t, err)
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	leaf, err := root.IssueLeaf("SITI", "850202025555", k.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	// Imported root first: Chain still returns the leaf first.
	require.NoError(t, ks.ImportChain(ctx, k.ID(), []*x509.Certificate{leaf, root.Cert}))
	require.Len(t, findRaw(t, p, s, pkcs11.CKO_CERTIFICATE, k.ID(), 10), 2, "certificate objects")
}

// findRaw returns the handles (at most max) of the objects of class with
// CKA_ID id, found on s without the store.
func findRaw(tb testing.TB, p *pkcs11.Ctx, s pkcs11.SessionHandle, class uint, id string, max int) []pkcs11.ObjectHandle {
	tb.Helper()
	if err := p.FindObjectsInit(s, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
		pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
	}); err != nil {
		tb.Fatal(err)
	}
	hs, _, err := p.FindObjects(s, max)
	_ = p.FindObjectsFinal(s)
	if err != nil {
		tb.Fatalf("find %s: %v", id, err)
	}
	return hs
}

// The URI may name the key by id and object.
func TestPKCS11URIKey(t *testing.T) {
	ctx := context.Background()
	tok := softhsmtest.New(t)
	ks := openPKCS11(t, tok, 1)
	k := generate(t, ks, hsm.GenerateRequest{ID: "uri-key", Label: "Signing Key", Algorithm: roamsign.ECP256})
	base := "pkcs11:token=" + tok.Label
	q := "?module-path=" + tok.ModulePath + "&pin-value=" + tok.PIN
	for _, c := range []struct {
		path string
		kind roamsign.Kind
	}{
		{";id=uri-key", 0},
		{";object=Signing%20Key", 0},
		{";id=uri-%6Bey;object=Signing%20Key;type=private", 0},
		{";id=uri-key;object=Other", roamsign.ErrInvalidInput},
		{";object=Nothing", roamsign.ErrNotFound},
		{"", roamsign.ErrInvalidInput},
	} {
		s, err := hsm.OpenPKCS11(ctx, hsm.PKCS11Config{URI: base + c.path + q, Logger: quiet})
		require.NoError(t, err)
		got, err := s.URIKey(ctx)
		s.Close()
		if c.kind != 0 {
			wantKind(t, err, c.kind)
			continue
		}
		require.NoError(t, err, c.path)
		require.Equal(t, k.ID(), got.ID(), c.path)
	}
	require.NotContains(t, ks.URI(), tok.PIN, "URI() shows the PIN")
}

// When the token's PIN changes under a running store, the re-login after a
// fault fails once and is never tried again; callers get a typed error.
func TestPKCS11ReloginFailureLatched(t *testing.T) {
	tok := softhsmtest.New(t)
	ks := openPKCS11(t, tok, 2)
	k := generate(t, ks, hsm.GenerateRequest{ID: "k", Algorithm: roamsign.ECP256})
	d := digestOf(crypto.SHA256, "x")
	_, err := k.Sign(nil, d, crypto.SHA256)
	require.NoError(t, err)
	p := softhsmtest.Module(t)
	s := tok.Session(t, p)
	require.NoError(t, p.SetPIN(s, tok.PIN, "changed-pin"))
	require.NoError(t, p.CloseAllSessions(tok.Slot(t, p)))
	for i := 0; i < 3; i++ {
		_, err := k.Sign(nil, d, crypto.SHA256)
		wantKind(t, err, roamsign.ErrUnauthenticated)
		require.NotContains(t, err.Error(), tok.PIN, "the error contains a PIN")
		require.NotContains(t, err.Error(), "changed-pin", "the error contains a PIN")
	}
	ti, err := p.GetTokenInfo(tok.Slot(t, p))
	require.NoError(t, err)
	require.Zero(t, ti.Flags&pkcs11.CKF_USER_PIN_LOCKED, "token locked")
}

// A store opened after another user finalised the shared library
// initialises it again; a store opened before recovers on its next call.
func TestPKCS11OpenAfterFinalize(t *testing.T) {
	ctx := context.Background()
	tok := softhsmtest.New(t)
	a := openPKCS11(t, tok, 1)
	k := generate(t, a, hsm.GenerateRequest{ID: "k", Algorithm: roamsign.ECP256})
	p := softhsmtest.Module(t)
	require.NoError(t, p.Finalize())
	b := openPKCS11(t, tok, 1)
	kb, err := b.Key(ctx, "k")
	require.NoError(t, err)
	d := digestOf(crypto.SHA256, "x")
	for _, key := range []hsm.Key{k, kb} {
		sig, err := key.Sign(nil, d, crypto.SHA256)
		require.NoError(t, err)
		verify(t, k.Public(), crypto.SHA256, d, sig, crypto.SHA256)
	}
}

// A token that goes away fails closed: typed ErrUnavailable, every time,
// and no signature.
func TestPKCS11TokenRemoved(t *testing.T) {
	ctx := context.Background()
	tok := softhsmtest.New(t)
	ks := openPKCS11(t, tok, 2)
	k := generate(t, ks, hsm.GenerateRequest{ID: "k", Algorithm: roamsign.ECP256})
	d := digestOf(crypto.SHA256, "x")
	_, err := k.Sign(nil, d, crypto.SHA256)
	require.NoError(t, err)
	p := softhsmtest.Module(t)
	slot := tok.Slot(t, p)
	tok.Remove(t)
	require.NoError(t, p.CloseAllSessions(slot))
	for i := 0; i < 3; i++ {
		sig, err := k.Sign(nil, d, crypto.SHA256)
		require.Nil(t, sig, "a signature from a removed token")
		wantKind(t, err, roamsign.ErrUnavailable)
	}
	_, err = ks.List(ctx)
	wantKind(t, err, roamsign.ErrUnavailable)
	require.NoError(t, ks.Close(), "Close after removal")
}
