// Package ltvtest builds PAdES B-T, B-LT and B-LTA documents for tests: a
// test PKI whose CAs publish CRLs over HTTP, a development TSA served on
// loopback, the host flow of signer/pdf, and pdf.AddLTV,
// pdf.AddDocumentTimestamp, pdf.Extend and pdf.Prepared.CompleteLTA with
// the package verify validator of package ltv. Tests of signer/pdf and of
// verify (the decade test: verification years later, offline, with the
// CRL server gone) use the same fixture.
//
// It is for tests only.
package ltvtest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/ltv"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/tsa"
	"github.com/roamsign/roamsign/verify"
)

// Fixture is a signer, a TSA and their CAs, all publishing CRLs.
type Fixture struct {
	// Root and CA (an intermediate) issue the signer's and the TSA's
	// certificates; their CRLs are served by CRLs.
	Root, CA *testpki.CA
	CRLs     *testpki.CRLServer
	// Key and Chain are the signer's (leaf, CA, root).
	Key   crypto.Signer
	Chain []*x509.Certificate
	// TSA issues the tokens, served at TSAServer.
	TSA       *testpki.TSA
	TSAServer *httptest.Server
	// Client is a tsa.Client of TSAServer; Validator validates with
	// package verify (online, the CRL server reachable).
	Client    *tsa.Client
	Validator *ltv.Validator
}

// New builds a fixture; everything is closed when t ends.
func New(t testing.TB) *Fixture {
	t.Helper()
	f := &Fixture{CRLs: testpki.NewCRLServer()}
	t.Cleanup(f.CRLs.Close)
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f.Root, err = testpki.NewRoot(testpki.Options{Name: "roamsign LTV Test Root", CRLURL: f.CRLs.URLFor("/root.crl")})
	must(err)
	f.CA, err = f.Root.NewIntermediate(testpki.Options{Name: "roamsign LTV Test CA", CRLURL: f.CRLs.URLFor("/ca.crl")})
	must(err)
	f.PublishCRLs(t)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	f.Key = k
	leaf, err := f.CA.IssueLeaf("AHMAD BIN ALI", "800101145678", k.Public(), testpki.LeafOptions{})
	must(err)
	f.Chain = append([]*x509.Certificate{leaf}, f.CA.Chain()...)
	f.TSA, err = f.CA.NewTSA(testpki.LeafOptions{})
	must(err)
	f.TSAServer = httptest.NewServer(f.TSA.Responder())
	t.Cleanup(f.TSAServer.Close)
	f.Validator, err = ltv.New(verify.Config{Anchors: []*x509.Certificate{f.Root.Cert}})
	must(err)
	f.Client, err = tsa.New(tsa.Config{TSAs: []tsa.TSA{{URL: f.TSAServer.URL}}, Chain: tsa.Roots(f.Root.Pool())})
	must(err)
	return f
}

// PublishCRLs publishes fresh CRLs of both CAs (valid for a day).
func (f *Fixture) PublishCRLs(t testing.TB) {
	t.Helper()
	for path, ca := range map[string]*testpki.CA{"/root.crl": f.Root, "/ca.crl": f.CA} {
		crl, err := ca.CRL(testpki.CRLOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f.CRLs.Set(path, crl)
	}
}

// PublishLargeCACRL publishes, in place of the issuing CA's CRL, one that
// lists n revoked certificates (none of the fixture's: serials from 10⁹),
// and returns it: at 40,000 entries about 0.9 MB, a national CA's.
func (f *Fixture) PublishLargeCACRL(t testing.TB, n int) []byte {
	t.Helper()
	crl, err := f.CA.CRL(testpki.CRLOptions{Entries: testpki.Revoked(1e9, n)})
	if err != nil {
		t.Fatal(err)
	}
	f.CRLs.Set("/ca.crl", crl)
	return crl
}

// Anchors returns the trust anchors (the root) for a verifier.
func (f *Fixture) Anchors() []*x509.Certificate { return []*x509.Certificate{f.Root.Cert} }

// Document returns a small unsigned PDF.
func Document() []byte { return pdfxtest.Generate(pdfxtest.Options{Pages: 1}) }

// BenchDocument returns the unsigned PDF the benchmarks sign: 50 KB of
// three pages with an /Info dictionary, a payment voucher's size.
func BenchDocument() []byte {
	return pdfxtest.Generate(pdfxtest.Options{Pages: 3, Padding: 50 << 10, Info: true})
}

// BT signs doc PAdES B-T through the host flow (prepare, a signature by
// the key over the digest, complete with a signature time-stamp).
func (f *Fixture) BT(t testing.TB, doc []byte) []byte {
	t.Helper()
	p, sig := f.prepareSigned(t, doc)
	var out bytes.Buffer
	if err := p.Complete(context.Background(), sig, &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// prepareSigned prepares doc with a signature time-stamp and signs its
// digest with the key, as the host flow's remote signature would.
func (f *Fixture) prepareSigned(t testing.TB, doc []byte) (*pdf.Prepared, []byte) {
	t.Helper()
	p, err := pdf.Prepare(context.Background(), bytes.NewReader(doc), int64(len(doc)), f.Chain, pdf.Options{Timestamper: f.Client})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := f.Key.Sign(rand.Reader, p.Digest(), p.SignerOpts())
	if err != nil {
		t.Fatal(err)
	}
	return p, sig
}

// LTA signs doc PAdES B-LTA in one pass through the host flow (prepare,
// a signature by the key over the digest, pdf.Prepared.CompleteLTA).
func (f *Fixture) LTA(t testing.TB, doc []byte) []byte {
	t.Helper()
	p, sig := f.prepareSigned(t, doc)
	var out bytes.Buffer
	if _, err := p.CompleteLTA(context.Background(), sig, &out, pdf.LTAOptions{Timestamper: f.Client, Validator: f.Validator}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// BLT adds the /DSS to a B-T document.
func (f *Fixture) BLT(t testing.TB, doc []byte, vri bool) []byte {
	t.Helper()
	var out bytes.Buffer
	rep, err := pdf.AddLTV(context.Background(), bytes.NewReader(doc), int64(len(doc)), &out, pdf.LTVOptions{Validator: f.Validator, VRI: vri})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Changed {
		return doc
	}
	return out.Bytes()
}

// BLTA makes a B-T or B-LT document B-LTA (the /DSS and a document
// time-stamp).
func (f *Fixture) BLTA(t testing.TB, doc []byte) []byte {
	t.Helper()
	out, _ := f.Extend(t, doc, time.Now())
	return out
}

// Extend runs pdf.Extend with the clock at now and returns the output
// (doc itself when nothing needed adding) and the report.
func (f *Fixture) Extend(t testing.TB, doc []byte, now time.Time) ([]byte, *pdf.LTVReport) {
	t.Helper()
	var out bytes.Buffer
	rep, err := pdf.Extend(context.Background(), bytes.NewReader(doc), int64(len(doc)), &out, pdf.ExtendOptions{
		Timestamper: f.Client, Validator: f.Validator, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Changed {
		return doc, rep
	}
	return out.Bytes(), rep
}
