package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/transport/csc"
)

// TestCSCBrowserSigning drives the CSC OAuth 2.0 flow in headless
// Chromium against the example server, as an outside CSC client would:
// a PDF's hash goes to oauth2/authorize; the signer sees the data header,
// the hash and the verification code on the signing page, reads the OTP
// from the development mailbox and types PIN and OTP; the browser comes
// back to the client's loopback redirect URI with a code; the code and
// the PKCE verifier give a credential access token; signatures/signHash
// returns the signature and the completed PDF verifies with pdfsig and
// qpdf. Then the refusals: a forged state, a wrong PKCE verifier, a
// reused code and a foreign redirect URI.
func TestCSCBrowserSigning(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium not found at %s (%v): install it with `make deps` (Debian package chromium)", chromiumPath, err)
	}
	dir := t.TempDir()
	s := startServer(t, dir)
	b := newBrowser(t, s)
	ctx := context.Background()
	secretB, err := os.ReadFile(filepath.Join(dir, "demo-csc.secret"))
	require.NoError(t, err)
	secret := strings.TrimSpace(string(secretB))

	cl, err := csc.NewClient(s.base+"/csc/v2", csc.ClientOptions{HTTPClient: s.hc})
	require.NoError(t, err)
	info, err := cl.Info(ctx)
	require.NoError(t, err)
	require.Contains(t, info.AuthType, "oauth2code")
	require.True(t, strings.HasSuffix(info.OAuth2, "/csc/v2"), info.OAuth2)

	// The host finds the credential and its chain with its API key.
	host := cl.WithToken(s.apiKey())
	credID := csc.CredentialID(demoUser1)
	ci, err := host.CredentialInfo(ctx, csc.CredentialsInfoRequest{CredentialID: credID, InfoOptions: csc.InfoOptions{Certificates: "chain"}})
	require.NoError(t, err)
	require.Equal(t, "oauth2code", ci.Auth.Mode)
	var chain []*x509.Certificate
	for _, c := range ci.Cert.Certificates {
		der, err := base64.StdEncoding.DecodeString(c)
		require.NoError(t, err)
		crt, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		chain = append(chain, crt)
	}

	doc := sampleVouchers[0].PDF()
	prep, err := pdf.Prepare(ctx, bytes.NewReader(doc), int64(len(doc)), chain, pdf.Options{Reason: "Perakuan 1", Location: "Putrajaya"})
	require.NoError(t, err)
	hashes := []roamsign.Hash{{Algorithm: prep.Hash(), Value: prep.Digest()}}

	callbacks := make(chan url.Values, 4)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r) // the browser's favicon request
			return
		}
		callbacks <- r.URL.Query()
		_, _ = w.Write([]byte("<!doctype html><title>done</title><p id=done>Signed, you may close this window."))
	}))
	t.Cleanup(cb.Close)
	req := csc.AuthCodeRequest{ClientID: cscDemoClient, RedirectURI: cb.URL + "/callback", CredentialID: credID,
		Hashes: hashes, Description: "PV2026/000124 | Perakuan 1"}

	approve := func(f *csc.AuthCodeFlow) url.Values {
		t.Helper()
		b.do("open the signing page", chromedp.Navigate(f.URL), chromedp.WaitVisible(chromedp.CSS("#step-sign")))
		if h := b.text("#data-header"); !strings.Contains(h, "PV2026/000124") || !strings.Contains(h, "Demo CSC client") {
			b.fail("signing page: data header %q", h)
		}
		if got := strings.TrimSpace(b.text("#sign-items td:nth-child(2)")); got != csc.Hashes(hashes)[0] {
			b.fail("signing page shows hash %q, want %q", got, csc.Hashes(hashes)[0])
		}
		vcode := strings.TrimSpace(b.text("#vcode"))
		if vcode == "" || !strings.Contains(b.text("#form-sign .notice"), "Akta 562") {
			b.fail("signing page: no verification code or legal notice")
		}
		otp := readOTP(t, s.hc, s.base, demoEmail(t, demoUser1), vcode)
		b.do("type PIN and OTP and sign",
			chromedp.SendKeys(chromedp.CSS("#pin"), demoPIN1),
			chromedp.SendKeys(chromedp.CSS("#otp"), otp),
			chromedp.Click(chromedp.CSS("#btn-confirm")),
			chromedp.WaitVisible(chromedp.CSS("#done")),
		)
		select {
		case q := <-callbacks:
			return q
		case <-time.After(10 * time.Second):
			b.fail("no callback")
		}
		return nil
	}

	f, err := cl.StartAuthCode(req)
	require.NoError(t, err)
	q := approve(f)
	forged := url.Values{"code": {q.Get("code")}, "state": {"forged"}}
	_, err = f.Callback(forged)
	require.ErrorIs(t, err, csc.ErrStateMismatch)
	code, err := f.Callback(q)
	require.NoError(t, err)
	tok, err := cl.Exchange(ctx, f, code, secret)
	require.NoError(t, err)
	sigs, err := cl.WithToken(tok.AccessToken).SignHash(ctx, csc.SignHashRequest{CredentialID: credID, Hashes: csc.Hashes(hashes),
		HashAlgorithmOID: prep.Hash().OID().String(), SignAlgo: csc.OIDRSA})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, prep.Complete(ctx, sigs[0], &out))
	checkPDF(t, writeTemp(t, "csc-signed.pdf", out.Bytes()), 1)
	// The code was good once.
	_, err = cl.Exchange(ctx, f, code, secret)
	assertCSC(t, err, "invalid_grant")

	// A wrong PKCE verifier gets no token.
	f, err = cl.StartAuthCode(req)
	require.NoError(t, err)
	code, err = f.Callback(approve(f))
	require.NoError(t, err)
	f.Verifier = strings.Repeat("x", 43)
	_, err = cl.Exchange(ctx, f, code, secret)
	assertCSC(t, err, "invalid_grant")

	// A foreign redirect URI is refused on the page, never followed.
	evil := req
	evil.RedirectURI = "https://evil.example/cb"
	f, err = cl.StartAuthCode(evil)
	require.NoError(t, err)
	b.do("open with a foreign redirect URI", chromedp.Navigate(f.URL), chromedp.WaitVisible(chromedp.CSS("#error")))
	if got := b.text("#error"); !strings.Contains(got, "redirect_uri") {
		b.fail("foreign redirect URI: %q", got)
	}
	if loc := b.eval(`location.origin`); loc != s.base {
		b.fail("the browser left the server for %s", loc)
	}
	b.checkNoExceptions()
}

func assertCSC(t *testing.T, err error, code string) {
	t.Helper()
	e, ok := csc.IsCSCError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, code, e.Code)
}
