//go:build cgo

package cms_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/softhsmtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/cms"
	"github.com/stretchr/testify/require"
)

// softKey generates a key in a fresh SoftHSM token through package hsm and
// certifies it under the test intermediate.
func softKey(tb testing.TB, p *pki, alg roamsign.KeyAlgorithm) (*softhsmtest.Token, hsm.Key, []*x509.Certificate) {
	tb.Helper()
	tok := softhsmtest.New(tb)
	store, err := hsm.OpenPKCS11(context.Background(), hsm.PKCS11Config{URI: tok.URI(), Sessions: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	key, err := store.Generate(context.Background(), hsm.GenerateRequest{Algorithm: alg})
	if err != nil {
		tb.Fatal(err)
	}
	leaf, err := p.inter.IssueLeaf("SOFTHSM "+string(alg), "900101145678", key.Public(), testpki.LeafOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return tok, key, append([]*x509.Certificate{leaf}, p.inter.Chain()...)
}

func TestSoftHSMSignVerifiesWithOpenSSL(t *testing.T) {
	p := testPKI(t)
	content := []byte("signed in SoftHSM\n")
	for _, c := range []struct {
		alg  roamsign.KeyAlgorithm
		opts cms.Options
	}{
		{roamsign.RSA2048, cms.Options{}},
		{roamsign.RSA2048, cms.Options{PSS: true, AlgorithmProtection: true}},
		{roamsign.ECP256, cms.Options{}},
		{roamsign.ECP384, cms.Options{Hash: roamsign.SHA384, AlgorithmProtection: true}},
	} {
		t.Run(string(c.alg), func(t *testing.T) {
			_, key, chain := softKey(t, p, c.alg)
			// One step.
			one, err := cms.Sign(context.Background(), key, bytes.NewReader(content), chain, c.opts)
			require.NoError(t, err)
			mustVerify(t, p, one, content)
			// Two halves, the key seeing only the digest.
			h := c.opts.Hash
			if h == 0 {
				h = roamsign.SHA256
			}
			prep, err := cms.Prepare(h.Sum(content), chain, c.opts)
			require.NoError(t, err)
			sig, err := key.SignContext(context.Background(), prep.Digest(), prep.SignerOpts())
			require.NoError(t, err)
			two, err := prep.Complete(sig)
			require.NoError(t, err)
			mustVerify(t, p, two, content)
			tampered := append(bytes.Clone(content), '!')
			if out, err := opensslVerify(t, p, two, tampered); err == nil {
				t.Fatalf("tampered content verified:\n%s", out)
			}
		})
	}
}

// rawSigner signs through miekg/pkcs11 directly on one logged-in session:
// the baseline.
type rawSigner struct {
	p    *pkcs11.Ctx
	s    pkcs11.SessionHandle
	key  pkcs11.ObjectHandle
	mech []*pkcs11.Mechanism
	rsa  bool
}

var sha256DigestInfo = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

func newRawSigner(tb testing.TB, tok *softhsmtest.Token, key hsm.Key) *rawSigner {
	tb.Helper()
	p := softhsmtest.Module(tb)
	r := &rawSigner{p: p, s: tok.Session(tb, p)}
	for _, id := range [][]byte{hexOr(key.ID()), []byte(key.ID())} {
		if err := p.FindObjectsInit(r.s, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY), pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		}); err != nil {
			tb.Fatal(err)
		}
		hs, _, err := p.FindObjects(r.s, 2)
		_ = p.FindObjectsFinal(r.s)
		if err == nil && len(hs) == 1 {
			r.key = hs[0]
			break
		}
	}
	if r.key == 0 {
		tb.Fatal("raw baseline: key not found")
	}
	if _, ok := key.Public().(*ecdsa.PublicKey); ok {
		r.mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}
	} else {
		r.rsa = true
		r.mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}
	}
	return r
}

func hexOr(s string) []byte {
	if b, err := hex.DecodeString(s); err == nil {
		return b
	}
	return []byte(s)
}

func (r *rawSigner) sign(digest []byte) error {
	data := digest
	if r.rsa {
		data = append(append(make([]byte, 0, 51), sha256DigestInfo...), digest...)
	}
	if err := r.p.SignInit(r.s, r.mech, r.key); err != nil {
		return err
	}
	_, err := r.p.Sign(r.s, data)
	return err
}

// BenchmarkSoftHSMCMS compares, on one SoftHSM key and one session, a raw
// miekg/pkcs11 signature, a signature through the hsm key, and a complete
// CMS from a digest through the hsm key, interleaved in one loop.
func BenchmarkSoftHSMCMS(b *testing.B) {
	p := testPKI(b)
	for _, alg := range []roamsign.KeyAlgorithm{roamsign.RSA2048, roamsign.ECP256} {
		b.Run(string(alg), func(b *testing.B) {
			tok, key, chain := softKey(b, p, alg)
			raw := newRawSigner(b, tok, key)
			ctx := context.Background()
			digest := roamsign.SHA256.Sum([]byte("content"))
			var mRaw, mKey, mCMS meter
			steps := []func(){
				func() { mRaw.run(b, func() error { return raw.sign(digest) }) },
				func() {
					mKey.run(b, func() error { _, err := key.SignContext(ctx, digest, crypto.SHA256); return err })
				},
				func() {
					mCMS.run(b, func() error { _, err := cms.SignDigest(ctx, key, digest, chain, cms.Options{}); return err })
				},
			}
			i := 0
			for b.Loop() {
				// Rotate the order so that no side always runs first.
				for j := range steps {
					steps[(i+j)%len(steps)]()
				}
				i++
			}
			report(b, []string{"raw", "hsmkey", "cms"}, []*meter{&mRaw, &mKey, &mCMS})
		})
	}
}

// Keys of package hsm take a context through roamsign.SignContext.
var _ roamsign.ContextSigner = hsm.Key(nil)
