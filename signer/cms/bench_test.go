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
	"github.com/roamsign/roamsign/internal/proctime"
	"github.com/roamsign/roamsign/signer/cms"
)

// meter accumulates the wall-clock and CPU time of the calls it runs.
type meter struct{ wall, cpu time.Duration }

func (m *meter) run(b *testing.B, f func() error) {
	w, c := time.Now(), proctime.CPU()
	if err := f(); err != nil {
		b.Fatal(err)
	}
	m.wall += time.Since(w)
	m.cpu += proctime.CPU() - c
}

// report writes the time per signature of each meter and the rate ratios
// of the later ones to the first (wall clock and CPU).
func report(b *testing.B, names []string, ms []*meter) {
	n := float64(b.N)
	for i, m := range ms {
		b.ReportMetric(float64(m.wall.Nanoseconds())/n, names[i]+"-ns/sig")
		if i > 0 {
			b.ReportMetric(float64(ms[0].wall)/float64(m.wall), names[i]+"/"+names[0]+"-wall")
			if m.cpu > 0 {
				b.ReportMetric(float64(ms[0].cpu)/float64(m.cpu), names[i]+"/"+names[0]+"-cpu")
			}
		}
	}
}

// benchCMSvsRaw alternates a raw signature and a CMS signature from a
// digest with the same key in one loop, so that both see the same machine
// load, and reports both times and the rate ratios cms/raw (wall clock
// and CPU time).
func benchCMSvsRaw(b *testing.B, key crypto.Signer, chain []*x509.Certificate, opts cms.Options) {
	ctx := context.Background()
	digest := roamsign.SHA256.Sum([]byte("content"))
	var raw, full meter
	steps := []func(){
		func() {
			raw.run(b, func() error { _, err := key.Sign(rand.Reader, digest, crypto.SHA256); return err })
		},
		func() {
			full.run(b, func() error { _, err := cms.SignDigest(ctx, key, digest, chain, opts); return err })
		},
	}
	i := 0
	for b.Loop() {
		steps[i%2]()
		steps[(i+1)%2]()
		i++
	}
	report(b, []string{"raw", "cms"}, []*meter{&raw, &full})
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
