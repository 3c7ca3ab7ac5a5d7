package adapt_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/service/adapt"
	"github.com/roamsign/roamsign/signer/cms"
)

func cmsFixture(t testing.TB) ([]byte, roamsign.Hash, *x509.Certificate) {
	t.Helper()
	ca, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, err := ca.IssueLeaf("PENGUJI", "900101145678", &k.PublicKey, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := roamsign.NewHash(roamsign.SHA256, []byte("dokumen"))
	der, err := cms.SignDigest(context.Background(), k, h.Value, []*x509.Certificate{leaf, ca.Cert}, cms.Options{Hash: h.Algorithm})
	if err != nil {
		t.Fatal(err)
	}
	return der, h, leaf
}

func TestCheckCMSDigest(t *testing.T) {
	der, h, leaf := cmsFixture(t)
	if err := adapt.CheckCMSDigest(der, h, leaf); err != nil {
		t.Fatalf("valid CMS: %v", err)
	}
	other := roamsign.NewHash(roamsign.SHA256, []byte("lain"))
	if err := adapt.CheckCMSDigest(der, other, leaf); err == nil {
		t.Fatal("CMS accepted for another hash")
	}
	_, _, otherLeaf := cmsFixture(t)
	if err := adapt.CheckCMSDigest(der, h, otherLeaf); err == nil {
		t.Fatal("CMS accepted under another certificate")
	}
	for i := 0; i < len(der); i += 7 {
		bad := append([]byte(nil), der...)
		bad[i] ^= 0x20
		_ = adapt.CheckCMSDigest(bad, h, leaf) // must not panic
	}
}

func FuzzCheckCMSDigest(f *testing.F) {
	der, h, leaf := cmsFixture(f)
	f.Add(der)
	f.Add(der[:len(der)/2])
	f.Add([]byte{0x30, 0x03, 0x06, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		err := adapt.CheckCMSDigest(b, h, leaf)
		if err == nil && string(b) != string(der) {
			// Only re-encodings of the same signed attributes and signature
			// can verify; anything else accepted is a bug.
			if len(b) < 64 {
				t.Fatalf("accepted %x", b)
			}
		}
	})
}

// faultyRSA returns corrupted signatures, as a faulty HSM might.
type faultyRSA struct{ *rsa.PrivateKey }

func (f faultyRSA) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	sig, err := f.PrivateKey.Sign(r, d, o)
	if err == nil {
		sig[len(sig)/2] ^= 1
	}
	return sig, err
}

// TestCheckBatchCatchesFaultyKey: the forms leave verification to their
// CheckBatch (the service's one self-check), which must refuse what a
// faulty key signed.
func TestCheckBatchCatchesFaultyKey(t *testing.T) {
	ca, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.IssueLeaf("PENGUJI", "900101145678", &k.PublicKey, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chain := []*x509.Certificate{leaf, ca.Cert}
	hs := []roamsign.Hash{roamsign.NewHash(roamsign.SHA256, []byte("a")), roamsign.NewHash(roamsign.SHA256, []byte("b"))}
	for name, f := range map[string]service.FormSigner{"raw": adapt.Raw{}, "cms": adapt.CMS{}} {
		ctx := context.Background()
		sigs, _, err := f.SignBatch(ctx, k, chain, hs)
		if err != nil {
			t.Fatalf("%s: good key: %v", name, err)
		}
		if err := f.CheckBatch(ctx, chain, hs, sigs); err != nil {
			t.Fatalf("%s: good signatures refused: %v", name, err)
		}
		sigs, _, err = f.SignBatch(ctx, faultyRSA{k}, chain, hs)
		if err != nil {
			t.Fatalf("%s: SignBatch verified on its own: %v", name, err)
		}
		if err := f.CheckBatch(ctx, chain, hs, sigs); !errors.Is(err, roamsign.ErrInvalidSignature) {
			t.Fatalf("%s: faulty signatures: err = %v, want ErrInvalidSignature", name, err)
		}
	}
}
