package pdf_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/ltv"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/tsa"
	"github.com/roamsign/roamsign/verify"
)

// exampleSetting is a CA publishing its CRL, a TSA, a time-stamping
// client, a validator (package ltv over package verify) and a B-T
// signed document; close stops the servers.
type exampleSetting struct {
	client    *tsa.Client
	validator *ltv.Validator
	signed    []byte
	close     func()
	key       *ecdsa.PrivateKey
	chain     []*x509.Certificate
}

func exampleSetup() exampleSetting {
	crls := testpki.NewCRLServer()
	root, _ := testpki.NewRoot(testpki.Options{CRLURL: crls.URLFor("/root.crl")})
	crl, _ := root.CRL(testpki.CRLOptions{})
	crls.Set("/root.crl", crl)
	ts, _ := root.NewTSA(testpki.LeafOptions{})
	srv := httptest.NewServer(ts.Responder())
	client, _ := tsa.New(tsa.Config{TSAs: []tsa.TSA{{URL: srv.URL}}, Chain: tsa.Roots(root.Pool())})
	validator, _ := ltv.New(verify.Config{Anchors: []*x509.Certificate{root.Cert}})

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, _ := root.IssueLeaf("AMINAH BINTI ALI", "900101145678", key.Public(), testpki.LeafOptions{})
	doc := pdfxtest.Generate(pdfxtest.Options{})
	chain := []*x509.Certificate{leaf, root.Cert}
	var signed bytes.Buffer
	// PAdES B-T: a signature time-stamp at completion.
	if err := pdf.Sign(context.Background(), bytes.NewReader(doc), int64(len(doc)), &signed, key,
		chain, pdf.Options{Timestamper: client}); err != nil {
		log.Fatal(err)
	}
	return exampleSetting{client, validator, signed.Bytes(), func() { srv.Close(); crls.Close() }, key, chain}
}

// The host flow at B-LTA: Prepare with a time-stamper, the signature of
// the digest (by the signing service; a local key here), then CompleteLTA
// writes the signature, the /DSS and a document time-stamp in one pass.
func ExamplePrepared_CompleteLTA() {
	s := exampleSetup()
	defer s.close()
	ctx := context.Background()
	doc := pdfxtest.Generate(pdfxtest.Options{})
	p, err := pdf.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), s.chain, pdf.Options{Timestamper: s.client})
	if err != nil {
		log.Fatal(err)
	}
	sig, err := s.key.Sign(rand.Reader, p.Digest(), p.SignerOpts())
	if err != nil {
		log.Fatal(err)
	}
	var lta bytes.Buffer
	rep, err := p.CompleteLTA(ctx, sig, &lta, pdf.LTAOptions{Timestamper: s.client, Validator: s.validator})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Changed, len(rep.Added.Certificates), len(rep.Added.CRLs), bytes.Count(lta.Bytes()[len(doc):], []byte("%%EOF")))
	// Output: true 3 1 3
}

// A B-T document becomes B-LT: the certificates and CRLs that validated
// the signer and the time-stamping authority go into the /DSS.
func ExampleAddLTV() {
	s := exampleSetup()
	defer s.close()
	var blt bytes.Buffer
	rep, err := pdf.AddLTV(context.Background(), bytes.NewReader(s.signed), int64(len(s.signed)), &blt,
		pdf.LTVOptions{Validator: s.validator})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Changed, len(rep.Added.Certificates), len(rep.Added.CRLs))
	// Output: true 3 1
}

// A document time-stamp over the whole document (after a /DSS: B-LTA).
func ExampleAddDocumentTimestamp() {
	s := exampleSetup()
	defer s.close()
	var out bytes.Buffer
	rep, err := pdf.AddDocumentTimestamp(context.Background(), bytes.NewReader(s.signed), int64(len(s.signed)), &out,
		pdf.TimestampOptions{Timestamper: s.client, Validator: s.validator})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Changed, bytes.Contains(out.Bytes(), []byte("/DocTimeStamp")))
	// Output: true true
}

// An archive extends its documents periodically: the first run makes a
// B-T document B-LTA, the next finds nothing to add and writes nothing.
func ExampleExtend() {
	s := exampleSetup()
	defer s.close()
	opts := pdf.ExtendOptions{Timestamper: s.client, Validator: s.validator}
	var lta bytes.Buffer
	rep, err := pdf.Extend(context.Background(), bytes.NewReader(s.signed), int64(len(s.signed)), &lta, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Changed, rep.Reason)
	var again bytes.Buffer
	rep, err = pdf.Extend(context.Background(), bytes.NewReader(lta.Bytes()), int64(lta.Len()), &again, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Changed, again.Len())
	// Output:
	// true no document time-stamp yet
	// false 0
}
