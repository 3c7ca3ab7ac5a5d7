package cms_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"io"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer/cms"
)

// benchCMSvsRaw alternates a raw signature and a CMS signature from a
// digest with the same key in one loop, so that both see the same machine
// load, and reports both times and the rate ratio cms/raw.
func benchCMSvsRaw(b *testing.B, key crypto.Signer, chain []*x509.Certificate, opts cms.Options) {
	ctx := context.Background()
	digest := roamsign.SHA256.Sum([]byte("content"))
	var raw, full time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := key.Sign(rand.Reader, digest, crypto.SHA256); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := cms.SignDigest(ctx, key, digest, chain, opts); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		raw += t1.Sub(t0)
		full += t2.Sub(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(raw.Nanoseconds())/n, "raw-ns/sig")
	b.ReportMetric(float64(full.Nanoseconds())/n, "cms-ns/sig")
	b.ReportMetric(float64(raw)/float64(full), "cms/raw-rate")
}

// BenchmarkCMSvsRaw compares CMS from a digest with raw signatures of the
// same in-memory key.
func BenchmarkCMSvsRaw(b *testing.B) {
	p := testPKI(b)
	for _, key := range []string{"rsa", "p256"} {
		b.Run(key, func(b *testing.B) { benchCMSvsRaw(b, p.keys[key], p.chains[key], cms.Options{}) })
	}
}

// instantKey returns a fixed signature: it isolates the non-cryptographic
// work of SignDigest (attributes, hashing, encoding).
type instantKey struct {
	crypto.Signer
	sig []byte
}

func (k instantKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return k.sig, nil }

// BenchmarkCMSOverhead measures SignDigest around a key that costs nothing
// (ECDSA signatures of a local key are not re-verified).
func BenchmarkCMSOverhead(b *testing.B) {
	p := testPKI(b)
	for _, key := range []string{"p256", "p384"} {
		b.Run(key, func(b *testing.B) {
			k := p.keys[key]
			digest := roamsign.SHA256.Sum([]byte("content"))
			sig, _ := k.Sign(rand.Reader, digest, crypto.SHA256)
			ik := instantKey{k, sig}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cms.SignDigest(context.Background(), ik, digest, p.chains[key], cms.Options{AlgorithmProtection: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
