package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	pdfsig "github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/verify"
)

// A host verifies a CMS signature against its CA's root and CRL server.
func ExampleVerifier_VerifyCMS() {
	srv := testpki.NewCRLServer()
	defer srv.Close()
	root, _ := testpki.NewRoot(testpki.Options{CRLURL: srv.URLFor("/root.crl")})
	inter, _ := root.NewIntermediate(testpki.Options{CRLURL: srv.URLFor("/inter.crl")})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, _ := inter.IssueLeaf("ALI BIN ABU", "900101145678", key.Public(), testpki.LeafOptions{})
	rootCRL, _ := root.BuildCRL(testpki.CRLSpec{})
	interCRL, _ := inter.BuildCRL(testpki.CRLSpec{})
	srv.Set("/root.crl", rootCRL)
	srv.Set("/inter.crl", interCRL)
	sig, _ := testpki.BuildCMS(testpki.CMSSpec{Content: []byte("invoice 42"), Detached: true, Key: key, Cert: leaf,
		Certs: []*x509.Certificate{leaf, inter.Cert}})

	v, err := verify.New(verify.Config{
		Anchors: []*x509.Certificate{root.Cert},
		Cache:   verify.NewCRLCache(), // share one cache per process
		Now:     time.Now,
	})
	if err != nil {
		panic(err)
	}
	results, err := v.VerifyCMS(context.Background(), verify.CMSRequest{Signature: sig, Content: []byte("invoice 42")})
	if err != nil {
		panic(err) // malformed input: a typed roamsign error
	}
	for _, r := range results {
		fmt.Println(r.Verdict, r.TimeSource, r.Revocation[0].Status)
	}
	// Output: valid verification-time good
}

// Raw signatures over a digest, as the signing service returns them.
func ExampleVerifyDigestSignature() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := make([]byte, 32)
	sig, _ := ecdsa.SignASN1(rand.Reader, key, digest)
	fmt.Println(verify.VerifyDigestSignature(key.Public(), crypto.SHA256, digest, sig, false))
	// Output: <nil>
}

// Every signature of a PDF is reported, with what happened after it.
func ExampleVerifier_VerifyPDF() {
	srv := testpki.NewCRLServer()
	defer srv.Close()
	root, _ := testpki.NewRoot(testpki.Options{CRLURL: srv.URLFor("/root.crl")})
	inter, _ := root.NewIntermediate(testpki.Options{CRLURL: srv.URLFor("/inter.crl")})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, _ := inter.IssueLeaf("ALI BIN ABU", "900101145678", key.Public(), testpki.LeafOptions{})
	rootCRL, _ := root.BuildCRL(testpki.CRLSpec{})
	interCRL, _ := inter.BuildCRL(testpki.CRLSpec{})
	srv.Set("/root.crl", rootCRL)
	srv.Set("/inter.crl", interCRL)
	var signed bytes.Buffer
	doc := pdfxtest.Generate(pdfxtest.Options{})
	_ = pdfsig.Sign(context.Background(), bytes.NewReader(doc), int64(len(doc)), &signed, key,
		[]*x509.Certificate{leaf, inter.Cert}, pdfsig.Options{Reason: "Perakuan 1"})

	v, _ := verify.New(verify.Config{Anchors: []*x509.Certificate{root.Cert}})
	res, err := v.VerifyPDF(context.Background(), verify.PDFRequest{Document: bytes.NewReader(signed.Bytes()), Size: int64(signed.Len())})
	if err != nil {
		panic(err)
	}
	for _, s := range res.Signatures {
		fmt.Println(s.Verdict, s.Kind, s.Reason, s.ModifiedAfterSigning)
	}
	// Output: valid approval Perakuan 1 false
}

// An archive verifies offline: the CRLs come from a folder, nothing is
// fetched, and the result says which source decided and with what
// indication.
func ExampleNewCRLDirectory() {
	root, _ := testpki.NewRoot(testpki.Options{})
	inter, _ := root.NewIntermediate(testpki.Options{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, _ := inter.IssueLeaf("SITI BINTI ALI", "900101145678", key.Public(), testpki.LeafOptions{})
	dir, _ := os.MkdirTemp("", "crls")
	defer os.RemoveAll(dir)
	for name, ca := range map[string]*testpki.CA{"root.crl": root, "inter.crl": inter} {
		der, _ := ca.BuildCRL(testpki.CRLSpec{})
		_ = os.WriteFile(filepath.Join(dir, name), der, 0o600)
	}
	crls, err := verify.NewCRLDirectory(dir)
	if err != nil {
		panic(err)
	}
	v, _ := verify.New(verify.Config{
		Anchors:    []*x509.Certificate{root.Cert},
		CRLSources: []verify.CRLSource{crls},
		Offline:    true,
	})
	r := v.VerifyChain(context.Background(), verify.ChainRequest{Leaf: leaf, Intermediates: []*x509.Certificate{inter.Cert}})
	fmt.Println(r.Verdict, r.Indication, r.Revocation[0].Origin)

	// Without the folder the same request cannot be decided.
	v, _ = verify.New(verify.Config{Anchors: []*x509.Certificate{root.Cert}, Offline: true})
	r = v.VerifyChain(context.Background(), verify.ChainRequest{Leaf: leaf, Intermediates: []*x509.Certificate{inter.Cert}})
	fmt.Println(r.Verdict, r.Indication, r.SubIndication)
	// Output:
	// valid passed directory
	// indeterminate indeterminate try_later
}
