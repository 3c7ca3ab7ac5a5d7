package cms_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/cms"
	"github.com/stretchr/testify/require"
)

// pki is a test hierarchy (root, intermediate) with one leaf per key type.
type pki struct {
	root, inter *testpki.CA
	keys        map[string]crypto.Signer
	chains      map[string][]*x509.Certificate
}

var (
	pkiOnce sync.Once
	pkiVal  *pki
	pkiErr  error
)

func testPKI(t testing.TB) *pki {
	t.Helper()
	pkiOnce.Do(func() { pkiVal, pkiErr = newPKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pkiVal
}

var (
	ecOnce sync.Once
	ecVal  *pki
	ecErr  error
)

// ecPKI is testPKI without the RSA key, for fuzz targets: RSA key
// generation under coverage instrumentation takes too long.
func ecPKI(t testing.TB) *pki {
	t.Helper()
	ecOnce.Do(func() { ecVal, ecErr = newPKIWith(false) })
	if ecErr != nil {
		t.Fatal(ecErr)
	}
	return ecVal
}

func newPKI() (*pki, error) { return newPKIWith(true) }

func newPKIWith(withRSA bool) (*pki, error) {
	root, err := testpki.NewRoot(testpki.Options{})
	if err != nil {
		return nil, err
	}
	inter, err := root.NewIntermediate(testpki.Options{})
	if err != nil {
		return nil, err
	}
	p := &pki{root: root, inter: inter, keys: map[string]crypto.Signer{}, chains: map[string][]*x509.Certificate{}}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	keys := map[string]crypto.Signer{"p256": p256, "p384": p384, "p521": p521}
	if withRSA {
		rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys["rsa"] = rsaKey
	}
	for name, k := range keys {
		if err := p.add(name, k); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *pki) add(name string, k crypto.Signer) error {
	leaf, err := p.inter.IssueLeaf("SIGNER "+strings.ToUpper(name), "900101145678", k.Public(), testpki.LeafOptions{})
	if err != nil {
		return err
	}
	p.keys[name] = k
	p.chains[name] = append([]*x509.Certificate{leaf}, p.inter.Chain()...)
	return nil
}

// opensslVerify runs `openssl cms -verify` on a detached signature and
// returns its combined output and error.
func opensslVerify(t *testing.T, p *pki, sig, content []byte) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is required for CMS tests: install it with `make deps` (apt-get install openssl)")
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	sigPath := write("sig.der", sig)
	contentPath := write("content.bin", content)
	rootPath := write("root.pem", testpki.PEM(p.root.Cert))
	cmd := exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sigPath,
		"-content", contentPath, "-CAfile", rootPath, "-purpose", "any", "-out", os.DevNull)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustVerify(t *testing.T, p *pki, sig, content []byte) {
	t.Helper()
	out, err := opensslVerify(t, p, sig, content)
	if err != nil || !strings.Contains(out, "Verification successful") {
		t.Fatalf("openssl cms -verify failed: %v\n%s", err, out)
	}
	// A second, independent parser (it knows no RSASSA-PSS).
	p7, err := pkcs7.Parse(sig)
	if err != nil {
		t.Fatalf("pkcs7.Parse: %v", err)
	}
	if p7.Signers[0].DigestEncryptionAlgorithm.Algorithm.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}) {
		return
	}
	p7.Content = content
	if err := p7.VerifyWithChain(p.inter.Pool()); err != nil {
		t.Fatalf("pkcs7 verify: %v", err)
	}
}

var algorithms = []struct {
	name string
	key  string
	opts cms.Options
}{
	{"RSA-2048 PKCS1v15 SHA-256", "rsa", cms.Options{}},
	{"RSA-2048 PSS SHA-256", "rsa", cms.Options{PSS: true}},
	{"RSA-2048 PSS SHA-512 protected", "rsa", cms.Options{PSS: true, Hash: roamsign.SHA512, AlgorithmProtection: true}},
	{"RSA-2048 PKCS1v15 SHA-384 no time", "rsa", cms.Options{Hash: roamsign.SHA384, OmitSigningTime: true}},
	{"P-256 SHA-256", "p256", cms.Options{}},
	{"P-256 SHA-256 protected", "p256", cms.Options{AlgorithmProtection: true}},
	{"P-384 SHA-384", "p384", cms.Options{Hash: roamsign.SHA384}},
	{"P-384 SHA-512 protected", "p384", cms.Options{Hash: roamsign.SHA512, AlgorithmProtection: true}},
	{"P-521 SHA-512", "p521", cms.Options{Hash: roamsign.SHA512}},
}

func TestSignVerifiesWithOpenSSL(t *testing.T) {
	p := testPKI(t)
	content := []byte("Surat Perakuan No. 2026/117 — roamsign test content\n")
	for _, a := range algorithms {
		t.Run(a.name, func(t *testing.T) {
			sig, err := cms.Sign(context.Background(), p.keys[a.key], bytes.NewReader(content), p.chains[a.key], a.opts)
			require.NoError(t, err)
			mustVerify(t, p, sig, content)

			tampered := bytes.Clone(content)
			tampered[3] ^= 1
			if out, err := opensslVerify(t, p, sig, tampered); err == nil {
				t.Fatalf("openssl accepted tampered content:\n%s", out)
			}
		})
	}
}

// remoteSign plays the remote side: it sees only the digest and signs it.
func remoteSign(t *testing.T, key crypto.Signer, digest []byte, opts crypto.SignerOpts) []byte {
	t.Helper()
	sig, err := key.Sign(rand.Reader, digest, opts)
	require.NoError(t, err)
	return sig
}

func TestPrepareCompleteRemote(t *testing.T) {
	p := testPKI(t)
	content := bytes.Repeat([]byte("data "), 1000)
	for _, a := range algorithms {
		t.Run(a.name, func(t *testing.T) {
			h := a.opts.Hash
			if h == 0 {
				h = roamsign.SHA256
			}
			at := time.Now().Add(-time.Minute).Truncate(time.Second)
			o := a.opts
			o.Now = func() time.Time { return at }
			prep, err := cms.Prepare(h.Sum(content), p.chains[a.key], o)
			require.NoError(t, err)
			if prep.Hash() != h {
				t.Fatalf("Hash() = %v, want %v", prep.Hash(), h)
			}
			if got := h.Sum(prep.SignedAttributes()); !bytes.Equal(got, prep.Digest()) {
				t.Fatal("Digest() is not the hash of SignedAttributes()")
			}
			// The host keeps the state while the remote key signs.
			state, err := prep.MarshalBinary()
			require.NoError(t, err)
			sig := remoteSign(t, p.keys[a.key], prep.Digest(), prep.SignerOpts())
			back, err := cms.UnmarshalPrepared(state)
			require.NoError(t, err)
			if !bytes.Equal(back.SignedAttributes(), prep.SignedAttributes()) || !bytes.Equal(back.Digest(), prep.Digest()) {
				t.Fatal("state round trip changed the signed attributes")
			}
			der, err := back.Complete(sig)
			require.NoError(t, err)
			if max := back.MaxSize(); len(der) > max || max > len(der)+16 {
				t.Fatalf("MaxSize %d for a CMS of %d bytes", max, len(der))
			}
			mustVerify(t, p, der, content)

			// Same structure as the one-step path at the same time.
			one, err := cms.SignDigest(context.Background(), p.keys[a.key], h.Sum(content), p.chains[a.key], o)
			require.NoError(t, err)
			mustVerify(t, p, one, content)
			if a.key == "rsa" && !a.opts.PSS && !bytes.Equal(one, der) {
				t.Fatal("deterministic RSA PKCS#1 v1.5: two-step and one-step outputs differ")
			}
			if len(one) != len(der) && a.key == "rsa" {
				t.Fatalf("one-step %d bytes, two-step %d bytes", len(one), len(der))
			}
		})
	}
}

func TestSignedAttributesContent(t *testing.T) {
	p := testPKI(t)
	at := time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)
	digest := roamsign.SHA256.Sum([]byte("x"))
	prep, err := cms.Prepare(digest, p.chains["p256"], cms.Options{SigningTime: at, AlgorithmProtection: true})
	require.NoError(t, err)
	var attrs []struct {
		Type   asn1.ObjectIdentifier
		Values asn1.RawValue `asn1:"set"`
	}
	if _, err := asn1.UnmarshalWithParams(prep.SignedAttributes(), &attrs, "set"); err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	for _, a := range attrs {
		got[a.Type.String()] = a.Values.Bytes
	}
	for _, oid := range []string{"1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.5", "1.2.840.113549.1.9.16.2.47", "1.2.840.113549.1.9.52"} {
		if _, ok := got[oid]; !ok {
			t.Errorf("attribute %s missing", oid)
		}
	}
	var md []byte
	if _, err := asn1.Unmarshal(got["1.2.840.113549.1.9.4"], &md); err != nil || !bytes.Equal(md, digest) {
		t.Errorf("message digest = %x, %v", md, err)
	}
	var st time.Time
	if _, err := asn1.Unmarshal(got["1.2.840.113549.1.9.5"], &st); err != nil || !st.Equal(at) {
		t.Errorf("signing time = %v, %v", st, err)
	}
	certHash := sha256.Sum256(p.chains["p256"][0].Raw)
	if !bytes.Contains(got["1.2.840.113549.1.9.16.2.47"], certHash[:]) {
		t.Error("signing-certificate-v2 does not hold the leaf's SHA-256 hash")
	}
	prep2, err := cms.Prepare(digest, p.chains["p256"], cms.Options{OmitSigningTime: true})
	require.NoError(t, err)
	if bytes.Contains(prep2.SignedAttributes(), []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05}) {
		t.Error("OmitSigningTime still has a signing-time attribute")
	}
}

func TestCompleteRefusesWrongSignature(t *testing.T) {
	p := testPKI(t)
	digest := roamsign.SHA256.Sum([]byte("x"))
	for _, key := range []string{"rsa", "p256", "p384"} {
		t.Run(key, func(t *testing.T) {
			prep, err := cms.Prepare(digest, p.chains[key], cms.Options{})
			require.NoError(t, err)
			good := remoteSign(t, p.keys[key], prep.Digest(), prep.SignerOpts())
			other := "p256"
			if key == "p256" {
				other = "p384"
			}
			cases := map[string][]byte{
				"other key":        remoteSign(t, p.keys[other], prep.Digest(), prep.SignerOpts()),
				"other digest":     remoteSign(t, p.keys[key], roamsign.SHA256.Sum([]byte("y")), prep.SignerOpts()),
				"flipped":          flip(good),
				"empty":            nil,
				"truncated":        good[:len(good)-1],
				"garbage same len": bytes.Repeat([]byte{0x5a}, len(good)),
			}
			for name, sig := range cases {
				if _, err := prep.Complete(sig); !errors.Is(err, roamsign.ErrInvalidSignature) {
					t.Errorf("%s: err = %v, want ErrInvalidSignature", name, err)
				}
			}
			if _, err := prep.Complete(good); err != nil {
				t.Fatalf("good signature refused: %v", err)
			}
		})
	}
}

func flip(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)/2] ^= 0x40
	return c
}

// rawECDSA signs like a PKCS#11 token: r‖s, each the curve's size.
type rawECDSA struct{ k *ecdsa.PrivateKey }

func (r rawECDSA) Public() crypto.PublicKey { return r.k.Public() }
func (r rawECDSA) Sign(rnd io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	rr, s, err := ecdsa.Sign(rnd, r.k, digest)
	if err != nil {
		return nil, err
	}
	n := (r.k.Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*n)
	rr.FillBytes(out[:n])
	s.FillBytes(out[n:])
	return out, nil
}

func TestCompleteAcceptsRawECDSA(t *testing.T) {
	p := testPKI(t)
	content := []byte("raw ecdsa")
	for _, key := range []string{"p256", "p384"} {
		sig, err := cms.Sign(context.Background(), rawECDSA{p.keys[key].(*ecdsa.PrivateKey)}, bytes.NewReader(content), p.chains[key], cms.Options{})
		require.NoError(t, err)
		mustVerify(t, p, sig, content)
	}
}

// ctxKey records the context it was given.
type ctxKey struct {
	crypto.Signer
	calls int
}

func (c *ctxKey) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.calls++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.Signer.Sign(rand.Reader, digest, opts)
}

func TestSignUsesContextAndCancels(t *testing.T) {
	p := testPKI(t)
	k := &ctxKey{Signer: p.keys["p256"]}
	digest := roamsign.SHA256.Sum([]byte("x"))
	if _, err := cms.SignDigest(context.Background(), k, digest, p.chains["p256"], cms.Options{}); err != nil || k.calls != 1 {
		t.Fatalf("err %v, calls %d", err, k.calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cms.SignDigest(ctx, k, digest, p.chains["p256"], cms.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
	if _, err := cms.Sign(ctx, k, strings.NewReader("abc"), p.chains["p256"], cms.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Sign: err = %v", err)
	}
}

func TestPrepareRejectsBadInput(t *testing.T) {
	p := testPKI(t)
	d := roamsign.SHA256.Sum([]byte("x"))
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	edLeaf, err := p.inter.IssueLeaf("ED", "900101145678", edPub, testpki.LeafOptions{})
	require.NoError(t, err)
	long := make([]*x509.Certificate, cms.MaxChain+1)
	for i := range long {
		long[i] = p.chains["p256"][0]
	}
	cases := []struct {
		name   string
		digest []byte
		chain  []*x509.Certificate
		opts   cms.Options
		kind   roamsign.Kind
	}{
		{"short digest", d[:31], p.chains["rsa"], cms.Options{}, roamsign.ErrInvalidInput},
		{"digest for other hash", d, p.chains["rsa"], cms.Options{Hash: roamsign.SHA384}, roamsign.ErrInvalidInput},
		{"bad hash", d, p.chains["rsa"], cms.Options{Hash: 9}, roamsign.ErrInvalidInput},
		{"no chain", d, nil, cms.Options{}, roamsign.ErrInvalidInput},
		{"nil leaf", d, []*x509.Certificate{nil}, cms.Options{}, roamsign.ErrInvalidInput},
		{"chain too long", d, long, cms.Options{}, roamsign.ErrTooLarge},
		{"PSS with EC key", d, p.chains["p256"], cms.Options{PSS: true}, roamsign.ErrInvalidInput},
		{"Ed25519", d, []*x509.Certificate{edLeaf}, cms.Options{}, roamsign.ErrUnsupported},
		{"bad content type", d, p.chains["rsa"], cms.Options{ContentType: asn1.ObjectIdentifier{7}}, roamsign.ErrInvalidInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := cms.Prepare(c.digest, c.chain, c.opts)
			if !errors.Is(err, c.kind) {
				t.Fatalf("err = %v, want kind %v", err, c.kind)
			}
		})
	}
}

func TestOtherContentType(t *testing.T) {
	p := testPKI(t)
	content := []byte("<tstinfo-like/>")
	ct := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	sig, err := cms.Sign(context.Background(), p.keys["rsa"], bytes.NewReader(content), p.chains["rsa"], cms.Options{ContentType: ct})
	require.NoError(t, err)
	mustVerify(t, p, sig, content)
}

func TestUnmarshalPreparedRejects(t *testing.T) {
	p := testPKI(t)
	prep, err := cms.Prepare(roamsign.SHA256.Sum(nil), p.chains["p256"], cms.Options{})
	require.NoError(t, err)
	state, _ := prep.MarshalBinary()
	other, _ := cms.Prepare(roamsign.SHA256.Sum(nil), p.chains["p384"], cms.Options{})
	otherState, _ := other.MarshalBinary()
	// Splice the p384 chain into the p256 state: the ESS hash no longer matches.
	spliced := bytes.Replace(state, p.chains["p256"][0].Raw, p.chains["p384"][0].Raw, 1)
	_ = otherState
	cases := map[string][]byte{
		"empty":     nil,
		"truncated": state[:len(state)-1],
		"trailing":  append(bytes.Clone(state), 0),
		"spliced":   spliced,
		"too large": make([]byte, cms.MaxStateSize+1),
	}
	for name, b := range cases {
		if _, err := cms.UnmarshalPrepared(b); err == nil {
			t.Errorf("%s: accepted", name)
		} else if k := roamsign.KindOf(err); k != roamsign.ErrInvalidInput && k != roamsign.ErrTooLarge {
			t.Errorf("%s: kind %v", name, k)
		}
	}
}

func TestTimestampToken(t *testing.T) {
	p := testPKI(t)
	content := []byte("timestamped")
	sig, err := cms.Sign(context.Background(), p.keys["rsa"], bytes.NewReader(content), p.chains["rsa"], cms.Options{})
	require.NoError(t, err)
	sv, err := cms.SignatureValue(sig)
	require.NoError(t, err)
	if len(sv) != 256 {
		t.Fatalf("RSA-2048 signature value has %d bytes", len(sv))
	}
	token := tsaToken(t, p, sv)
	stamped, err := cms.AddTimestampToken(sig, token)
	require.NoError(t, err)
	mustVerify(t, p, stamped, content)
	p7, err := pkcs7.Parse(stamped)
	require.NoError(t, err)
	var found bool
	for _, a := range p7.Signers[0].UnauthenticatedAttributes {
		if a.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}) {
			found = bytes.Equal(a.Value.Bytes, token)
		}
	}
	if !found {
		t.Fatal("signature-time-stamp attribute missing or altered")
	}
	if sv2, err := cms.SignatureValue(stamped); err != nil || !bytes.Equal(sv2, sv) {
		t.Fatalf("signature value changed: %v", err)
	}
	// A second token goes next to the first.
	twice, err := cms.AddTimestampToken(stamped, token)
	require.NoError(t, err)
	mustVerify(t, p, twice, content)

	// A token for another signature is refused.
	wrong := tsaToken(t, p, []byte("another signature"))
	if _, err := cms.AddTimestampToken(sig, wrong); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("foreign token: err = %v", err)
	}
	if _, err := cms.AddTimestampToken(sig, []byte{0x30, 0}); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("garbage token: err = %v", err)
	}
	if _, err := cms.SignatureValue(sig[:len(sig)-2]); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("truncated CMS: err = %v", err)
	}
}

// tsaToken issues an RFC 3161 token over sha256(data) from a test TSA.
func tsaToken(t testing.TB, p *pki, data []byte) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert, err := p.inter.IssueLeaf("TSA", "900101145678", key.Public(), testpki.LeafOptions{
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	require.NoError(t, err)
	sum := sha256.Sum256(data)
	ts := &timestamp.Timestamp{
		HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Time: time.Now(),
		Policy: asn1.ObjectIdentifier{1, 2, 3, 4}, AddTSACertificate: true,
	}
	resp, err := ts.CreateResponseWithOpts(cert, key, crypto.SHA256)
	require.NoError(t, err)
	parsed, err := timestamp.ParseResponse(resp)
	require.NoError(t, err)
	return parsed.RawToken
}

func TestSignDigestRefusesOtherKey(t *testing.T) {
	p := testPKI(t)
	k := &ctxKey{Signer: p.keys["p384"]}
	_, err := cms.SignDigest(context.Background(), k, roamsign.SHA256.Sum(nil), p.chains["p256"], cms.Options{})
	if !errors.Is(err, roamsign.ErrInvalidInput) || k.calls != 0 {
		t.Fatalf("err = %v, key used %d times", err, k.calls)
	}
}

// faultyRSA returns a corrupted signature, as a faulty HSM might.
type faultyRSA struct{ crypto.Signer }

func (f faultyRSA) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	s, err := f.Signer.Sign(r, d, o)
	if err != nil {
		return nil, err
	}
	return flip(s), nil
}

func TestSignDigestRefusesFaultyRSA(t *testing.T) {
	p := testPKI(t)
	_, err := cms.SignDigest(context.Background(), faultyRSA{p.keys["rsa"]}, roamsign.SHA256.Sum(nil), p.chains["rsa"], cms.Options{})
	if !errors.Is(err, roamsign.ErrInvalidSignature) {
		t.Fatalf("err = %v, want ErrInvalidSignature", err)
	}
}

func TestPreparedConcurrentComplete(t *testing.T) {
	p := testPKI(t)
	prep, err := cms.Prepare(roamsign.SHA256.Sum(nil), p.chains["p256"], cms.Options{})
	require.NoError(t, err)
	sig := remoteSign(t, p.keys["p256"], prep.Digest(), prep.SignerOpts())
	want, err := prep.Complete(sig)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := prep.Complete(sig)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("concurrent Complete: %v", err)
			}
			if _, err := prep.Complete(flip(sig)); err == nil {
				t.Error("bad signature accepted")
			}
		})
	}
	wg.Wait()
}

type panicKey struct{ crypto.Signer }

func (panicKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { panic("token removed") }

func TestSignDigestRecoversKeyPanic(t *testing.T) {
	p := testPKI(t)
	_, err := cms.SignDigest(context.Background(), panicKey{p.keys["p256"]}, roamsign.SHA256.Sum(nil), p.chains["p256"], cms.Options{})
	if !errors.Is(err, roamsign.ErrInternal) {
		t.Fatalf("err = %v", err)
	}
}
