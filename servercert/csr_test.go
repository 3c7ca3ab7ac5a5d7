package servercert_test

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/servercert"
)

func TestGenerateKeyAndCSR(t *testing.T) {
	dir := t.TempDir()
	req := servercert.CSRRequest{
		Subject:  pkix.Name{Country: []string{"MY"}, Organization: []string{"Test Agency"}, CommonName: "portal.agency.gov.my"},
		DNSNames: []string{"portal.agency.gov.my", "*.portal.agency.gov.my", "www.agency.gov.my"},
	}
	for _, alg := range servercert.KeyAlgorithms() {
		t.Run(string(alg), func(t *testing.T) {
			key, err := servercert.GenerateKey(alg)
			require.NoError(t, err)
			path := filepath.Join(dir, string(alg)+".key")
			require.NoError(t, servercert.WriteKeyFile(path, key))
			st, err := os.Stat(path)
			require.NoError(t, err)
			if st.Mode().Perm() != 0o600 {
				t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
			}
			der, err := servercert.CreateCSR(key, req)
			require.NoError(t, err)
			csrPath := writeTemp(t, dir, string(alg)+".csr", servercert.CSRPEM(der))
			// Independent check of the request and its key file.
			out, err := exec.Command(opensslPath(t), "req", "-in", csrPath, "-noout", "-verify", "-text").CombinedOutput()
			if err != nil {
				t.Fatalf("openssl req: %v\n%s", err, out)
			}
			for _, n := range req.DNSNames {
				if !strings.Contains(string(out), "DNS:"+n) {
					t.Fatalf("openssl does not see %s:\n%s", n, out)
				}
			}
			if out, err := exec.Command(opensslPath(t), "pkey", "-in", path, "-noout").CombinedOutput(); err != nil {
				t.Fatalf("openssl pkey: %v\n%s", err, out)
			}
			back, err := os.ReadFile(path)
			require.NoError(t, err)
			k2, err := servercert.ParsePrivateKey(back)
			require.NoError(t, err)
			csr, err := servercert.ParseCSR(servercert.CSRPEM(der))
			require.NoError(t, err)
			if !k2.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(csr.PublicKey) {
				t.Fatal("key file does not hold the CSR's key")
			}
		})
	}
}

func TestWriteKeyFileNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "server.key")
	k1, _ := servercert.GenerateKey(servercert.P256)
	require.NoError(t, servercert.WriteKeyFile(path, k1))
	before, _ := os.ReadFile(path)
	k2, _ := servercert.GenerateKey(servercert.P256)
	if err := servercert.WriteKeyFile(path, k2); !errors.Is(err, roamsign.ErrConflict) {
		t.Fatalf("second write: %v, want ErrConflict", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("existing key was changed")
	}
	// Concurrent writers: exactly one wins, no temp files remain.
	p2 := filepath.Join(dir, "race.key")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _ := servercert.GenerateKey(servercert.P256)
			errs[i] = servercert.WriteKeyFile(p2, k)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, roamsign.ErrConflict) {
			t.Fatal(err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d writers succeeded, want 1", ok)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Fatalf("directory holds %d entries, want 2 (no temp files left)", len(ents))
	}
	if err := servercert.WriteKeyFile(filepath.Join(dir, "missing", "x.key"), k1); !errors.Is(err, roamsign.ErrUnavailable) {
		t.Fatalf("bad directory: %v", err)
	}
	if err := servercert.WriteKeyFile(filepath.Join(dir, "hsm.key"), hsmKey{k1}); !errors.Is(err, roamsign.ErrUnsupported) {
		t.Fatalf("hardware key: %v", err)
	}
}

func TestRegenerateCSR(t *testing.T) {
	p := newPKI(t)
	names := []string{"*.agency.gov.my", "agency.gov.my", "portal.agency.gov.my"}
	sc := p.leaf(t, names, leafOpts{})

	// From the certificate's fields, with a fresh key for an extra server.
	req := servercert.RequestFromCertificate(sc.cert)
	k2, _ := servercert.GenerateKey(servercert.P384)
	der, err := servercert.CreateCSR(k2, req)
	require.NoError(t, err)
	csr, err := servercert.ParseCSR(der)
	require.NoError(t, err)
	if csr.Subject.String() != sc.cert.Subject.String() || !slices.Equal(csr.DNSNames, names) {
		t.Fatalf("regenerated CSR: subject %q names %v", csr.Subject, csr.DNSNames)
	}
	// From an existing CSR with the existing key (an HSM-held signer).
	der2, err := servercert.CreateCSR(hsmKey{k2}, servercert.RequestFromCSR(csr))
	require.NoError(t, err)
	csr2, err := servercert.ParseCSR(der2)
	require.NoError(t, err)
	if !bytes.Equal(csr2.RawSubject, csr.RawSubject) || !slices.Equal(csr2.DNSNames, csr.DNSNames) || !bytes.Equal(csr2.RawSubjectPublicKeyInfo, csr.RawSubjectPublicKeyInfo) {
		t.Fatal("CSR from CSR differs in content")
	}
	text, err := servercert.SendInstructions(der2)
	require.NoError(t, err)
	for _, want := range []string{"BEGIN CERTIFICATE REQUEST", "*.agency.gov.my", "ECDSA P-384", "never send it"} {
		if !strings.Contains(text, want) {
			t.Fatalf("instructions lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "PRIVATE KEY") {
		t.Fatal("instructions mention a private key block")
	}
}

func TestCSRValidation(t *testing.T) {
	k, _ := servercert.GenerateKey(servercert.P256)
	for _, names := range [][]string{
		nil,
		{"a..b.my"},
		{"w*.agency.gov.my"},
		{"www.*.gov.my"},
		{"*.my"},
		{"-bad.agency.gov.my"},
		{"under_score.agency.gov.my"},
		{"a.agency.gov.my", "A.agency.gov.my"},
		{strings.Repeat("a", 64) + ".gov.my"},
	} {
		if _, err := servercert.CreateCSR(k, servercert.CSRRequest{DNSNames: names}); !errors.Is(err, roamsign.ErrInvalidInput) {
			t.Errorf("names %v: err %v, want ErrInvalidInput", names, err)
		}
	}
	if _, err := servercert.CreateCSR(nil, servercert.CSRRequest{DNSNames: []string{"a.my"}}); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Errorf("nil key: %v", err)
	}
	if _, err := servercert.GenerateKey("rsa1024"); !errors.Is(err, roamsign.ErrUnsupported) {
		t.Errorf("rsa1024: %v", err)
	}
	if _, err := servercert.ParsePrivateKey([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")); !errors.Is(err, roamsign.ErrUnsupported) {
		t.Errorf("encrypted key: %v", err)
	}
	if _, err := servercert.ParseCSR([]byte("nonsense")); !errors.Is(err, roamsign.ErrInvalidInput) {
		t.Errorf("bad CSR: %v", err)
	}
}

func TestMatchHostname(t *testing.T) {
	for _, tc := range []struct {
		pattern, host string
		want          bool
	}{
		{"www.agency.gov.my", "www.agency.gov.my", true},
		{"WWW.Agency.gov.my", "www.agency.GOV.my.", true},
		{"*.agency.gov.my", "portal.agency.gov.my", true},
		{"*.agency.gov.my", "agency.gov.my", false},
		{"*.agency.gov.my", "a.b.agency.gov.my", false},
		{"*.agency.gov.my", "xn--bcher-kva.agency.gov.my", false},
		{"*.gov", "agency.gov", false},
		{"w*.agency.gov.my", "www.agency.gov.my", false},
		{"*w.agency.gov.my", "ww.agency.gov.my", false},
		{"www.*.gov.my", "www.agency.gov.my", false},
		{"*.*.gov.my", "a.b.gov.my", false},
		{"", "x", false},
	} {
		if got := servercert.MatchHostname(tc.pattern, tc.host); got != tc.want {
			t.Errorf("MatchHostname(%q, %q) = %v, want %v", tc.pattern, tc.host, got, tc.want)
		}
	}
}
