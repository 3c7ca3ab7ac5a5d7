package pdf

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/stretchr/testify/require"
)

// standInCMS builds a detached CMS over the ByteRange content with
// digitorus/pkcs7. It lets the document layer be tested on its own.
func standInCMS(t testing.TB, p *testPKI, d *document, second bool) []byte {
	t.Helper()
	var content bytes.Buffer
	buf := make([]byte, d.size)
	if _, err := d.ra.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	content.Write(buf)
	content.Write(d.update[:d.byteRange[1]-d.size])
	content.Write(d.update[d.byteRange[2]-d.size:])
	sd, err := pkcs7.NewSignedData(content.Bytes())
	require.NoError(t, err)
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	key, chain := p.key, p.chain
	if second {
		key, chain = p.key2, p.chain2
	}
	require.NoError(t, sd.AddSignerChain(chain[0], key, chain[1:], pkcs7.SignerInfoConfig{}))
	sd.Detach()
	der, err := sd.Finish()
	require.NoError(t, err)
	if got := roamsign.SHA256.Sum(content.Bytes()); !bytes.Equal(got, d.digest) {
		t.Fatal("ByteRange digest differs from the digest of the covered bytes")
	}
	return der
}

func signStandIn(t testing.TB, p *testPKI, in []byte, sp sigParams) []byte {
	t.Helper()
	if sp.hash == 0 {
		sp.hash = roamsign.SHA256
	}
	if sp.contentsSize == 0 {
		sp.contentsSize = estimateContents(p.chain, false)
	}
	if sp.when.IsZero() {
		sp.when = time.Now()
	}
	d, err := newDocument(context.Background(), bytes.NewReader(in), int64(len(in)), sp, DefaultMaxSize)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, d.write(context.Background(), standInCMS(t, p, d, sp.name == "Siti"), &out))
	if !bytes.Equal(out.Bytes()[:len(in)], in) {
		t.Fatal("original bytes were changed")
	}
	return out.Bytes()
}

func TestDocumentLayer(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	for name, in := range docs(t) {
		t.Run(name, func(t *testing.T) {
			one := signStandIn(t, p, in, sigParams{name: "Ahmad", reason: "Perakuan 1"})
			requireValid(t, one, 1, nss)
			two := signStandIn(t, p, one, sigParams{name: "Siti", reason: "Perakuan 2",
				app: &Appearance{Page: 1, Rect: [4]float64{300, 50, 550, 110}}})
			requireValid(t, two, 2, nss)
		})
	}
}

func TestDocumentTamper(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	in := docs(t)["classic"]
	signed := signStandIn(t, p, in, sigParams{name: "Ahmad", reason: "Perakuan 1"})
	requireValid(t, signed, 1, nss)
	inOriginal := bytes.Index(signed, []byte("roamsign test document"))
	inUpdate := bytes.LastIndex(signed, []byte("Perakuan 1"))
	if inOriginal < 0 || inUpdate < len(in) {
		t.Fatal("markers not found")
	}
	for _, off := range []int{inOriginal, inUpdate} {
		bad := bytes.Clone(signed)
		bad[off] ^= 0x01
		requireInvalid(t, bad, nss)
	}
}

func TestCertification(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	in := docs(t)["acroform"]
	for _, perm := range []Permission{NoChanges, FormFilling, AnnotsAllowed} {
		cert := signStandIn(t, p, in, sigParams{name: "Ahmad", certify: perm})
		requireValid(t, cert, 1, nss)
		out := pdfsig(t, cert, nss)
		_ = out
		ctx := context.Background()
		_, err := newDocument(ctx, bytes.NewReader(cert), int64(len(cert)), sigParams{hash: roamsign.SHA256, contentsSize: 8000, when: time.Now()}, DefaultMaxSize)
		if perm == NoChanges {
			require.ErrorIs(t, err, roamsign.ErrConflict, "approval after P=1")
			continue
		}
		if err != nil {
			t.Fatalf("approval after P=%d: %v", perm, err)
		}
		_, err = newDocument(ctx, bytes.NewReader(cert), int64(len(cert)), sigParams{hash: roamsign.SHA256, contentsSize: 8000, when: time.Now(), certify: FormFilling}, DefaultMaxSize)
		require.ErrorIs(t, err, roamsign.ErrConflict, "second certification")
		two := signStandIn(t, p, cert, sigParams{name: "Siti", reason: "Akuan Terima"})
		requireValid(t, two, 2, nss)
	}
	// A certification after an approval signature is refused.
	appr := signStandIn(t, p, in, sigParams{name: "Ahmad"})
	_, err := newDocument(context.Background(), bytes.NewReader(appr), int64(len(appr)), sigParams{hash: roamsign.SHA256, contentsSize: 8000, when: time.Now(), certify: NoChanges}, DefaultMaxSize)
	require.ErrorIs(t, err, roamsign.ErrConflict, "certification after approval")
}

func TestDocumentRefusals(t *testing.T) {
	good := docs(t)["classic"]
	enc := pdfxtest.QPDF(t, good, "--encrypt", "user", "owner", "256", "--")
	sp := sigParams{hash: roamsign.SHA256, contentsSize: 8000, when: time.Now()}
	cases := map[string]struct {
		data []byte
		max  int64
		sp   sigParams
		kind roamsign.Kind
	}{
		"encrypted":   {enc, DefaultMaxSize, sp, roamsign.ErrUnsupported},
		"truncated":   {good[:len(good)-40], DefaultMaxSize, sp, roamsign.ErrInvalidInput},
		"too large":   {good, int64(len(good) - 1), sp, roamsign.ErrTooLarge},
		"garbage":     {bytes.Repeat([]byte{0xff}, 500), DefaultMaxSize, sp, roamsign.ErrInvalidInput},
		"no page 9":   {good, DefaultMaxSize, sigParams{hash: roamsign.SHA256, contentsSize: 8000, app: &Appearance{Page: 9, Rect: [4]float64{0, 0, 10, 10}}}, roamsign.ErrInvalidInput},
		"field taken": {docs(t)["acroform"], DefaultMaxSize, sigParams{hash: roamsign.SHA256, contentsSize: 8000, field: "name"}, roamsign.ErrConflict},
		"broken xref": {brokenXref(good), DefaultMaxSize, sp, roamsign.ErrInvalidInput},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := newDocument(context.Background(), bytes.NewReader(c.data), int64(len(c.data)), c.sp, c.max)
			require.ErrorIs(t, err, c.kind)
		})
	}
}

func TestDocumentChangedBeforeComplete(t *testing.T) {
	p := newPKI(t)
	in := bytes.Clone(docs(t)["classic"])
	d, err := newDocument(context.Background(), bytes.NewReader(in), int64(len(in)), sigParams{hash: roamsign.SHA256, contentsSize: 8000, when: time.Now()}, DefaultMaxSize)
	require.NoError(t, err)
	der := standInCMS(t, p, d, false)
	in[20] ^= 1
	require.ErrorIs(t, d.write(context.Background(), der, io.Discard), roamsign.ErrConflict)
	in[20] ^= 1
	require.ErrorIs(t, d.write(context.Background(), make([]byte, 8001), io.Discard), roamsign.ErrTooLarge, "oversized CMS")
}

func FuzzPrepareDocument(f *testing.F) {
	for _, name := range []string{"../../internal/pdfx/testdata/objstm.pdf", "../../internal/pdfx/testdata/linearized.pdf"} {
		b, err := os.ReadFile(name)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add(pdfxtest.Generate(pdfxtest.Options{AcroForm: true}))
	f.Add(pdfxtest.Generate(pdfxtest.Options{Version: "2.0", Pages: 2}))
	f.Fuzz(func(t *testing.T, data []byte) {
		sp := sigParams{hash: roamsign.SHA256, contentsSize: 100, when: time.Unix(0, 0), certify: FormFilling,
			app: &Appearance{Rect: [4]float64{1, 1, 50, 20}}}
		d, err := newDocument(context.Background(), bytes.NewReader(data), int64(len(data)), sp, 1<<20)
		if err != nil {
			if roamsign.KindOf(err) == roamsign.KindUnknown {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		var out bytes.Buffer
		require.NoError(t, d.write(context.Background(), []byte{1, 2, 3}, &out))
		if !bytes.Equal(out.Bytes()[:len(data)], data) {
			t.Fatal("original bytes changed")
		}
	})
}

// brokenXref points object 1 (the catalog) at a wrong offset.
func brokenXref(doc []byte) []byte {
	out := bytes.Clone(doc)
	i := bytes.Index(out, []byte("65535 f \n")) + len("65535 f \n")
	copy(out[i:], "0000000100")
	return out
}
