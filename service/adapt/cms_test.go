package adapt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
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
