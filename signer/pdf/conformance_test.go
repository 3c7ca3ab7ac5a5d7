package pdf_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
	"time"

	dpdf "github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/revocation"
	"github.com/digitorus/pdfsign/sign"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/adestest"
	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/verify"
)

// This file checks the package's outputs against ETSI EN 319 142-1 (PAdES
// baseline B-B, B-T, B-LT, B-LTA) and ISO 32000-2 clause 12.8, with the
// CMS read by package adestest (RFC 5652, RFC 5035, RFC 3161, its own
// ASN.1 reading), the way an outside PAdES validator reads them.

// sigDict is one signature dictionary of a document with the bytes it
// covers.
type sigDict struct {
	dict     pdfx.Dict
	contents []byte // the /Contents string, padding included
	der      []byte // the DER element at its start
	covered  []byte // the ByteRange bytes
	br       [4]int64
}

// signatureDicts returns the document's signature and document
// time-stamp dictionaries, in field order, after checking the ByteRange
// rules of ISO 32000-2 clause 12.8.1: it starts at 0 and excludes exactly
// the /Contents hexadecimal string, delimiters included; the rest of the
// /Contents is zero padding.
func signatureDicts(t testing.TB, doc []byte) []sigDict {
	t.Helper()
	var out []sigDict
	for _, sd := range pdf.SignatureDicts(t, doc) {
		s := sigDict{dict: sd, contents: []byte(sd["Contents"].(pdfx.String))}
		br := sd["ByteRange"].(pdfx.Array)
		require.Len(t, br, 4)
		for i := range br {
			s.br[i] = br[i].(int64)
		}
		require.Zero(t, s.br[0], "ByteRange starts at 0")
		gap := doc[s.br[1]:s.br[2]]
		require.Equal(t, byte('<'), gap[0])
		require.Equal(t, byte('>'), gap[len(gap)-1])
		raw, err := hex.DecodeString(string(gap[1 : len(gap)-1]))
		require.NoError(t, err, "the gap is exactly the /Contents hex string")
		require.Equal(t, s.contents, raw)
		var el asn1.RawValue
		rest, err := asn1.Unmarshal(raw, &el)
		require.NoError(t, err)
		require.Equal(t, make([]byte, len(rest)), rest, "/Contents is padded with zeros")
		s.der = el.FullBytes
		s.covered = append(append([]byte(nil), doc[:s.br[1]]...), doc[s.br[2]:s.br[2]+s.br[3]]...)
		tail := doc[s.br[2]+s.br[3]:]
		require.Regexp(t, `^(\r?\n)?$|^(\r?\n)?(\d+ 0 obj|xref|%)`, string(tail[:min(len(tail), 12)]), "the ByteRange ends at the end of a revision")
		require.Contains(t, string(doc[:s.br[2]+s.br[3]][max(0, s.br[2]+s.br[3]-7):]), "%%EOF")
		out = append(out, s)
	}
	return out
}

// checkBB checks a PAdES-B-B signature (EN 319 142-1 clause 6.3, table 1
// and its additional requirements: the signature dictionary here, its
// CMS with package adestest) and returns its SignedData.
func checkBB(t testing.TB, s sigDict, leaf *x509.Certificate) *adestest.SignedData {
	t.Helper()
	d := s.dict
	require.Equal(t, pdfx.Name("Sig"), d["Type"])
	require.NotNil(t, d["Filter"], "/Filter")
	require.Equal(t, pdfx.Name("ETSI.CAdES.detached"), d["SubFilter"])
	require.Nil(t, d["Cert"], "/Cert shall not be present")
	m, ok := d["M"].(pdfx.String)
	require.True(t, ok, "/M shall be present")
	require.Regexp(t, regexp.MustCompile(`^D:\d{14}(Z|[+-]\d\d'\d\d'?)$`), string(m))
	return adestest.CheckBB(t, s.der, s.covered, leaf, adestest.PAdES)
}

// checkDSS checks the catalog's /DSS (EN 319 142-1 clause 5.4.2, ISO
// 32000-2 clause 12.8.4.3): /Certs, /CRLs and /OCSPs are arrays of
// indirect streams of DER certificates, CRLs and OCSPResponses; every CA
// certificate of the chain and of the TSA's path is there with a CRL of
// its issuer; /VRI keys are the uppercase hexadecimal SHA-1 of a
// signature's /Contents, each with a /TU date.
func checkDSS(t testing.TB, doc []byte, sigs []sigDict, chain []*x509.Certificate) {
	t.Helper()
	r, cat := pdf.OpenCatalog(t, doc)
	dss, err := r.ResolveDict(cat["DSS"], "DSS")
	require.NoError(t, err, "B-LT: the catalog has a /DSS")
	streams := func(k pdfx.Name) [][]byte {
		if dss[k] == nil {
			return nil
		}
		arr, ok := dss[k].(pdfx.Array)
		require.True(t, ok, "/%s is an array", k)
		var out [][]byte
		for _, el := range arr {
			ref, ok := el.(pdfx.Ref)
			require.True(t, ok, "/%s holds indirect references", k)
			o, err := r.Get(ref)
			require.NoError(t, err)
			st, ok := o.(*pdfx.Stream)
			require.True(t, ok, "/%s holds streams", k)
			data, err := r.StreamData(st)
			require.NoError(t, err)
			out = append(out, data)
		}
		return out
	}
	certs := map[string]bool{}
	for _, der := range streams("Certs") {
		c, err := x509.ParseCertificate(der)
		require.NoError(t, err, "a /Certs stream is a DER certificate")
		certs[string(c.Raw)] = true
	}
	crlIssuers := map[string]bool{}
	for _, der := range streams("CRLs") {
		l, err := x509.ParseRevocationList(der)
		require.NoError(t, err, "a /CRLs stream is a DER CRL")
		crlIssuers[string(l.RawIssuer)] = true
	}
	for _, der := range streams("OCSPs") {
		var resp struct {
			Status asn1.Enumerated
			Bytes  asn1.RawValue `asn1:"explicit,tag:0"`
		}
		rest, err := asn1.Unmarshal(der, &resp)
		require.NoError(t, err, "an /OCSPs stream is a DER OCSPResponse (not a BasicOCSPResponse)")
		require.Empty(t, rest)
		require.Zero(t, resp.Status, "successful")
	}
	for _, c := range chain[:len(chain)-1] {
		require.True(t, certs[string(chain[1].Raw)], "the issuing CA is in /Certs")
		require.True(t, crlIssuers[string(c.RawIssuer)], "a CRL of %s's issuer is in /CRLs", c.Subject)
	}
	if dss["VRI"] == nil {
		return
	}
	vri, err := r.ResolveDict(dss["VRI"], "VRI")
	require.NoError(t, err)
	keys := map[pdfx.Name]bool{}
	for _, s := range sigs {
		sum := sha1.Sum(s.contents)
		keys[pdfx.Name(strings.ToUpper(hex.EncodeToString(sum[:])))] = true
	}
	for k, v := range vri {
		require.True(t, keys[k], "VRI key %s is the uppercase hex SHA-1 of a signature's /Contents", k)
		e, err := r.ResolveDict(v, "VRI entry")
		require.NoError(t, err)
		if e["TU"] != nil {
			require.Regexp(t, `^D:\d{14}`, string(e["TU"].(pdfx.String)))
		}
	}
}

// checkESIC checks the catalog's developer extension declaration of EN
// 319 142-1 clauses 5.3 and 5.4 for a PDF 1.x document: /Extensions
// /ESIC with /BaseVersion /1.7 and /ExtensionLevel at least level.
func checkESIC(t testing.TB, doc []byte, level int64) {
	t.Helper()
	r, cat := pdf.OpenCatalog(t, doc)
	ext, err := r.ResolveDict(cat["Extensions"], "Extensions")
	require.NoError(t, err, "the catalog declares /Extensions")
	esic, err := r.ResolveDict(ext["ESIC"], "ESIC")
	require.NoError(t, err, "/Extensions declares /ESIC")
	require.Equal(t, pdfx.Name("1.7"), esic["BaseVersion"])
	l, ok := pdfx.Int(esic["ExtensionLevel"])
	require.True(t, ok)
	require.GreaterOrEqual(t, l, level)
	v := r.Version()
	if cv, ok := cat["Version"].(pdfx.Name); ok && string(cv) > v {
		v = string(cv)
	}
	require.GreaterOrEqual(t, v, "1.7", "BaseVersion is at most the document's version (ISO 32000-1 clause 7.12.3)")
}

// signHostBB signs doc PAdES-B-B through the host flow.
func signHostBB(t testing.TB, f *ltvtest.Fixture, doc []byte) []byte {
	t.Helper()
	ctx := context.Background()
	p, err := pdf.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), f.Chain, pdf.Options{})
	require.NoError(t, err)
	sig, err := f.Key.Sign(rand.Reader, p.Digest(), p.SignerOpts())
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, p.Complete(ctx, sig, &out))
	return out.Bytes()
}

// TestPAdESBaselineConformance makes B-B, B-T, B-LT and B-LTA documents
// and checks each against the requirements of its level.
func TestPAdESBaselineConformance(t *testing.T) {
	f := ltvtest.New(t)
	leaf := f.Chain[0]
	t.Run("B-B", func(t *testing.T) {
		for _, version := range []string{"1.4", "1.7"} {
			doc := signHostBB(t, f, pdfxtest.Generate(pdfxtest.Options{Version: version}))
			sigs := signatureDicts(t, doc)
			require.Len(t, sigs, 1)
			require.Equal(t, int64(len(doc)), sigs[0].br[2]+sigs[0].br[3], "the ByteRange covers the whole file but /Contents")
			sd := checkBB(t, sigs[0], leaf)
			require.Empty(t, sd.SignerInfos[0].UnsignedAttrs)
			checkESIC(t, doc, 2)
		}
		// ISO 32000-2 defines ETSI.CAdES.detached: a PDF 2.0 document
		// declares no extension for it.
		doc := signHostBB(t, f, pdfxtest.Generate(pdfxtest.Options{Version: "2.0"}))
		checkBB(t, signatureDicts(t, doc)[0], leaf)
		require.NotContains(t, string(doc), "/ESIC")
		require.NotContains(t, string(doc), "/Version")
	})
	bt := f.BT(t, ltvtest.Document())
	t.Run("B-T", func(t *testing.T) {
		sigs := signatureDicts(t, bt)
		require.Len(t, sigs, 1)
		adestest.CheckBT(t, checkBB(t, sigs[0], leaf))
		checkESIC(t, bt, 2)
	})
	blt := f.BLT(t, bt, true)
	t.Run("B-LT", func(t *testing.T) {
		sigs := signatureDicts(t, blt)
		require.Len(t, sigs, 1)
		adestest.CheckBT(t, checkBB(t, sigs[0], leaf))
		checkDSS(t, blt, sigs, f.Chain)
		checkESIC(t, blt, 1)
	})
	blta := f.BLTA(t, blt)
	t.Run("B-LTA", func(t *testing.T) {
		sigs := signatureDicts(t, blta)
		require.Len(t, sigs, 2)
		adestest.CheckBT(t, checkBB(t, sigs[0], leaf))
		checkDSS(t, blta, sigs, f.Chain)
		checkESIC(t, blta, 1)
		dts := sigs[1]
		require.Equal(t, pdfx.Name("DocTimeStamp"), dts.dict["Type"])
		require.Equal(t, pdfx.Name("ETSI.RFC3161"), dts.dict["SubFilter"])
		require.Equal(t, int64(len(blta)), dts.br[2]+dts.br[3])
		adestest.CheckToken(t, dts.der, dts.covered)
		dssAt := bytes.Index(blta, []byte("/Type /DSS"))
		require.Positive(t, dssAt)
		require.Less(t, int64(dssAt), dts.br[1], "the document time-stamp covers the /DSS revision")
	})
	t.Run("B-LTA in one pass", func(t *testing.T) {
		doc := ltvtest.Document()
		ctx := context.Background()
		p, err := pdf.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), f.Chain, pdf.Options{Timestamper: f.Client})
		require.NoError(t, err)
		sig, err := f.Key.Sign(rand.Reader, p.Digest(), p.SignerOpts())
		require.NoError(t, err)
		var out bytes.Buffer
		_, err = p.CompleteLTA(ctx, sig, &out, pdf.LTAOptions{Timestamper: f.Client, Validator: f.Validator, VRI: true})
		require.NoError(t, err)
		lta := out.Bytes()
		sigs := signatureDicts(t, lta)
		require.Len(t, sigs, 2)
		adestest.CheckBT(t, checkBB(t, sigs[0], leaf))
		checkDSS(t, lta, sigs, f.Chain)
		checkESIC(t, lta, 2)
		require.Equal(t, pdfx.Name("DocTimeStamp"), sigs[1].dict["Type"])
		adestest.CheckToken(t, sigs[1].der, sigs[1].covered)
	})
	t.Run("ESIC after a foreign signature", func(t *testing.T) {
		// A B-T document from a signer that declares no extension gets
		// level 1 with its /DSS, and verify still finds the signature
		// unmodified.
		doc := foreignBT(t, f, ltvtest.Document())
		require.NotContains(t, string(doc), "/ESIC")
		lt := f.BLT(t, doc, false)
		checkESIC(t, lt, 1)
		res := verifyOffline(t, f, lt, time.Now())
		require.Len(t, res.Signatures, 1)
		require.Equal(t, verify.Valid, res.Signatures[0].Verdict, "%+v", res.Signatures[0].Failed())
	})
}

// foreignBT signs doc with digitorus/pdfsign and a signature time-stamp
// from the fixture's TSA: a signature that declares no extension.
func foreignBT(t testing.TB, f *ltvtest.Fixture, doc []byte) []byte {
	t.Helper()
	rdr, err := dpdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, sign.Sign(bytes.NewReader(doc), &out, rdr, int64(len(doc)), sign.SignData{
		Signature:          sign.SignDataSignature{CertType: sign.ApprovalSignature, Info: sign.SignDataSignatureInfo{Name: "foreign"}},
		Signer:             f.Key.(crypto.Signer),
		DigestAlgorithm:    crypto.SHA256,
		Certificate:        f.Chain[0],
		CertificateChains:  [][]*x509.Certificate{f.Chain},
		TSA:                sign.TSA{URL: f.TSAServer.URL},
		RevocationFunction: func(*x509.Certificate, *x509.Certificate, *revocation.InfoArchival) error { return nil },
	}))
	return out.Bytes()
}
