package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/require"
)

// opensslSign signs content with the openssl CLI, an independent CMS producer.
func opensslSign(t testing.TB, p *pki, content []byte, detached bool, extra ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is required for CMS tests: install it with `make deps` (apt-get install -y openssl)")
	}
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(p.key)
	require.NoError(t, err)
	writeFile(t, filepath.Join(dir, "leaf.pem"), testpki.PEM(p.leaf))
	writeFile(t, filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	writeFile(t, filepath.Join(dir, "inter.pem"), testpki.PEM(p.inter.Cert))
	writeFile(t, filepath.Join(dir, "data"), content)
	out := filepath.Join(dir, "sig.der")
	args := []string{"cms", "-sign", "-binary", "-md", "sha256", "-signer", filepath.Join(dir, "leaf.pem"),
		"-inkey", filepath.Join(dir, "key.pem"), "-certfile", filepath.Join(dir, "inter.pem"), "-outform", "DER",
		"-in", filepath.Join(dir, "data"), "-out", out}
	if !detached {
		args = append(args, "-nodetach") // openssl detaches by default
	}
	args = append(args, extra...)
	cmd := exec.Command("openssl", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -sign: %v\n%s", err, b)
	}
	return readFile(t, out)
}

// opensslVerify checks a CMS with `openssl cms -verify` (the test builder is
// held to an independent verifier).
func opensslVerify(t testing.TB, p *pki, der, content []byte, detached ...bool) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "sig.der"), der)
	writeFile(t, filepath.Join(dir, "root.pem"), testpki.PEM(p.root.Cert))
	writeFile(t, filepath.Join(dir, "data"), content)
	cmd := exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", filepath.Join(dir, "sig.der"),
		"-CAfile", filepath.Join(dir, "root.pem"), "-purpose", "any", "-out", filepath.Join(dir, "out"))
	if len(detached) > 0 && detached[0] {
		cmd.Args = append(cmd.Args, "-content", filepath.Join(dir, "data"))
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, b)
	}
}

func TestCMSOpenSSL(t *testing.T) {
	p := newPKI(t)
	v := p.verifier()
	ctx := context.Background()
	content := []byte("Perakuan 1: invoice 2026/0042 RM 1,234.50\n")
	for _, detached := range []bool{false, true} {
		sig := opensslSign(t, p, content, detached)
		req := CMSRequest{Signature: sig}
		if detached {
			req.Content = content
		}
		rs, err := v.VerifyCMS(ctx, req)
		if err != nil {
			t.Fatalf("detached=%v: %v", detached, err)
		}
		if len(rs) != 1 || rs[0].Verdict != Valid {
			js, _ := json.MarshalIndent(rs, "", " ")
			t.Fatalf("detached=%v: %s", detached, js)
		}
		if rs[0].ClaimedSigningTime == nil || rs[0].TimeSource != TimeSourceVerificationTime {
			t.Fatalf("signing time reporting: %+v", rs[0])
		}
		// The content matters.
		other := append([]byte(nil), content...)
		other[0] ^= 1
		rs, err = v.VerifyCMS(ctx, CMSRequest{Signature: sig, Content: other})
		if detached {
			if err != nil || rs[0].Verdict != Invalid || rs[0].Check(CheckDigest).Verdict != Invalid {
				t.Fatalf("wrong content accepted: %v %+v", err, rs)
			}
		} else if !errors.Is(err, roamsign.ErrInvalidInput) {
			t.Fatalf("differing content for attached signature: %v", err)
		}
		// The signature value matters (it is the last element of the file).
		bad := append([]byte(nil), sig...)
		bad[len(bad)-3] ^= 0x01
		rs, err = v.VerifyCMS(ctx, CMSRequest{Signature: bad, Content: req.Content})
		if err != nil || rs[0].Verdict != Invalid || rs[0].Check(CheckSignature) == nil {
			t.Fatalf("tampered signature: %v %+v", err, rs)
		}
	}
	if _, err := v.VerifyCMS(ctx, CMSRequest{Signature: opensslSign(t, p, content, true)}); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Fatalf("detached without content: %v", err)
	}
	// Revoked signer: invalid with the reason.
	p.publish("/inter.crl", p.inter, testpki.CRLSpec{Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: p.leaf.SerialNumber, Time: p.now.Add(-time.Minute), Reason: testpki.ReasonKeyCompromise}}}})
	rs, err := p.verifier().VerifyCMS(ctx, CMSRequest{Signature: opensslSign(t, p, content, false)})
	if err != nil || rs[0].Verdict != Invalid || rs[0].Revocation[0].Reason != "keyCompromise" {
		t.Fatalf("revoked: %v %+v", err, rs)
	}
}

func TestCMSRules(t *testing.T) {
	content := []byte("document")
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	type tc struct {
		name    string
		spec    func(p *pki, s *testpki.CMSSpec) *Verifier
		want    Verdict
		check   string
		wantErr error
	}
	cases := []tc{
		{name: "baseline", want: Valid},
		{name: "ESS signing-certificate-v2 names the signer", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.ESSCert = p.leaf
			return nil
		}, want: Valid},
		{name: "ESS signing-certificate-v2 names another certificate", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.ESSCert = p.inter.Cert
			return nil
		}, want: Invalid, check: CheckAttributes},
		{name: "algorithm protection consistent", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.AlgProtection = true
			return nil
		}, want: Valid},
		{name: "algorithm protection mismatch", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.AlgProtection, s.AlgProtectionDigest = true, testpki.OIDSHA384
			return nil
		}, want: Invalid, check: CheckAttributes},
		{name: "no content-type attribute", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.OmitContentType = true
			return nil
		}, want: Invalid, check: CheckAttributes},
		{name: "content-type attribute not id-data", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.AttrContentType = asn1.ObjectIdentifier{1, 2, 3}
			return nil
		}, want: Invalid, check: CheckAttributes},
		{name: "encapsulated content type not id-data", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.ContentType = asn1.ObjectIdentifier{1, 2, 3}
			return nil
		}, want: Invalid, check: CheckAttributes},
		{name: "content-type attribute twice", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			v, _ := asn1.Marshal(testpki.OIDData)
			s.ExtraSigned = []testpki.Attribute{{Type: testpki.OIDAttrContentType, Values: [][]byte{v}}}
			return nil
		}, wantErr: roamsign.ErrInvalidInput},
		{name: "no message-digest attribute", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.OmitMessageDigest = true
			return nil
		}, want: Invalid, check: CheckAttributes},
		{name: "message-digest with two values", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.OmitMessageDigest = true
			d := make([]byte, 32)
			v1, _ := asn1.Marshal(d)
			d[0] = 1
			v2, _ := asn1.Marshal(d)
			s.ExtraSigned = []testpki.Attribute{{Type: testpki.OIDAttrMessageDigest, Values: [][]byte{v1, v2}}}
			return nil
		}, want: Invalid, check: CheckAttributes},
		{name: "message-digest of another content", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.MessageDigest = make([]byte, 32)
			return nil
		}, want: Invalid, check: CheckDigest},
		{name: "message-digest is not an OCTET STRING", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.OmitMessageDigest = true
			v, _ := asn1.Marshal(42)
			s.ExtraSigned = []testpki.Attribute{{Type: testpki.OIDAttrMessageDigest, Values: [][]byte{v}}}
			return nil
		}, want: Invalid, check: CheckAttributes},
		{name: "signed by another key", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.Key = otherKey
			return nil
		}, want: Invalid, check: CheckSignature},
		{name: "signer certificate missing", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.Certs = []*x509.Certificate{p.inter.Cert}
			return nil
		}, want: Invalid, check: CheckFormat},
		{name: "intermediate supplied by the host", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.Certs = []*x509.Certificate{p.leaf}
			return nil
		}, want: Valid},
		{name: "self-asserted signing time does not rescue an expired certificate", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			p.leaf, _ = p.inter.IssueLeaf("A", "900101145678", p.key.Public(), testpki.LeafOptions{NotBefore: p.now.Add(-48 * time.Hour), NotAfter: p.now.Add(-30 * time.Minute)})
			s.Cert, s.SigningTime = p.leaf, p.now.Add(-2*time.Hour)
			return nil
		}, want: Invalid, check: CheckChain},
		{name: "timestamp rescues an expired certificate", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			p.leaf, _ = p.inter.IssueLeaf("A", "900101145678", p.key.Public(), testpki.LeafOptions{NotBefore: p.now.Add(-48 * time.Hour), NotAfter: p.now.Add(-30 * time.Minute)})
			s.Cert = p.leaf
			s.Timestamp = tsaAt(t, p, p.now.Add(-2*time.Hour), nil)
			return nil
		}, want: Valid},
		{name: "certificate expired before the CRL was issued", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			p.leaf, _ = p.inter.IssueLeaf("A", "900101145678", p.key.Public(), testpki.LeafOptions{NotBefore: p.now.Add(-48 * time.Hour), NotAfter: p.now.Add(-3 * time.Hour)})
			s.Cert = p.leaf
			s.Timestamp = tsaAt(t, p, p.now.Add(-4*time.Hour), nil)
			return nil
		}, want: Indeterminate, check: CheckRevocation},
		{name: "timestamp over another signature", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.Timestamp = tsaAt(t, p, p.now.Add(-time.Hour), []byte("other"))
			return nil
		}, want: Invalid, check: CheckTimestamp},
		{name: "timestamp from an untrusted TSA", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			evil, _ := testpki.NewRoot(testpki.Options{Name: "evil TSA root"})
			tsa, _ := evil.NewTSA(testpki.LeafOptions{})
			s.Timestamp = func(sig []byte) ([]byte, error) { return tsa.Token(sig, p.now.Add(-time.Hour)) }
			return nil
		}, want: Invalid, check: CheckTimestamp},
		{name: "timestamp before revocation", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: p.leaf.SerialNumber, Time: p.now.Add(-10 * time.Minute), Reason: testpki.ReasonKeyCompromise}}}})
			s.Timestamp = tsaAt(t, p, p.now.Add(-time.Hour), nil)
			return nil
		}, want: Valid},
		{name: "signing time before revocation is not trusted", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			p.publish("/inter.crl", p.inter, testpki.CRLSpec{Entries: []testpki.CRLEntry{{Revocation: testpki.Revocation{Serial: p.leaf.SerialNumber, Time: p.now.Add(-10 * time.Minute), Reason: testpki.ReasonKeyCompromise}}}})
			s.SigningTime = p.now.Add(-time.Hour)
			return nil
		}, want: Invalid, check: CheckRevocation},
		{name: "RSA PKCS#1 v1.5 signer", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			k, _ := rsa.GenerateKey(rand.Reader, 2048)
			p.leaf, _ = p.inter.IssueLeaf("A", "900101145678", k.Public(), testpki.LeafOptions{})
			s.Cert, s.Key = p.leaf, k
			return nil
		}, want: Valid},
		{name: "SHA-384", spec: func(p *pki, s *testpki.CMSSpec) *Verifier {
			s.Hash = crypto.SHA384
			s.AlgProtection = true
			s.ESSCert = p.leaf
			return nil
		}, want: Valid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPKI(t)
			spec := testpki.CMSSpec{Content: content, Key: p.key, Cert: p.leaf}
			var v *Verifier
			if c.spec != nil {
				v = c.spec(p, &spec)
			}
			if spec.Certs == nil {
				spec.Certs = []*x509.Certificate{spec.Cert, p.inter.Cert}
			}
			if v == nil {
				v = p.verifier()
			}
			der, err := testpki.BuildCMS(spec)
			require.NoError(t, err)
			if c.name == "baseline" {
				opensslVerify(t, p, der, content)
			}
			rs, err := v.VerifyCMS(context.Background(), CMSRequest{Signature: der, Intermediates: []*x509.Certificate{p.inter.Cert}})
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err %v, want %v", err, c.wantErr)
				}
				return
			}
			require.NoError(t, err)
			js, _ := json.MarshalIndent(rs[0], "", " ")
			if rs[0].Verdict != c.want {
				t.Fatalf("verdict %s, want %s\n%s", rs[0].Verdict, c.want, js)
			}
			if c.check != "" {
				if ch := rs[0].Check(c.check); ch == nil || ch.Verdict != c.want {
					t.Fatalf("check %s: %+v\n%s", c.check, ch, js)
				}
			}
			if spec.Timestamp != nil && !rs[0].TimestampPresent {
				t.Fatal("timestamp not reported")
			}
			if c.want == Valid && spec.Timestamp != nil && rs[0].TimeSource != TimeSourceTimestamp {
				t.Fatalf("time source %s", rs[0].TimeSource)
			}
		})
	}
}

// tsaAt returns a timestamp hook producing tokens dated at by a TSA under
// p's intermediate; data, when non-nil, replaces the stamped bytes.
func tsaAt(t testing.TB, p *pki, at time.Time, data []byte) func([]byte) ([]byte, error) {
	tsa, err := p.inter.NewTSA(testpki.LeafOptions{NotBefore: p.now.Add(-47 * time.Hour)})
	require.NoError(t, err)
	return func(sig []byte) ([]byte, error) {
		if data != nil {
			sig = data
		}
		return tsa.Token(sig, at)
	}
}

func TestCMSMalformed(t *testing.T) {
	p := newPKI(t)
	v := p.verifier()
	good := opensslSign(t, p, []byte("x"), false)
	for i := 0; i < len(good); i += 7 {
		if _, err := v.VerifyCMS(context.Background(), CMSRequest{Signature: good[:i]}); !errors.Is(err, roamsign.ErrInvalidInput) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
	big := make([]byte, 5<<20)
	if _, err := v.VerifyCMS(context.Background(), CMSRequest{Signature: big}); !errors.Is(err, roamsign.ErrTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	if !strings.Contains(string(must(json.Marshal(&Result{Verdict: Valid}))), `"verdict":"valid"`) {
		t.Fatal("json")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
