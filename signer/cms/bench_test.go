package cms_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer/cms"
)

// BenchmarkCMS compares a CMS signature from a digest with a raw signature
// by the same in-memory key, in the same run.
func BenchmarkCMS(b *testing.B) {
	p := testPKI(b)
	digest := roamsign.SHA256.Sum([]byte("content"))
	for _, key := range []string{"rsa", "p256"} {
		k := p.keys[key]
		b.Run(key+"/raw", func(b *testing.B) {
			for b.Loop() {
				if _, err := k.Sign(rand.Reader, digest, roamsign.SHA256.CryptoHash()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(key+"/cms", func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := cms.SignDigest(ctx, k, digest, p.chains[key], cms.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(key+"/prepare+complete-nosign", func(b *testing.B) {
			prep, _ := cms.Prepare(digest, p.chains[key], cms.Options{})
			sig, _ := k.Sign(rand.Reader, prep.Digest(), prep.SignerOpts())
			for b.Loop() {
				pp, _ := cms.Prepare(digest, p.chains[key], cms.Options{})
				_ = pp
				if _, err := prep.Complete(sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
