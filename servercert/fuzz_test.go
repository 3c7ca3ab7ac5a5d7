package servercert_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/servercert"
)

// seeds returns real inputs in every supported form.
func seeds(f *testing.F) [][]byte {
	p := newPKI(f)
	sc := p.leaf(f, []string{"a.agency.gov.my", "*.agency.gov.my"}, leafOpts{})
	p7, err := servercert.EncodePKCS7Certificates([]*x509.Certificate{sc.cert, p.inter.Cert})
	if err != nil {
		f.Fatal(err)
	}
	k, _ := servercert.GenerateKey(servercert.P256)
	csr, _ := servercert.CreateCSR(k, servercert.CSRRequest{DNSNames: []string{"a.agency.gov.my"}})
	return [][]byte{
		sc.cert.Raw,
		testpki.PEM(sc.cert, p.inter.Cert),
		p7,
		append([]byte("-----BEGIN PKCS7-----\n"), append([]byte(base64Wrap(p7)), []byte("\n-----END PKCS7-----\n")...)...),
		[]byte("hello\r\n> " + string(testpki.PEM(sc.cert)) + "\nbye"),
		[]byte(base64Wrap(sc.cert.Raw)),
		keyPEM(f, sc.key),
		servercert.CSRPEM(csr),
		{0x30, 0x80, 0x06, 0x09},
		{},
	}
}

func FuzzParseCertificates(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, format, err := servercert.ParseCertificates(data)
		if err != nil {
			if !errors.Is(err, roamsign.ErrInvalidInput) && !errors.Is(err, roamsign.ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			if certs != nil {
				t.Fatal("certificates returned with an error")
			}
			return
		}
		if len(certs) == 0 || len(certs) > servercert.MaxCertificates || format == "" {
			t.Fatalf("%d certificates, format %q", len(certs), format)
		}
	})
}

func FuzzParsePKCS7(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := servercert.ParsePKCS7Certificates(data)
		if err != nil {
			if !errors.Is(err, roamsign.ErrInvalidInput) && !errors.Is(err, roamsign.ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// What parses must encode back to a bundle with the same content.
		again, err := servercert.EncodePKCS7Certificates(certs)
		require.NoError(t, err)
		back, err := servercert.ParsePKCS7Certificates(again)
		if err != nil || len(back) != len(certs) {
			t.Fatalf("re-encoded bundle: %v", err)
		}
		for i := range back {
			if !bytes.Equal(back[i].Raw, certs[i].Raw) {
				t.Fatal("certificate changed in a round trip")
			}
		}
	})
}

func FuzzParsePaste(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(string(s))
	}
	f.Fuzz(func(t *testing.T, paste string) {
		// A paste is checked as a whole bundle: it must never panic, and a
		// failure is a typed error.
		_, err := servercert.CheckBundle(servercert.BundleRequest{
			Certificate: servercert.Input{Name: "paste", Data: []byte(paste)},
			Names:       []string{"a.agency.gov.my"},
			Roots:       x509.NewCertPool(),
		})
		if err != nil && roamsign.KindOf(err) == roamsign.KindUnknown && !servercert.IsCorrupt(err) {
			t.Fatalf("untyped error %v", err)
		}
		_, _ = servercert.ParsePrivateKey([]byte(paste))
		_, _ = servercert.ParseCSR([]byte(paste))
	})
}
