package servercert_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/servercert"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

func TestCheckBundle(t *testing.T) {
	p := newPKI(t)
	names := []string{"portal.agency.gov.my", "www.agency.gov.my"}
	good := p.leaf(t, names, leafOpts{})
	other := p.leaf(t, names, leafOpts{})
	expired := p.leaf(t, names, leafOpts{notBefore: time.Now().AddDate(-2, 0, 0), notAfter: time.Now().AddDate(-1, 0, 0)})
	leafPEM := testpki.PEM(good.cert)
	interPEM := testpki.PEM(p.inter.Cert)
	rootPEM := testpki.PEM(p.root.Cert)

	cases := []struct {
		name      string
		req       servercert.BundleRequest
		ok        bool
		complete  bool
		reordered bool
		codes     []string // must be present
		absent    []string // must not be present
	}{
		{
			name: "good",
			req: servercert.BundleRequest{
				Certificate: servercert.Input{Name: "server.crt", Data: leafPEM},
				Chain:       []servercert.Input{{Name: "chain.pem", Data: append(interPEM, rootPEM...)}},
				Key:         good.key, Names: names,
			},
			ok: true, complete: true,
			codes:  []string{servercert.CodeKeyMatch, servercert.CodeChainComplete, servercert.CodeValid, servercert.CodeNameCovered, servercert.CodeKeyOK, servercert.CodeRootIncluded},
			absent: []string{servercert.CodeReordered, servercert.CodeMissingIntermediate},
		},
		{
			name: "missing intermediate",
			req: servercert.BundleRequest{
				Certificate: servercert.Input{Name: "server.crt", Data: leafPEM},
				Chain:       []servercert.Input{{Name: "root.pem", Data: rootPEM}},
				Key:         good.key, Names: names,
			},
			codes: []string{servercert.CodeMissingIntermediate, servercert.CodeKeyMatch},
		},
		{
			name: "wrong order",
			req: servercert.BundleRequest{
				Certificate: servercert.Input{Name: "bundle.pem", Data: bytes.Join([][]byte{rootPEM, interPEM, leafPEM}, nil)},
				Key:         good.key, Names: names,
			},
			ok: true, complete: true, reordered: true,
			codes: []string{servercert.CodeReordered, servercert.CodeChainComplete},
		},
		{
			name: "wrong key",
			req: servercert.BundleRequest{
				Certificate: servercert.Input{Name: "server.crt", Data: leafPEM},
				Chain:       []servercert.Input{{Name: "inter.pem", Data: interPEM}},
				Key:         other.key, Names: names,
			},
			complete: true,
			codes:    []string{servercert.CodeKeyMismatch},
			absent:   []string{servercert.CodeKeyMatch},
		},
		{
			name: "expired",
			req: servercert.BundleRequest{
				Certificate: servercert.Input{Name: "server.crt", Data: testpki.PEM(expired.cert)},
				Chain:       []servercert.Input{{Name: "inter.pem", Data: interPEM}},
				Key:         expired.key, Names: names,
			},
			complete: true,
			codes:    []string{servercert.CodeExpired, servercert.CodeChainComplete},
		},
		{
			name: "expires soon with injected clock",
			req: servercert.BundleRequest{
				Certificate: servercert.Input{Name: "server.crt", Data: leafPEM},
				Chain:       []servercert.Input{{Name: "inter.pem", Data: interPEM}},
				Key:         good.key,
				Now:         func() time.Time { return good.cert.NotAfter.Add(-48 * time.Hour) },
			},
			ok: true, complete: true,
			codes: []string{servercert.CodeExpiresSoon},
		},
		{
			name: "name mismatch",
			req: servercert.BundleRequest{
				Certificate: servercert.Input{Name: "server.crt", Data: leafPEM},
				Chain:       []servercert.Input{{Name: "inter.pem", Data: interPEM}},
				Key:         good.key, Names: []string{"portal.agency.gov.my", "mail.agency.gov.my"},
			},
			complete: true,
			codes:    []string{servercert.CodeNameNotCovered, servercert.CodeNameCovered},
		},
		{
			name: "untrusted root",
			req: servercert.BundleRequest{
				Certificate: servercert.Input{Name: "bundle.pem", Data: bytes.Join([][]byte{leafPEM, interPEM, rootPEM}, nil)},
				Key:         good.key,
				Roots:       newPKI(t).roots,
			},
			codes: []string{servercert.CodeUntrustedRoot},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.Roots == nil {
				tc.req.Roots = p.roots
			}
			rep, err := servercert.CheckBundle(tc.req)
			require.NoError(t, err)
			assert.Equal(t, tc.ok, rep.OK, "ok; findings %+v", rep.Findings)
			assert.Equal(t, tc.complete, rep.Complete, "complete; findings %+v", rep.Findings)
			assert.Equal(t, tc.reordered, rep.Reordered, "reordered; findings %+v", rep.Findings)
			for _, c := range tc.codes {
				assert.True(t, rep.Has(c), "finding %s missing; findings %+v", c, rep.Findings)
			}
			for _, c := range tc.absent {
				assert.False(t, rep.Has(c), "finding %s present; findings %+v", c, rep.Findings)
			}
		})
	}
}

func TestFullChainOrderFixed(t *testing.T) {
	p := newPKI(t)
	sc := p.leaf(t, []string{"a.agency.gov.my"}, leafOpts{})
	rep, err := servercert.CheckBundle(servercert.BundleRequest{
		Certificate: servercert.Input{Name: "bundle.pem", Data: bytes.Join([][]byte{testpki.PEM(p.root.Cert), testpki.PEM(p.inter.Cert), testpki.PEM(sc.cert)}, nil)},
		Roots:       p.roots,
	})
	require.NoError(t, err)
	var got [][]byte
	rest := rep.FullChainPEM()
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		got = append(got, b.Bytes)
	}
	if len(got) != 2 || !bytes.Equal(got[0], sc.cert.Raw) || !bytes.Equal(got[1], p.inter.Cert.Raw) {
		t.Fatalf("fullchain has %d certs, want leaf then intermediate", len(got))
	}
	if rep.Root == nil || !bytes.Equal(rep.Root.Raw, p.root.Cert.Raw) {
		t.Fatal("root not identified")
	}
	// An independent check: openssl verifies the written fullchain.
	dir := t.TempDir()
	fc := writeTemp(t, dir, "fullchain.pem", rep.FullChainPEM())
	ca := writeTemp(t, dir, "root.pem", testpki.PEM(p.root.Cert))
	leaf := writeTemp(t, dir, "leaf.pem", testpki.PEM(sc.cert))
	out, err := exec.Command(opensslPath(t), "verify", "-CAfile", ca, "-untrusted", fc, leaf).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

func opensslPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl is required: install it with `make deps` (apt-get install openssl)")
	}
	return p
}

func TestCorruptCertificate(t *testing.T) {
	p := newPKI(t)
	sc := p.leaf(t, []string{"a.agency.gov.my"}, leafOpts{})
	der := sc.cert.Raw
	flipped := bytes.Clone(der)
	flipped[len(flipped)/2] ^= 0xff
	truncPEM := testpki.PEM(sc.cert)
	truncPEM = append(truncPEM[:len(truncPEM)/2:len(truncPEM)/2], []byte("\n-----END CERTIFICATE-----\n")...)
	accepted := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for name, data := range map[string][]byte{
		"truncated DER":    der[:len(der)-40],
		"truncated PEM":    truncPEM,
		"garbage":          []byte("this is not a certificate at all, sorry"),
		"empty":            nil,
		"private key only": keyPEM(t, sc.key),
		"bad inner DER":    {0x30, 0x03, 0x02, 0x01, 0x01},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := servercert.CheckBundle(servercert.BundleRequest{
				Certificate: servercert.Input{Name: "server.cer", Data: data},
				Acceptance:  accepted,
				Roots:       p.roots,
			})
			var ce *servercert.CorruptCertificateError
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, roamsign.ErrInvalidInput)
			want := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
			assert.True(t, ce.ClaimBy.Equal(want), "ClaimBy %v, want %v", ce.ClaimBy, want)
			assert.Equal(t, "server.cer", ce.Source)
			assert.Contains(t, err.Error(), "2026-11-16", "the message states the claim deadline")
		})
	}
	// A signature-flipped DER still parses (the signature is only bytes);
	// it shows up as a broken chain instead.
	rep, err := servercert.CheckBundle(servercert.BundleRequest{
		Certificate: servercert.Input{Name: "server.cer", Data: flipped},
		Chain:       []servercert.Input{{Name: "inter.pem", Data: testpki.PEM(p.inter.Cert)}},
		Roots:       p.roots,
	})
	if err == nil && rep.OK {
		t.Fatal("a certificate with flipped bytes was accepted")
	}
}

func TestBundleFormats(t *testing.T) {
	p := newPKI(t)
	sc := p.leaf(t, []string{"*.agency.gov.my", "agency.gov.my"}, leafOpts{})
	p7, err := servercert.EncodePKCS7Certificates([]*x509Cert{p.inter.Cert, sc.cert, p.root.Cert})
	require.NoError(t, err)
	dir := t.TempDir()
	// An independent PKCS#7 bundle made by openssl, in DER and PEM.
	all := writeTemp(t, dir, "all.pem", bytes.Join([][]byte{testpki.PEM(sc.cert), testpki.PEM(p.inter.Cert)}, nil))
	if out, err := exec.Command(opensslPath(t), "crl2pkcs7", "-nocrl", "-certfile", all, "-outform", "DER", "-out", filepath.Join(dir, "b.p7b")).CombinedOutput(); err != nil {
		t.Fatalf("openssl crl2pkcs7: %v\n%s", err, out)
	}
	if out, err := exec.Command(opensslPath(t), "crl2pkcs7", "-nocrl", "-certfile", all, "-out", filepath.Join(dir, "b.p7b.pem")).CombinedOutput(); err != nil {
		t.Fatalf("openssl crl2pkcs7: %v\n%s", err, out)
	}
	osslDER, _ := os.ReadFile(filepath.Join(dir, "b.p7b"))
	osslPEM, _ := os.ReadFile(filepath.Join(dir, "b.p7b.pem"))

	paste := "Dear customer,\r\n\r\nplease find your certificate below:\r\n\r\n" +
		indent(string(testpki.PEM(sc.cert)), "    ") + "\r\n> " +
		strings.ReplaceAll(string(testpki.PEM(p.inter.Cert)), "\n", "\n> ") + "\r\nRegards,\r\nThe CA\r\n"
	b64 := "\n  " + base64Wrap(sc.cert.Raw) + "\n\n"

	for name, tc := range map[string]struct {
		data   []byte
		format servercert.Format
		n      int
	}{
		"DER .cer":        {sc.cert.Raw, servercert.FormatDER, 1},
		"PEM .crt":        {testpki.PEM(sc.cert), servercert.FormatPEM, 1},
		"p7b DER (ours)":  {p7, servercert.FormatPKCS7DER, 3},
		"p7b DER openssl": {osslDER, servercert.FormatPKCS7DER, 2},
		"p7b PEM openssl": {osslPEM, servercert.FormatPKCS7PEM, 2},
		"e-mail paste":    {[]byte(paste), servercert.FormatPEM, 2},
		"bare base64":     {[]byte(b64), servercert.FormatBase64, 1},
	} {
		t.Run(name, func(t *testing.T) {
			certs, f, err := servercert.ParseCertificates(tc.data)
			require.NoError(t, err)
			if f != tc.format || len(certs) != tc.n {
				t.Fatalf("format %q with %d certs, want %q with %d", f, len(certs), tc.format, tc.n)
			}
			rep, err := servercert.CheckBundle(servercert.BundleRequest{
				Certificate: servercert.Input{Name: name, Data: tc.data},
				Chain:       []servercert.Input{{Name: "inter.pem", Data: testpki.PEM(p.inter.Cert)}},
				Key:         sc.key,
				Names:       []string{"www.agency.gov.my", "agency.gov.my"},
				Roots:       p.roots,
			})
			require.NoError(t, err)
			if !rep.OK || !rep.Complete {
				t.Fatalf("findings %+v", rep.Findings)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	big := bytes.Repeat([]byte("A"), servercert.MaxInputSize+1)
	_, _, err := servercert.ParseCertificates(big)
	require.ErrorIs(t, err, roamsign.ErrTooLarge)
	_, err = servercert.ParsePKCS7Certificates(big)
	require.ErrorIs(t, err, roamsign.ErrTooLarge)
}

func TestPKCS12(t *testing.T) {
	p := newPKI(t)
	sc := p.leaf(t, []string{"iis.agency.gov.my"}, leafOpts{})
	rep, err := servercert.CheckBundle(servercert.BundleRequest{
		Certificate: servercert.Input{Name: "server.crt", Data: testpki.PEM(sc.cert, p.inter.Cert)},
		Key:         sc.key, Roots: p.roots,
	})
	require.NoError(t, err)
	require.True(t, rep.OK, "bundle findings %+v", rep.Findings)
	for _, legacy := range []bool{false, true} {
		pfx, err := rep.PKCS12(sc.key, "s3cret-Pass", servercert.PKCS12Options{Legacy: legacy, IncludeRoot: true})
		require.NoError(t, err)
		key, leaf, cas, err := pkcs12.DecodeChain(pfx, "s3cret-Pass")
		require.NoError(t, err)
		if !bytes.Equal(leaf.Raw, sc.cert.Raw) || len(cas) != 2 || !sc.key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.(crypto.Signer).Public()) {
			t.Fatal("PKCS#12 content differs")
		}
		// Independent reader: openssl.
		path := writeTemp(t, t.TempDir(), "site.pfx", pfx)
		args := []string{"pkcs12", "-in", path, "-passin", "pass:s3cret-Pass", "-nokeys"}
		if legacy {
			args = append(args, "-legacy")
		}
		out, err := exec.Command(opensslPath(t), args...).CombinedOutput()
		if err != nil || strings.Count(string(out), "BEGIN CERTIFICATE") != 3 {
			t.Fatalf("openssl pkcs12 (legacy=%v): %v\n%s", legacy, err, out)
		}
	}
	_, err = rep.PKCS12(sc.key, "", servercert.PKCS12Options{})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput, "empty password")
	other := p.leaf(t, []string{"x.agency.gov.my"}, leafOpts{})
	_, err = rep.PKCS12(other.key, "pw", servercert.PKCS12Options{})
	require.ErrorIs(t, err, roamsign.ErrInvalidInput, "wrong key")
	_, err = rep.PKCS12(hsmKey{sc.key}, "pw", servercert.PKCS12Options{})
	require.ErrorIs(t, err, roamsign.ErrUnsupported, "hardware key")
}

// A DER certificate whose last byte looks like white space must parse, with
// or without a trailing newline in the file.
func TestDEREndingInWhitespaceByte(t *testing.T) {
	p := newPKI(t)
	for i := 0; i < 20000; i++ {
		sc := p.leaf(t, []string{"a.agency.gov.my"}, leafOpts{key: p.inter.Key})
		last := sc.cert.Raw[len(sc.cert.Raw)-1]
		if !strings.ContainsRune(" \t\r\n", rune(last)) {
			continue
		}
		for _, data := range [][]byte{sc.cert.Raw, append(bytes.Clone(sc.cert.Raw), '\r', '\n')} {
			certs, f, err := servercert.ParseCertificates(data)
			if err != nil || f != servercert.FormatDER || !bytes.Equal(certs[0].Raw, sc.cert.Raw) {
				t.Fatalf("DER ending in %#x: %v %q", last, err, f)
			}
		}
		return
	}
	t.Fatal("no certificate ending in a white-space byte was produced")
}

func TestBundleWeakKey(t *testing.T) {
	p := newPKI(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	sc := p.leaf(t, []string{"a.agency.gov.my"}, leafOpts{key: small})
	rep, err := servercert.CheckBundle(servercert.BundleRequest{
		Certificate: servercert.Input{Data: testpki.PEM(sc.cert, p.inter.Cert)}, Key: small, Roots: p.roots,
	})
	require.NoError(t, err)
	if rep.OK || !rep.Has(servercert.CodeWeakKey) || rep.Has(servercert.CodeKeyOK) {
		t.Fatalf("findings %+v", rep.Findings)
	}
}
