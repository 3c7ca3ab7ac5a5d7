package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"mime/quotedprintable"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/smtptest"
	"github.com/roamsign/roamsign/internal/softhsmtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/transport/httpapi"
)

// agencyCA is the CA an agency's users' certificates come from: a root
// (the configured trust anchor) and the issuing CA under it.
type agencyCA struct {
	root, issuing *testpki.CA
	anchorFile    string // the root, PEM: -user-ca
}

func newAgencyCA(t *testing.T, name string) *agencyCA {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{Name: name + " Root CA"})
	require.NoError(t, err)
	issuing, err := root.NewIntermediate(testpki.Options{Name: name + " Roaming CA"})
	require.NoError(t, err)
	return &agencyCA{root: root, issuing: issuing, anchorFile: writeTemp(t, "anchors.pem", testpki.PEM(root.Cert))}
}

// issue answers a certificate request as the agency CA does: the subject
// in the roaming form for id, the request's key.
func (ca *agencyCA) issue(t *testing.T, name string, id roamsign.UserID, pub any) string {
	t.Helper()
	leaf, err := ca.issuing.IssueLeaf(name, string(id), pub, testpki.LeafOptions{})
	require.NoError(t, err)
	return writeTemp(t, "chain.pem", testpki.PEM(leaf, ca.issuing.Cert))
}

// TestProductionEnrolment enrols a user outside development mode, keys in
// SoftHSM2 through PKCS#11, as an agency does: the key and a certificate
// request in the roaming subject form (csr new), the chain its CA issued
// imported after the checks (chain import), the first PIN set apart (pin
// set) and a push device registered (device add); then a host signs for
// the user with PIN and an OTP delivered by a real SMTP server, and
// openssl verifies the signature to the agency's root. Imports that are
// refused change nothing: a chain for another key, one naming another
// user, one from another CA, one for a user not enrolled, one with no
// anchors configured, and one sent with a host's key to the admin API.
func TestProductionEnrolment(t *testing.T) {
	tok := softhsmtest.New(t)
	ca, stranger := newAgencyCA(t, "Agency"), newAgencyCA(t, "Agency")
	dir := t.TempDir()
	store := []string{"-dev=false", "-data-dir", dir, "-pkcs11-uri", tok.URI()}
	cmd := func(stdin string, args ...string) (string, error) {
		t.Helper()
		out, errOut, err := runCmdInput(t, stdin, append(args, store...)...)
		if err != nil {
			t.Logf("signserver %v: %s", args, errOut)
		}
		return out, err
	}
	const name = "ALIYA BINTI AHMAD"
	id, other := roamsign.UserID("900101145678"), roamsign.UserID("850715015101")

	csrFile := filepath.Join(t.TempDir(), "aliya.csr.pem")
	_, err := cmd("", append([]string{"csr", "new", "-user", string(id), "-name", name, "-host", "ifmis",
		"-email", "aliya@agensi.gov.my", "-algorithm", "EC-P256", "-out", csrFile}, fastArgon2...)...)
	require.NoError(t, err)
	b, err := os.ReadFile(csrFile)
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	require.NotNil(t, blk)
	require.Equal(t, "CERTIFICATE REQUEST", blk.Type)
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	require.NoError(t, err)
	require.NoError(t, csr.CheckSignature())
	want, err := asn1.Marshal(roamsign.RoamingSubject(name, id).ToRDNSequence())
	require.NoError(t, err)
	assert.Equal(t, want, csr.RawSubject, "the request's subject is C=MY, CN, SURNAME, SERIALNUMBER")

	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	anchors := []string{"-user-ca", ca.anchorFile}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no anchors configured", []string{"-user", string(id), "-chain", ca.issue(t, name, id, csr.PublicKey)}, "no user CA is configured"},
		{"chain for another key", append([]string{"-user", string(id), "-chain", ca.issue(t, name, id, otherKey.Public())}, anchors...), "does not certify the user's key"},
		{"subject names another user", append([]string{"-user", string(id), "-chain", ca.issue(t, name, other, csr.PublicKey)}, anchors...), "does not carry the user id"},
		{"chain from another CA", append([]string{"-user", string(id), "-chain", stranger.issue(t, name, id, csr.PublicKey)}, anchors...), "does not verify to the configured user CAs"},
		{"user not enrolled", append([]string{"-user", string(other), "-chain", ca.issue(t, name, other, csr.PublicKey)}, anchors...), "[not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cmd("", append([]string{"chain", "import"}, tc.args...)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	chainFile := ca.issue(t, name, id, csr.PublicKey)
	out, err := cmd("", append([]string{"chain", "import", "-user", string(id), "-chain", chainFile}, anchors...)...)
	require.NoError(t, err)
	assert.Contains(t, out, "chain of "+string(id)+" imported")
	_, err = cmd("Kuda7Laut!\n", append([]string{"pin", "set", "-user", string(id)}, fastArgon2...)...)
	require.NoError(t, err)
	_, err = cmd("", "device", "add", "-user", string(id), "-device", "fcm:aliya-phone")
	require.NoError(t, err)

	mail := smtptest.Start(t)
	ps := startProdServerIn(t, dir, append([]string{"-pkcs11-uri", tok.URI(), "-user-ca", ca.anchorFile,
		"-smtp-addr", mail.Addr, "-smtp-ca", mail.CertFile, "-smtp-username", mail.Username,
		"-smtp-password-file", writeTemp(t, "smtp-password", []byte(mail.Password))}, fastArgon2...)...)
	client := func(key string) *httpapi.Client {
		c, err := httpapi.NewClient(ps.base, httpapi.ClientOptions{HTTPClient: ps.hc, APIKey: key})
		require.NoError(t, err)
		return c
	}
	ctx := context.Background()
	wrong, err := os.ReadFile(stranger.issue(t, name, id, csr.PublicKey))
	require.NoError(t, err)
	certs, err := readCertFile(writeTemp(t, "wrong.pem", wrong))
	require.NoError(t, err)
	req := roamsign.ImportChainRequest{User: id, Chain: [][]byte{certs[0].Raw, certs[1].Raw}}
	assert.ErrorIs(t, client(ps.hostKey).ImportChain(ctx, req), roamsign.ErrUnauthenticated, "a host key opened the admin API")
	assert.ErrorIs(t, client(ps.adminKey).ImportChain(ctx, req), roamsign.ErrInvalidInput, "the admin API imported a chain from another CA")

	content := []byte("Baucar 2026/0042: RM 1,250.00 kepada Syarikat Contoh Sdn Bhd\n")
	hs := []roamsign.Hash{roamsign.NewHash(roamsign.SHA256, content)}
	host := client(ps.hostKey)
	ch, err := host.RequestOTP(ctx, roamsign.OTPRequest{User: id, Hashes: hs, DataHeader: "2026/0042"})
	require.NoError(t, err)
	res, err := host.Sign(ctx, roamsign.SignRequest{ChallengeID: ch.ChallengeID, Nonce: ch.Nonce, PIN: "Kuda7Laut!",
		OTP: roamsign.Secret(mailedOTP(t, mail, "aliya@agensi.gov.my", ch.VerificationCode)), Hashes: hs,
		RequestID: roamsign.NewRequestID(), Form: roamsign.FormCMS})
	require.NoError(t, err)
	require.Len(t, res.Items, 1)
	require.Equal(t, roamsign.ItemSigned, res.Items[0].Status)
	sig, doc := writeTemp(t, "voucher.p7s", res.Items[0].Signature), writeTemp(t, "voucher.txt", content)
	verifyOut, err := exec.Command(checkTool(t, "openssl"), "cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", doc,
		"-CAfile", ca.anchorFile, "-certfile", writeTemp(t, "issuing.pem", testpki.PEM(ca.issuing.Cert)),
		"-purpose", "any", "-out", os.DevNull).CombinedOutput()
	require.NoError(t, err, "openssl cms -verify: %s", verifyOut)
}

// mailedOTP returns the OTP of the message to addr that shows the
// verification code vcode.
func mailedOTP(t *testing.T, mail *smtptest.Server, addr, vcode string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg, err := mail.WaitMessage(ctx, addr)
	require.NoError(t, err)
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Parsed.Body))
	require.NoError(t, err)
	require.Contains(t, string(body), vcode, "the e-mail is for another challenge")
	m := otpLine.FindStringSubmatch(string(body))
	require.NotNil(t, m, "no OTP in the e-mail:\n%s", body)
	return m[1]
}
