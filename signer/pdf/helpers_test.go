package pdf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/require"
)

// testPKI is a root, an intermediate and an RSA-2048 leaf, shared by the
// tests of this package.
type testPKI struct {
	root, inter *testpki.CA
	key         crypto.Signer
	leaf        *x509.Certificate
	chain       []*x509.Certificate // leaf, intermediate, root
	// A second signer for approval levels.
	key2   crypto.Signer
	chain2 []*x509.Certificate
	nssDir string
}

var (
	pkiOnce   sync.Once
	pkiShared *testPKI
	pkiErr    error
)

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		p := &testPKI{}
		if p.root, pkiErr = testpki.NewRoot(testpki.Options{}); pkiErr != nil {
			return
		}
		if p.inter, pkiErr = p.root.NewIntermediate(testpki.Options{}); pkiErr != nil {
			return
		}
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			pkiErr = err
			return
		}
		p.key = k
		if p.leaf, pkiErr = p.inter.IssueLeaf("AHMAD BIN ALI", "800101145678", k.Public(), testpki.LeafOptions{}); pkiErr != nil {
			return
		}
		p.chain = append([]*x509.Certificate{p.leaf}, p.inter.Chain()...)
		k2, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			pkiErr = err
			return
		}
		p.key2 = k2
		leaf2, err := p.inter.IssueLeaf("SITI BINTI OMAR", "850202105432", k2.Public(), testpki.LeafOptions{})
		if err != nil {
			pkiErr = err
			return
		}
		p.chain2 = append([]*x509.Certificate{leaf2}, p.inter.Chain()...)
		pkiShared = p
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pkiShared
}

// nss returns an NSS database trusting the test root, created once per test
// binary run in a directory removed by the test that created it.
func (p *testPKI) nss(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	certutil := pdfxtest.Tool(t, "certutil")
	if out, err := exec.Command(certutil, "-N", "-d", "sql:"+dir, "--empty-password").CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v\n%s", err, out)
	}
	rootPEM := filepath.Join(dir, "root.pem")
	require.NoError(t, os.WriteFile(rootPEM, testpki.PEM(p.root.Cert), 0o600))
	if out, err := exec.Command(certutil, "-A", "-d", "sql:"+dir, "-n", "root", "-t", "CT,C,C", "-i", rootPEM).CombinedOutput(); err != nil {
		t.Fatalf("certutil -A: %v\n%s", err, out)
	}
	return "sql:" + dir
}

// pdfsig runs poppler's pdfsig and returns its output.
func pdfsig(t testing.TB, data []byte, nssDir string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "signed.pdf")
	require.NoError(t, os.WriteFile(f, data, 0o600))
	args := []string{}
	if nssDir != "" {
		args = append(args, "-nssdir", nssDir)
	}
	out, _ := exec.Command(pdfxtest.Tool(t, "pdfsig"), append(args, f)...).CombinedOutput()
	return string(out)
}

var (
	reValid   = regexp.MustCompile(`Signature Validation: Signature is Valid\.`)
	reTrusted = regexp.MustCompile(`Certificate Validation: Certificate is Trusted\.`)
	reSigs    = regexp.MustCompile(`(?m)^Signature #\d+:`)
)

// requireValid checks the document with qpdf and pdfsig: n signatures, each
// valid and trusted.
func requireValid(t testing.TB, data []byte, n int, nssDir string) {
	t.Helper()
	pdfxtest.Check(t, data)
	out := pdfsig(t, data, nssDir)
	if got := len(reSigs.FindAllString(out, -1)); got != n {
		t.Fatalf("pdfsig found %d signatures, want %d:\n%s", got, n, out)
	}
	if got := len(reValid.FindAllString(out, -1)); got != n {
		t.Fatalf("pdfsig: %d of %d signatures valid:\n%s", got, n, out)
	}
	if got := len(reTrusted.FindAllString(out, -1)); got != n {
		t.Fatalf("pdfsig: %d of %d certificates trusted:\n%s", got, n, out)
	}
}

// requireInvalid checks that pdfsig reports no valid signature among n.
func requireInvalid(t testing.TB, data []byte, nssDir string) {
	t.Helper()
	out := pdfsig(t, data, nssDir)
	if !bytes.Contains([]byte(out), []byte("Signature #1")) {
		t.Fatalf("pdfsig found no signature:\n%s", out)
	}
	if !bytes.Contains([]byte(out), []byte("Signature Validation:")) {
		t.Fatalf("pdfsig did not validate:\n%s", out)
	}
	if reValid.MatchString(out) && len(reValid.FindAllString(out, -1)) == len(reSigs.FindAllString(out, -1)) {
		t.Fatalf("tampered document reported valid:\n%s", out)
	}
}

// docs returns the input documents every test covers.
func docs(t testing.TB) map[string][]byte {
	classic := pdfxtest.Generate(pdfxtest.Options{Pages: 2, Info: true})
	form := pdfxtest.Generate(pdfxtest.Options{Pages: 2, AcroForm: true})
	multi := pdfxtest.QPDF(t, classic, "--object-streams=generate")
	return map[string][]byte{
		"classic":    classic,
		"objstm":     pdfxtest.QPDF(t, classic, "--object-streams=generate"),
		"acroform":   form,
		"acroobjstm": pdfxtest.QPDF(t, form, "--object-streams=generate"),
		"linearized": pdfxtest.QPDF(t, classic, "--linearize"),
		"hybrid":     pdfxtest.Hybrid(),
		"pdf20":      pdfxtest.Generate(pdfxtest.Options{Version: "2.0", Pages: 1}),
		"multirev":   addRevision(t, addRevision(t, multi)),
	}
}

// addRevision appends an incremental update that changes the catalog and
// adds an object, as an editor saving the file would.
func addRevision(t testing.TB, doc []byte) []byte {
	t.Helper()
	r, cat := openCatalog(t, doc)
	u := r.NewUpdate()
	cat = cat.Clone()
	cat["Lang"] = pdfx.String("ms-MY")
	cat["Metadata2"] = u.Add(pdfx.Dict{"Note": pdfx.TextString("revision")})
	u.Put(r.Trailer()["Root"].(pdfx.Ref), cat)
	upd, err := u.Bytes()
	require.NoError(t, err)
	return append(append([]byte(nil), doc...), upd...)
}

// tsaServer is a local RFC 3161 time-stamping authority built on
// digitorus/timestamp, with its own certificate from the test PKI.
type tsaServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newTSA(t testing.TB, p *testPKI) *tsaServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	cert, err := p.inter.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "roamsign Test TSA", Country: []string{"MY"}},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	}, key.Public())
	require.NoError(t, err)
	s := &tsaServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil || r.Header.Get("Content-Type") != "application/timestamp-query" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		ts := timestamp.Timestamp{
			HashAlgorithm:     req.HashAlgorithm,
			HashedMessage:     req.HashedMessage,
			Time:              time.Now().UTC(),
			Policy:            asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1},
			Nonce:             req.Nonce,
			AddTSACertificate: req.Certificates,
			Ordering:          true,
			Qualified:         false,
		}
		resp, err := ts.CreateResponseWithOpts(cert, key, crypto.SHA256)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write(resp)
	}))
	t.Cleanup(s.Close)
	return s
}

// openCatalog opens doc and returns its reader and catalog.
func openCatalog(t testing.TB, doc []byte) (*pdfx.Reader, pdfx.Dict) {
	t.Helper()
	r, err := pdfx.Open(bytes.NewReader(doc), int64(len(doc)), pdfx.Limits{})
	require.NoError(t, err)
	cat, err := r.Catalog()
	require.NoError(t, err)
	return r, cat
}

// signatureDicts returns the signature and document time-stamp
// dictionaries (the /V of every /FT /Sig field) of doc, in field order.
func signatureDicts(t testing.TB, doc []byte) []pdfx.Dict {
	t.Helper()
	r, cat := openCatalog(t, doc)
	acro, err := r.ResolveDict(cat["AcroForm"], "AcroForm")
	require.NoError(t, err)
	fo, err := r.Resolve(acro["Fields"])
	require.NoError(t, err)
	var out []pdfx.Dict
	for _, f := range fo.(pdfx.Array) {
		fd, err := r.ResolveDict(f, "field")
		require.NoError(t, err)
		if fd["FT"] != pdfx.Name("Sig") {
			continue
		}
		sd, err := r.ResolveDict(fd["V"], "signature")
		require.NoError(t, err)
		out = append(out, sd)
	}
	return out
}
