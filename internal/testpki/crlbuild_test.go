package testpki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"testing"
	"time"
)

func TestBuildCRLParsesWithStdlib(t *testing.T) {
	root, err := NewRoot(Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	der, err := root.BuildCRL(CRLSpec{
		Number:      big.NewInt(7),
		FreshestCRL: "http://example.test/delta.crl",
		Entries:     []CRLEntry{{Revocation: Revocation{Serial: big.NewInt(42), Time: now, Reason: ReasonCertificateHold}, InvalidityDate: now.Add(-time.Hour)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(root.Cert); err != nil {
		t.Fatal(err)
	}
	if crl.Number.Int64() != 7 || len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].ReasonCode != ReasonCertificateHold {
		t.Fatalf("%+v", crl)
	}
	if !bytes.Equal(crl.RawIssuer, root.Cert.RawSubject) {
		t.Fatal("issuer")
	}
}

func TestTSAToken(t *testing.T) {
	root, _ := NewRoot(Options{})
	tsa, err := root.NewTSA(LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := tsa.Token([]byte("x"), time.Now()); err != nil || len(tok) < 100 {
		t.Fatalf("token %d bytes: %v", len(tok), err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, _ := root.IssueLeaf("A", "900101145678", k.Public(), LeafOptions{})
	if _, err := BuildCMS(CMSSpec{Content: []byte("x"), Key: k, Cert: leaf}); err != nil {
		t.Fatal(err)
	}
}
