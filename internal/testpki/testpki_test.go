package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
)

func TestHierarchy(t *testing.T) {
	root, err := NewRoot(Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := NewCRLServer()
	defer srv.Close()
	inter, err := root.NewIntermediate(Options{CRLURL: srv.URLFor("/inter.crl")})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, err := inter.IssueLeaf("ALI BIN ABU", "900101145678", k.Public(), LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inters := x509.NewCertPool()
	inters.AddCert(inter.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: root.Pool(), Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("leaf does not chain: %v", err)
	}
	if got, want := roamsign.FormatDN(leaf.RawSubject), "C=MY, CN=ALI BIN ABU, SURNAME=900101145678, SERIALNUMBER=900101145678"; got != want {
		t.Fatalf("subject %q, want the roaming form %q", got, want)
	}
	if len(leaf.CRLDistributionPoints) != 1 {
		t.Fatalf("CRL DP = %v", leaf.CRLDistributionPoints)
	}

	inter.Revoke(leaf.SerialNumber, time.Time{}, 1)
	der, err := inter.CRL(CRLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Set("/inter.crl", der)
	resp, err := http.Get(leaf.CRLDistributionPoints[0])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	crl, err := x509.ParseRevocationList(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(inter.Cert); err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("CRL entries %v", crl.RevokedCertificateEntries)
	}
	if srv.Hits() != 1 {
		t.Fatalf("hits = %d", srv.Hits())
	}
}
