package pdf

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/roamsign/roamsign"
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
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	key, chain := p.key, p.chain
	if second {
		key, chain = p.key2, p.chain2
	}
	if err := sd.AddSignerChain(chain[0], key, chain[1:], pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := d.write(context.Background(), standInCMS(t, p, d, sp.name == "Siti"), &out); err != nil {
		t.Fatal(err)
	}
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
