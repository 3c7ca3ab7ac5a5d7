package pdf_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/cms"
	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/verify"
	"github.com/stretchr/testify/require"
)

// TestLongTerm makes B-T, B-LT (with /VRI) and B-LTA documents and checks
// each with qpdf, poppler's pdfsig (every signature and document
// time-stamp valid), openssl ts -verify on every time-stamp token, and
// package verify offline, from the document's own material only.
func TestLongTerm(t *testing.T) {
	f := ltvtest.New(t)
	bt := f.BT(t, ltvtest.Document())
	blt := f.BLT(t, bt, true)
	require.Greater(t, len(blt), len(bt))
	blta := f.BLTA(t, blt)
	nss := nssTrusting(t, f.Root.Cert)
	for name, doc := range map[string][]byte{"B-LT": blt, "B-LTA": blta} {
		t.Run(name, func(t *testing.T) {
			n := 1
			if name == "B-LTA" {
				n = 2
			}
			requireLongTerm(t, f, doc, nss, n, 1)
		})
	}
	t.Run("DSS", func(t *testing.T) {
		r, err := pdfx.Open(bytes.NewReader(blta), int64(len(blta)), pdfx.Limits{})
		require.NoError(t, err)
		cat, err := r.Catalog()
		require.NoError(t, err)
		d, err := r.ResolveDict(cat["DSS"], "DSS")
		require.NoError(t, err)
		for _, k := range []pdfx.Name{"Certs", "CRLs"} {
			arr, ok := d[k].(pdfx.Array)
			require.True(t, ok, "/DSS has no /%s array", k)
			seen := map[string]bool{}
			for _, el := range arr {
				s, err := r.Get(el.(pdfx.Ref))
				require.NoError(t, err)
				data, err := r.StreamData(s.(*pdfx.Stream))
				require.NoError(t, err)
				require.False(t, seen[string(data)], "duplicate item in /%s", k)
				seen[string(data)] = true
			}
		}
		vri, err := r.ResolveDict(d["VRI"], "VRI")
		require.NoError(t, err)
		require.Len(t, vri, 1)
		for k := range vri {
			require.Regexp(t, `^[0-9A-F]{40}$`, string(k))
		}
	})
	t.Run("Idempotent", func(t *testing.T) {
		again := f.BLT(t, blt, true)
		require.Equal(t, blt, again, "AddLTV added material that was there")
		out, rep := f.Extend(t, blta, time.Now())
		require.False(t, rep.Changed, rep.Reason)
		require.Equal(t, blta, out)
		// Close to the TSA certificate's expiry the time-stamp is renewed.
		renewed, rep := f.Extend(t, blta, f.TSA.Cert.NotAfter.Add(-24*time.Hour))
		require.True(t, rep.Changed)
		require.Len(t, timestampTokens(t, renewed), 3)
		pdfxtest.Check(t, renewed)
		requirePdfsig(t, renewed, nss, 3, 1)
	})
}

// requireLongTerm checks a B-LT or B-LTA document with n signatures and
// document time-stamps, cades of them signatures: qpdf --check, pdfsig,
// openssl ts -verify on every time-stamp token, and verify offline (every
// signature valid) from the document's own material; it returns verify's
// result. With nss empty pdfsig is not run: poppler 22.12 with NSS reports
// the second of two signatures by one certificate as "Unknown issue with
// Certificate or corrupted data", however the document was made.
func requireLongTerm(t testing.TB, f *ltvtest.Fixture, doc []byte, nss string, n, cades int) *verify.PDFResult {
	t.Helper()
	pdfxtest.Check(t, doc)
	if nss != "" {
		requirePdfsig(t, doc, nss, n, cades)
	}
	tokens := timestampTokens(t, doc)
	require.Len(t, tokens, n)
	for _, tok := range tokens {
		opensslTSVerify(t, tok, f)
	}
	res := verifyOffline(t, f, doc, time.Now())
	require.Len(t, res.Signatures, n)
	for _, s := range res.Signatures {
		require.Equal(t, verify.Valid, s.Verdict, "%s %s: %+v", s.Field, s.Kind, s.Failed())
	}
	return res
}

// verifyOffline verifies doc with no network, at now.
func verifyOffline(t testing.TB, f *ltvtest.Fixture, doc []byte, now time.Time) *verify.PDFResult {
	t.Helper()
	v, err := verify.New(verify.Config{Anchors: f.Anchors(), Offline: true, Now: func() time.Time { return now }})
	require.NoError(t, err)
	res, err := v.VerifyPDF(context.Background(), verify.PDFRequest{Document: bytes.NewReader(doc), Size: int64(len(doc))})
	require.NoError(t, err)
	return res
}

// nssTrusting returns an NSS database that trusts root.
func nssTrusting(t testing.TB, root *x509.Certificate) string {
	t.Helper()
	dir := t.TempDir()
	certutil := pdfxtest.Tool(t, "certutil")
	out, err := exec.Command(certutil, "-N", "-d", "sql:"+dir, "--empty-password").CombinedOutput()
	require.NoError(t, err, "certutil -N:\n%s", out)
	pem := filepath.Join(dir, "root.pem")
	require.NoError(t, os.WriteFile(pem, testpki.PEM(root), 0o600))
	out, err = exec.Command(certutil, "-A", "-d", "sql:"+dir, "-n", "root", "-t", "CT,C,C", "-i", pem).CombinedOutput()
	require.NoError(t, err, "certutil -A:\n%s", out)
	return "sql:" + dir
}

var (
	reSigValid   = regexp.MustCompile(`Signature Validation: Signature is Valid\.`)
	reSigTrusted = regexp.MustCompile(`Certificate Validation: Certificate is Trusted\.`)
	reSigNo      = regexp.MustCompile(`(?m)^Signature #\d+:`)
)

// requirePdfsig runs poppler's pdfsig: n signatures and document
// time-stamps listed (after a document time-stamp, the whole document
// signed), and the
// first cades of them (the CAdES signatures) valid and trusted. Poppler
// (22.12) lists document time-stamps but does not validate them ("Unable
// to validate this type of signature"): their tokens are checked with
// openssl ts -verify and package verify instead.
func requirePdfsig(t testing.TB, doc []byte, nssDir string, n, cades int) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "doc.pdf")
	require.NoError(t, os.WriteFile(f, doc, 0o600))
	args := []string{f}
	if nssDir != "" {
		args = append([]string{"-nssdir", nssDir}, args...)
	}
	out, _ := exec.Command(pdfxtest.Tool(t, "pdfsig"), args...).CombinedOutput()
	require.Len(t, reSigNo.FindAllString(string(out), -1), n, "pdfsig:\n%s", out)
	require.Len(t, reSigValid.FindAllString(string(out), -1), cades, "pdfsig:\n%s", out)
	require.Len(t, reSigTrusted.FindAllString(string(out), -1), cades, "pdfsig:\n%s", out)
	if n > cades {
		require.Contains(t, string(out), "- Total document signed", "pdfsig:\n%s", out)
	}
}

// stampedData is a time-stamp token and the SHA-256 digest of the data
// it must cover, computed here from the document.
type stampedData struct {
	token, digest []byte
}

// timestampTokens returns every time-stamp token of doc: the signature
// time-stamps of its CMS signatures (over the signature value) and its
// document time-stamps (over the ByteRange, hashed with the algorithm the
// token's imprint names).
func timestampTokens(t testing.TB, doc []byte) []stampedData {
	t.Helper()
	var out []stampedData
	for _, sig := range pdf.SignatureDicts(t, doc) {
		der, _, err := cms.FirstElement(sig["Contents"].(pdfx.String))
		require.NoError(t, err)
		if sig["SubFilter"] == pdfx.Name("ETSI.RFC3161") {
			require.Equal(t, pdfx.Name("DocTimeStamp"), sig["Type"])
			br := sig["ByteRange"].(pdfx.Array)
			sd, err := cms.ParseSignedData("test", der, 1<<20)
			require.NoError(t, err)
			tst, err := cms.ParseTSTInfo(sd.EContent)
			require.NoError(t, err)
			h := tst.Hash.New() // the imprint's algorithm, SHA-256 unless asked otherwise
			a, b, c, d := br[0].(int64), br[1].(int64), br[2].(int64), br[3].(int64)
			h.Write(doc[a : a+b])
			h.Write(doc[c : c+d])
			out = append(out, stampedData{token: der, digest: h.Sum(nil)})
			continue
		}
		sd, err := cms.ParseSignedData("test", der, 1<<20)
		require.NoError(t, err)
		a := cms.Attr(sd.SignerInfos[0].UnsignedAttrs, cms.RawAttrTimestampToken)
		require.NotNil(t, a, "signature %d has no time-stamp", len(out))
		sum := sha256.Sum256(sd.SignerInfos[0].Signature)
		out = append(out, stampedData{token: a.Values[0], digest: sum[:]})
	}
	return out
}

// opensslTSVerify checks a token with openssl ts -verify against the
// TSA's chain: the imprint is the digest computed here, the signature,
// the TSA's certificate and its path, and the ESS binding.
func opensslTSVerify(t testing.TB, sd stampedData, f *ltvtest.Fixture) {
	t.Helper()
	testpki.OpenSSLVerifyToken(t, sd.token, sd.digest, []*x509.Certificate{f.Root.Cert, f.CA.Cert}, nil)
}
