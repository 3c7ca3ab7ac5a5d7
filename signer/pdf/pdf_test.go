package pdf

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/cms"
	"github.com/stretchr/testify/require"
)

func signDoc(t testing.TB, in []byte, key crypto.Signer, chain []*x509.Certificate, opts Options) []byte {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, key, chain, opts), "Sign")
	if !bytes.Equal(out.Bytes()[:len(in)], in) {
		t.Fatal("original bytes changed")
	}
	return out.Bytes()
}

// TestSignDocuments signs every kind of input twice (approval levels by two
// signers, the second visible) and checks both signatures with qpdf and
// pdfsig against the test root.
func TestSignDocuments(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	for name, in := range docs(t) {
		t.Run(name, func(t *testing.T) {
			one := signDoc(t, in, p.key, p.chain, Options{Reason: "Perakuan 1", Location: "Putrajaya", ContactInfo: "ahmad@example.my"})
			requireValid(t, one, 1, nss)
			two := signDoc(t, one, p.key2, p.chain2, Options{Reason: "Perakuan 2",
				Appearance: &Appearance{Page: 1, Rect: [4]float64{300, 40, 560, 110}}})
			requireValid(t, two, 2, nss)
			out := pdfsig(t, two, nss)
			for _, want := range []string{"Signer Certificate Common Name: AHMAD BIN ALI", "Signer Certificate Common Name: SITI BINTI OMAR", "ETSI.CAdES.detached", "Total document signed"} {
				if !bytes.Contains([]byte(out), []byte(want)) {
					t.Fatalf("pdfsig output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestApprovalLevels adds four signatures (certification P=2, then three
// approvals), as a workflow of certifiers, receipt and reviewer would.
func TestApprovalLevels(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	doc := docs(t)["acroform"]
	// poppler's pdfsig (22.x) reports "Unknown issue with Certificate" when
	// one certificate signs twice in a file, so each level has its own signer.
	k3, c3 := ecSigner(t, p, "RECEIPT CLERK", "910404145555")
	k4, c4 := ecSigner(t, p, "REVIEWER", "920505145555")
	steps := []struct {
		key   crypto.Signer
		chain []*x509.Certificate
		opts  Options
	}{
		{p.key, p.chain, Options{Certify: FormFilling, Reason: "Perakuan 1"}},
		{p.key2, p.chain2, Options{Reason: "Perakuan 2", Appearance: &Appearance{Page: 2, Rect: [4]float64{50, 50, 250, 100}}}},
		{k3, c3, Options{Reason: "Akuan Terima", FieldName: "Receipt"}},
		{k4, c4, Options{Reason: "Penyemak", Appearance: &Appearance{Rect: [4]float64{300, 50, 500, 100}, Lines: []string{"Disemak oleh / Reviewed by", "SITI"}}}},
	}
	for i, s := range steps {
		doc = signDoc(t, doc, s.key, s.chain, s.opts)
		requireValid(t, doc, i+1, nss)
	}
}

func TestTwoHalvesEquivalence(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	in := docs(t)["objstm"]
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	opts := Options{SigningTime: at, Reason: "Perakuan 1"}

	oneStep := signDoc(t, in, p.key, p.chain, opts)

	// The host prepares; the "server" sees only the digest; the host completes.
	prep, err := Prepare(context.Background(), bytes.NewReader(in), int64(len(in)), p.chain, opts)
	require.NoError(t, err)
	require.Len(t, prep.Digest(), 32)
	require.Len(t, prep.DocumentDigest(), 32)
	require.NotEmpty(t, prep.SignedAttributes())
	remoteSig := remoteSign(t, p.key, prep.Digest(), prep.SignerOpts())
	// The state survives a round trip through storage.
	state, err := prep.MarshalBinary()
	require.NoError(t, err)
	resumed, err := Resume(state, bytes.NewReader(in), int64(len(in)), nil)
	require.NoError(t, err)
	var twoStep bytes.Buffer
	require.NoError(t, resumed.Complete(context.Background(), remoteSig, &twoStep))
	if !bytes.Equal(twoStep.Bytes(), oneStep) {
		t.Fatal("two-step output differs from the one-step output")
	}
	requireValid(t, twoStep.Bytes(), 1, nss)

	// A wrong signature value is refused and writes nothing.
	var none bytes.Buffer
	bad := bytes.Clone(remoteSig)
	bad[10] ^= 1
	require.ErrorIs(t, prep.Complete(context.Background(), bad, &none), roamsign.ErrInvalidSignature, "bad signature")
	require.Zero(t, none.Len(), "bad signature: bytes written")
	// A CMS built elsewhere over the document digest is embedded as it is.
	ext, err := cms.SignDigest(context.Background(), p.key2, prep.DocumentDigest(), p.chain2, cms.Options{OmitSigningTime: true})
	require.NoError(t, err)
	var external bytes.Buffer
	require.NoError(t, prep.CompleteCMS(context.Background(), ext, &external))
	requireValid(t, external.Bytes(), 1, nss)
	_, err = Resume(state, bytes.NewReader(in), int64(len(in))+1, nil)
	require.ErrorIs(t, err, roamsign.ErrConflict, "resume with another size")
}

// remoteSign stands for the signing service: it receives only a digest.
func remoteSign(t testing.TB, key crypto.Signer, digest []byte, opts crypto.SignerOpts) []byte {
	t.Helper()
	sig, err := key.Sign(rand.Reader, digest, opts)
	require.NoError(t, err)
	return sig
}

func TestAlgorithms(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	ec, ecChain := ecSigner(t, p, "ECDSA SIGNER", "900303125555")
	in := docs(t)["pdf20"]
	cases := map[string]struct {
		key   crypto.Signer
		chain []*x509.Certificate
		opts  Options
	}{
		"rsa-sha384-algprot": {p.key, p.chain, Options{Hash: roamsign.SHA384, AlgorithmProtection: true}},
		"rsa-pss-sha256":     {p.key, p.chain, Options{PSS: true}},
		"ecdsa-p256-sha512":  {ec, ecChain, Options{Hash: roamsign.SHA512}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			requireValid(t, signDoc(t, in, c.key, c.chain, c.opts), 1, nss)
		})
	}
}

func TestTimestamp(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	tsa := newTSA(t, p)
	in := docs(t)["classic"]
	out := signDoc(t, in, p.key, p.chain, Options{Timestamper: &TSAClient{URL: tsa.URL}})
	require.EqualValues(t, 1, tsa.hits.Load(), "TSA hits")
	requireValid(t, out, 1, nss)
	// The token is in the unsigned attributes: the container grew.
	plain := signDoc(t, in, p.key, p.chain, Options{ContentsSize: estimateContents(p.chain, true)})
	if !bytes.Contains(out, []byte("060b2a864886f70d010910020e")) || bytes.Contains(plain, []byte("060b2a864886f70d010910020e")) {
		t.Fatal("signature time-stamp token attribute (1.2.840.113549.1.9.16.2.14) not found in /Contents")
	}
	// A TSA that fails makes Complete fail; nothing is written.
	var w bytes.Buffer
	tsa.Close()
	err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &w, p.key, p.chain, Options{Timestamper: &TSAClient{URL: tsa.URL}})
	require.ErrorIs(t, err, roamsign.ErrUnavailable, "TSA down")
	require.Zero(t, w.Len(), "TSA down: bytes written")
}

func TestTamperedSignedDocument(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	in := docs(t)["classic"]
	signed := signDoc(t, in, p.key, p.chain, Options{Reason: "Perakuan 1"})
	requireValid(t, signed, 1, nss)
	for _, marker := range []string{"roamsign test document", "Perakuan 1"} {
		i := bytes.LastIndex(signed, []byte(marker))
		bad := bytes.Clone(signed)
		bad[i] ^= 1
		requireInvalid(t, bad, nss)
	}
}

func TestPrepareOptions(t *testing.T) {
	p := newPKI(t)
	in := docs(t)["classic"]
	bad := map[string]Options{
		"hash":     {Hash: 9},
		"docmdp":   {Certify: 4},
		"rect":     {Appearance: &Appearance{Rect: [4]float64{10, 10, 5, 5}}},
		"contents": {ContentsSize: 2 << 20},
		// A ContentsSize too small is prepared again by Sign
		// (TestContentsSizing).
	}
	for name, o := range bad {
		t.Run(name, func(t *testing.T) {
			err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), io.Discard, p.key, p.chain, o)
			require.Error(t, err, "accepted")
			require.Contains(t, []roamsign.Kind{roamsign.ErrInvalidInput, roamsign.ErrTooLarge}, roamsign.KindOf(err), "err = %v", err)
		})
	}
	_, err := Prepare(context.Background(), bytes.NewReader(in), int64(len(in)), nil, Options{})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput, "no chain")
}

// ecSigner issues a P-256 signer certificate under the test intermediate.
func ecSigner(t testing.TB, p *testPKI, name, id string) (crypto.Signer, []*x509.Certificate) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf, err := p.inter.IssueLeaf(name, id, k.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	return k, append([]*x509.Certificate{leaf}, p.inter.Chain()...)
}

// TestInputEdges covers files that end without an end-of-line, with padding
// white space, and files refused rather than repaired.
func TestInputEdges(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	classic := docs(t)["classic"]
	noEOL := bytes.TrimSuffix(classic, []byte("\n"))
	requireValid(t, signDoc(t, noEOL, p.key, p.chain, Options{}), 1, nss)
	padded := append(bytes.Clone(classic), "\r\n  \n"...)
	requireValid(t, signDoc(t, padded, p.key, p.chain, Options{}), 1, nss)

	refused := map[string][]byte{
		"junk after %%EOF":  append(bytes.Clone(classic), "garbage"...),
		"no %%EOF":          bytes.TrimSuffix(classic, []byte("%%EOF\n")),
		"truncated":         classic[:len(classic)*2/3],
		"xref outside file": bytes.Replace(classic, []byte("startxref\n"), []byte("startxref\n99"), 1),
	}
	for name, in := range refused {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, p.key, p.chain, Options{})
			require.ErrorIs(t, err, roamsign.ErrInvalidInput)
			require.ErrorIs(t, err, ErrRepairable, "the refusal says a repaired copy can be signed")
			require.Contains(t, err.Error(), "-repair")
			require.NotContains(t, err.Error(), "%%", "the end-of-file marker is named in words")
			require.Zero(t, out.Len(), "bytes written")
		})
	}
}

// TestConcurrentSign signs one shared document from many goroutines.
func TestConcurrentSign(t *testing.T) {
	p := newPKI(t)
	in := docs(t)["objstm"]
	ra := bytes.NewReader(in)
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			var out bytes.Buffer
			errs <- Sign(context.Background(), ra, int64(len(in)), &out, p.key, p.chain, Options{})
		}()
	}
	for i := 0; i < 8; i++ {
		require.NoError(t, <-errs)
	}
}

func TestContextCancelled(t *testing.T) {
	p := newPKI(t)
	in := docs(t)["classic"]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Prepare(ctx, bytes.NewReader(in), int64(len(in)), p.chain, Options{})
	require.Error(t, err, "cancelled context accepted")
}

func testImages(t testing.TB) map[string][]byte {
	img := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for y := 0; y < 20; y++ {
		for x := 0; x < 40; x++ {
			img.Set(x, y, color.NRGBA{R: uint8(6 * x), G: 0, B: 120, A: uint8(255 - 5*y)})
		}
	}
	var pngBuf, jpgBuf bytes.Buffer
	require.NoError(t, png.Encode(&pngBuf, img))
	require.NoError(t, jpeg.Encode(&jpgBuf, img, nil))
	return map[string][]byte{"png": pngBuf.Bytes(), "jpeg": jpgBuf.Bytes()}
}

// TestVisibleAppearance signs with images and renders the page with
// poppler's pdftoppm to see that the widget is drawn where it belongs.
func TestVisibleAppearance(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	in := docs(t)["pdf20"]
	for name, img := range testImages(t) {
		t.Run(name, func(t *testing.T) {
			out := signDoc(t, in, p.key, p.chain, Options{Reason: "Perakuan 1", Location: "Kuala Lumpur",
				Appearance: &Appearance{Page: 1, Rect: [4]float64{300, 40, 560, 110}, Image: img}})
			requireValid(t, out, 1, nss)
			dark := renderDarkPixels(t, out, 300, 40, 560, 110)
			require.GreaterOrEqual(t, dark, 200, "dark pixels in the signature rectangle")
			require.Zero(t, renderDarkPixels(t, out, 300, 200, 560, 270), "dark pixels outside the signature rectangle")
		})
	}
	invisible := signDoc(t, in, p.key, p.chain, Options{})
	require.Zero(t, renderDarkPixels(t, invisible, 300, 40, 560, 110), "pixels drawn by an invisible signature")
	bad := Options{Appearance: &Appearance{Rect: [4]float64{0, 0, 100, 50}, Image: []byte("GIF89a not supported")}}
	require.ErrorIs(t, Sign(context.Background(), bytes.NewReader(in), int64(len(in)), io.Discard, p.key, p.chain, bad), roamsign.ErrInvalidInput, "bad image")
}

// renderDarkPixels renders page 1 at 72 dpi with pdftoppm, as a viewer
// shows it (crop box, rotation), and counts non-white pixels inside the
// rectangle (points from the lower-left corner of the page as shown).
func renderDarkPixels(t testing.TB, doc []byte, llx, lly, urx, ury int) int {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	require.NoError(t, os.WriteFile(in, doc, 0o600))
	outBase := filepath.Join(dir, "page")
	if out, err := exec.Command(pdfxtest.Tool(t, "pdftoppm"), "-r", "72", "-cropbox", "-f", "1", "-l", "1", "-singlefile", in, outBase).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	f, err := os.Open(outBase + ".ppm")
	require.NoError(t, err)
	defer f.Close()
	var w, h, maxv int
	_, err = fmt.Fscanf(f, "P6\n%d %d\n%d\n", &w, &h, &maxv)
	require.NoError(t, err)
	pix, err := io.ReadAll(f)
	if err != nil || len(pix) < w*h*3 {
		t.Fatalf("short image: %v", err)
	}
	n := 0
	for y := h - ury; y < h-lly; y++ {
		for x := llx; x < urx; x++ {
			i := (y*w + x) * 3
			if pix[i] < 200 || pix[i+1] < 200 || pix[i+2] < 200 {
				n++
			}
		}
	}
	return n
}

// TestIndirectAnnots signs a page whose /Annots is a reference to an array
// in an earlier revision; the array object is replaced, the page is not.
func TestIndirectAnnots(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	in := docs(t)["acroform"]
	r, err := pdfx.Open(bytes.NewReader(in), int64(len(in)), pdfx.Limits{})
	require.NoError(t, err)
	cat, _ := r.Catalog()
	pages, _ := r.ResolveDict(cat["Pages"], "pages")
	pageRef := pages["Kids"].(pdfx.Array)[0].(pdfx.Ref)
	page, _ := r.ResolveDict(pageRef, "page")
	u := r.NewUpdate()
	page = page.Clone()
	page["Annots"] = u.Add(page["Annots"])
	u.Put(pageRef, page)
	upd, err := u.Bytes()
	require.NoError(t, err)
	doc := append(bytes.Clone(in), upd...)
	one := signDoc(t, doc, p.key, p.chain, Options{Appearance: &Appearance{Rect: [4]float64{300, 40, 560, 110}}})
	requireValid(t, one, 1, nss)
	r2, err := pdfx.Open(bytes.NewReader(one), int64(len(one)), pdfx.Limits{})
	require.NoError(t, err)
	for n := range r2.SectionEntries(0) {
		require.NotEqual(t, pageRef.Num, n, "the page object was rewritten although its /Annots is indirect")
	}
	arr, _ := r2.Get(page["Annots"].(pdfx.Ref))
	require.Len(t, arr.(pdfx.Array), 2, "/Annots")
}
