package servercert_test

import (
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/servercert"
)

// BenchmarkParsePEM compares ParseCertificates on a two-certificate PEM
// bundle with the raw baseline of pem.Decode + x509.ParseCertificate.
func BenchmarkParsePEM(b *testing.B) {
	p := newPKI(b)
	sc := p.leaf(b, []string{"a.agency.gov.my"}, leafOpts{})
	data := testpki.PEM(sc.cert, p.inter.Cert)
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rest := data
			for {
				var blk *pem.Block
				blk, rest = pem.Decode(rest)
				if blk == nil {
					break
				}
				if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("servercert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := servercert.ParseCertificates(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkParsePKCS7 compares the PKCS#7 bundle reader with parsing the
// same certificates directly.
func BenchmarkParsePKCS7(b *testing.B) {
	p := newPKI(b)
	sc := p.leaf(b, []string{"a.agency.gov.my"}, leafOpts{})
	p7, err := servercert.EncodePKCS7Certificates([]*x509.Certificate{sc.cert, p.inter.Cert})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := x509.ParseCertificate(sc.cert.Raw); err != nil {
				b.Fatal(err)
			}
			if _, err := x509.ParseCertificate(p.inter.Cert.Raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("servercert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := servercert.ParsePKCS7Certificates(p7); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheckBundle measures a full bundle check against the baseline of
// x509 chain verification alone.
func BenchmarkCheckBundle(b *testing.B) {
	p := newPKI(b)
	sc := p.leaf(b, []string{"a.agency.gov.my"}, leafOpts{})
	data := testpki.PEM(sc.cert, p.inter.Cert)
	b.Run("raw-verify", func(b *testing.B) {
		inter := x509.NewCertPool()
		inter.AddCert(p.inter.Cert)
		for b.Loop() {
			if _, err := sc.cert.Verify(x509.VerifyOptions{Roots: p.roots, Intermediates: inter}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("servercert", func(b *testing.B) {
		for b.Loop() {
			rep, err := servercert.CheckBundle(servercert.BundleRequest{
				Certificate: servercert.Input{Data: data}, Key: sc.key,
				Names: []string{"a.agency.gov.my"}, Roots: p.roots,
			})
			if err != nil || !rep.OK {
				b.Fatal(err)
			}
		}
	})
}
