package pdf

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/require"
)

var reByteRange = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// extract returns the bytes covered by the i-th signature's ByteRange and
// its CMS, read from the file as any verifier would.
func extract(t testing.TB, doc []byte, i int) (content, cmsDER []byte) {
	t.Helper()
	all := reByteRange.FindAllSubmatch(doc, -1)
	if len(all) <= i {
		t.Fatalf("no /ByteRange #%d", i)
	}
	m := all[i]
	var br [4]int
	for i := range br {
		br[i], _ = strconv.Atoi(string(m[i+1]))
	}
	if br[0] != 0 || br[2]+br[3] > len(doc) || doc[br[1]] != '<' || doc[br[2]-1] != '>' {
		t.Fatalf("ByteRange %v does not frame /Contents in a %d-byte file", br, len(doc))
	}
	content = append(bytes.Clone(doc[:br[1]]), doc[br[2]:br[2]+br[3]]...)
	raw, err := hex.DecodeString(string(doc[br[1]+1 : br[2]-1]))
	require.NoError(t, err)
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return content, v.FullBytes
}

// TestOpenSSLVerifiesCMS checks the embedded CMS with `openssl cms -verify`
// over the ByteRange content, and its attributes: PAdES baseline has
// signing-certificate-v2 and no signing-time.
func TestOpenSSLVerifiesCMS(t *testing.T) {
	p := newPKI(t)
	tsa := newTSA(t, p)
	openssl := pdfxtest.Tool(t, "openssl")
	dir := t.TempDir()
	root := filepath.Join(dir, "root.pem")
	require.NoError(t, os.WriteFile(root, testpki.PEM(p.root.Cert), 0o600))
	doc := signDoc(t, docs(t)["objstm"], p.key, p.chain, Options{Timestamper: &TSAClient{URL: tsa.URL}})
	doc = signDoc(t, doc, p.key2, p.chain2, Options{AlgorithmProtection: true})
	if n := len(reByteRange.FindAllSubmatch(doc, -1)); n != 2 {
		t.Fatalf("%d signatures, want 2", n)
	}
	_, first := extract(t, doc, 0)
	firstDump, err := exec.Command(openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", writeFile(t, dir, "first.der", first)).CombinedOutput()
	if err != nil || !strings.Contains(string(firstDump), "id-smime-aa-timeStampToken") {
		t.Fatalf("first signature has no timestamp token: %v", err)
	}
	content, der := extract(t, doc, 1)
	write := func(name string, b []byte) string { return writeFile(t, dir, name, b) }
	c, s := write("content.bin", content), write("sig.der", der)
	out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", s, "-content", c,
		"-CAfile", root, "-purpose", "any", "-out", os.DevNull).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification successful") {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
	dump, err := exec.Command(openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", s).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl cms -print: %v\n%s", err, dump)
	}
	for _, want := range []string{"id-smime-aa-signingCertificateV2", "messageDigest", "contentType"} {
		if !strings.Contains(string(dump), want) {
			t.Fatalf("CMS lacks %s", want)
		}
	}
	if strings.Contains(string(dump), "signingTime") {
		t.Fatal("PAdES CMS carries a signing-time attribute")
	}
	// A changed byte inside the range fails openssl too.
	content[len(content)/3] ^= 1
	write("content.bin", content)
	if out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", s, "-content", c,
		"-CAfile", root, "-purpose", "any", "-out", os.DevNull).CombinedOutput(); err == nil {
		t.Fatalf("tampered content verified:\n%s", out)
	}
}

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	f := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(f, b, 0o600))
	return f
}
