package pdf_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log"
	"time"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/pdf"
)

// The host prepares the signature and shows the "Data Hash To Sign"; the
// remote signing service signs only that hash; the host completes the file.
func ExamplePrepare() {
	root, _ := testpki.NewRoot(testpki.Options{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // held by the signing service
	leaf, _ := root.IssueLeaf("AMINAH BINTI ALI", "900101145678", key.Public(), testpki.LeafOptions{})
	chain := []*x509.Certificate{leaf, root.Cert}
	document := pdfxtest.Generate(pdfxtest.Options{}) // the host's PDF

	// Host, request 1: prepare and keep the state.
	prep, err := pdf.Prepare(context.Background(), bytes.NewReader(document), int64(len(document)), chain, pdf.Options{
		Reason:     "Perakuan 1",
		Location:   "Putrajaya",
		Appearance: &pdf.Appearance{Page: 1, Rect: [4]float64{320, 40, 560, 100}},
	})
	if err != nil {
		log.Fatal(err)
	}
	state, _ := prep.MarshalBinary()
	dataHashToSign := base64.StdEncoding.EncodeToString(prep.Digest())

	// Signing service, after PIN + OTP: signs the hash.
	digest, _ := base64.StdEncoding.DecodeString(dataHashToSign)
	signature, _ := key.Sign(rand.Reader, digest, prep.SignerOpts())

	// Host, request 2: resume and write the signed PDF.
	back, err := pdf.Resume(state, bytes.NewReader(document), int64(len(document)), nil)
	if err != nil {
		log.Fatal(err)
	}
	var signed bytes.Buffer
	if err := back.Complete(context.Background(), signature, &signed); err != nil {
		log.Fatal(err)
	}
	fmt.Println(bytes.HasPrefix(signed.Bytes(), document), len(dataHashToSign))
	// Output: true 44
}

// One step with a local key: a certification signature that still allows
// form filling and further signatures, with a timestamp from a TSA.
func ExampleSign() {
	root, _ := testpki.NewRoot(testpki.Options{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, _ := root.IssueLeaf("AMINAH BINTI ALI", "900101145678", key.Public(), testpki.LeafOptions{})
	document := pdfxtest.Generate(pdfxtest.Options{})

	var signed bytes.Buffer
	err := pdf.Sign(context.Background(), bytes.NewReader(document), int64(len(document)), &signed,
		key, []*x509.Certificate{leaf, root.Cert}, pdf.Options{
			Certify:     pdf.FormFilling,
			Reason:      "Perakuan 1",
			SigningTime: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
			// Timestamper: &pdf.TSAClient{URL: "http://tsa.example/tsr", HTTPClient: &http.Client{Timeout: 10 * time.Second}},
		})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bytes.Contains(signed.Bytes(), []byte("/SubFilter /ETSI.CAdES.detached")))
	// Output: true
}
