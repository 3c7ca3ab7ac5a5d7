package pdf_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/pdf"
)

// A PDF encrypted with permissions only (it opens without a password) is
// refused by Prepare; once its user agreed, the host repairs it into a
// decrypted copy, keeps and shows that copy, and signs it.
func ExampleRepair() {
	root, _ := testpki.NewRoot(testpki.Options{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, _ := root.IssueLeaf("AMINAH BINTI ALI", "900101145678", key.Public(), testpki.LeafOptions{})
	chain := []*x509.Certificate{leaf, root.Cert}
	ctx := context.Background()
	document, err := os.ReadFile("testdata/owner-encrypted.pdf")
	if err != nil {
		log.Fatal(err)
	}

	_, err = pdf.Prepare(ctx, bytes.NewReader(document), int64(len(document)), chain, pdf.Options{})
	fmt.Println(errors.Is(err, pdf.ErrOwnerEncrypted), errors.Is(err, pdf.ErrEncrypted))

	var decrypted bytes.Buffer // in a host: a file it keeps and shows
	rep, err := pdf.Repair(ctx, bytes.NewReader(document), int64(len(document)), &decrypted, pdf.RepairOptions{RemoveEncryption: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Damage)
	for _, fix := range rep.Fixes {
		fmt.Println("-", fix)
	}

	var signed bytes.Buffer
	err = pdf.Sign(ctx, bytes.NewReader(decrypted.Bytes()), int64(decrypted.Len()), &signed, key, chain, pdf.Options{Reason: "Perakuan 1"})
	fmt.Println(err == nil, bytes.HasPrefix(signed.Bytes(), decrypted.Bytes()))
	// Output:
	// true true
	// the document is encrypted with permissions only
	// - removed the encryption (no password is needed to open the document; the owner password's restrictions are removed)
	// - wrote a clean copy with a new cross-reference table
	// true true
}
