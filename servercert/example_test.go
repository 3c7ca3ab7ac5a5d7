package servercert_test

import (
	"context"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/servercert"
)

// A new key and a multi-domain, wildcard CSR; the key file is 0600.
func ExampleCreateCSR() {
	dir, _ := os.MkdirTemp("", "csr")
	defer os.RemoveAll(dir)

	key, err := servercert.GenerateKey(servercert.P256)
	if err != nil {
		panic(err)
	}
	if err := servercert.WriteKeyFile(filepath.Join(dir, "server.key"), key); err != nil {
		panic(err)
	}
	der, err := servercert.CreateCSR(key, servercert.CSRRequest{
		Subject:  pkix.Name{Country: []string{"MY"}, Organization: []string{"Agency"}, CommonName: "agency.gov.my"},
		DNSNames: []string{"agency.gov.my", "*.agency.gov.my"},
	})
	if err != nil {
		panic(err)
	}
	csr, _ := servercert.ParseCSR(der)
	st, _ := os.Stat(filepath.Join(dir, "server.key"))
	fmt.Println(csr.Subject, csr.DNSNames, st.Mode().Perm())
	// Output: CN=agency.gov.my,O=Agency,C=MY [agency.gov.my *.agency.gov.my] -rw-------
}

// A CSR with the same content as an issued certificate, for one more
// server of a wildcard certificate.
func ExampleRequestFromCertificate() {
	root, _ := testpki.NewRoot(testpki.Options{})
	key, _ := servercert.GenerateKey(servercert.P256)
	cert, _ := root.Issue(&exampleServerTemplate, key.Public())

	newKey, _ := servercert.GenerateKey(servercert.P384)
	der, err := servercert.CreateCSR(newKey, servercert.RequestFromCertificate(cert))
	if err != nil {
		panic(err)
	}
	csr, _ := servercert.ParseCSR(der)
	fmt.Println(csr.Subject.CommonName, csr.DNSNames, servercert.DescribeKey(csr.PublicKey))
	// Output: agency.gov.my [agency.gov.my *.agency.gov.my] ECDSA P-384
}

// Checking what the CA delivered: the bundle came in the wrong order, so
// the report fixes it and fullchain.pem is written in the right one.
func ExampleCheckBundle() {
	root, _ := testpki.NewRoot(testpki.Options{Name: "Example Root"})
	inter, _ := root.NewIntermediate(testpki.Options{Name: "Example Issuing CA"})
	key, _ := servercert.GenerateKey(servercert.P256)
	cert, _ := inter.Issue(&exampleServerTemplate, key.Public())

	rep, err := servercert.CheckBundle(servercert.BundleRequest{
		Certificate: servercert.Input{Name: "bundle.crt", Data: testpki.PEM(inter.Cert, cert)},
		Key:         key,
		Names:       []string{"www.agency.gov.my"},
		Roots:       root.Pool(),
	})
	if err != nil {
		panic(err)
	}
	for _, f := range rep.Findings {
		fmt.Println(f.Severity, f.Code)
	}
	fmt.Println("ok:", rep.OK, "certificates in fullchain.pem:", len(rep.Chain))
	// Output:
	// ok key-match
	// warning chain-reordered
	// ok chain-complete
	// ok valid
	// ok name-covered
	// ok key-ok
	// ok: true certificates in fullchain.pem: 2
}

// A corrupt delivery names the warranty deadline.
func ExampleCorruptCertificateError() {
	_, err := servercert.CheckBundle(servercert.BundleRequest{
		Certificate: servercert.Input{Name: "server.cer", Data: []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")},
		Acceptance:  time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC),
	})
	var ce *servercert.CorruptCertificateError
	if errors.As(err, &ce) {
		fmt.Println("claim by", ce.ClaimBy.Format(time.DateOnly))
	}
	// Output: claim by 2026-11-17
}

func ExampleComputeDeadlines() {
	delivered, _ := servercert.ParseDate("2026-11-02")
	accepted, _ := servercert.ParseDate("2026-11-03")
	today, _ := servercert.ParseDate("2026-11-20")
	c, err := servercert.ComputeDeadlines(servercert.DeadlineInput{Delivered: delivered, Accepted: accepted, Today: today})
	if err != nil {
		panic(err)
	}
	fmt.Println("install by", c.InstallBy, "claim by", c.WarrantyClaimBy, "overdue:", len(c.Overdue))
	// Output: install by 2026-11-17 claim by 2026-11-17 overdue: 1
}

func ExampleMatchHostname() {
	fmt.Println(servercert.MatchHostname("*.agency.gov.my", "www.agency.gov.my"))
	fmt.Println(servercert.MatchHostname("*.agency.gov.my", "agency.gov.my"))
	fmt.Println(servercert.MatchHostname("*.agency.gov.my", "a.b.agency.gov.my"))
	// Output:
	// true
	// false
	// false
}

// Grading a live endpoint; the roots and known intermediates come from the
// agency's trust store.
func ExampleGrade() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := servercert.Grade(ctx, servercert.GradeRequest{Address: "portal.agency.gov.my:443"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep.Grade)
	for _, r := range rep.Reasons {
		fmt.Println(r)
	}
}
