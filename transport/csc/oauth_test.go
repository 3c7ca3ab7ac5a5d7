package csc_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/transport/csc"
)

const (
	appID     = "signing-app"
	appSecret = "app-secret-0123456789-0123456789-abcdef"
	appRedir  = "http://127.0.0.1/callback"
	publicID  = "public-app"
)

func oauthEnv(t *testing.T) *env {
	return newEnv(t, "", func(o *csc.Options) {
		o.Clients = []csc.OAuthClient{
			{ID: appID, Name: "Signing App", Host: apitest.HostA, SecretDigest: csc.HashSecret(appSecret), RedirectURIs: []string{appRedir}},
			{ID: publicID, Host: apitest.HostA, RedirectURIs: []string{"https://app.example/cb"}},
		}
	})
}

var sessionField = regexp.MustCompile(`name="session" value="([^"]+)"`)

// browse is a browser without redirects: it returns the status, the
// Location and the body.
func (e *env) browse(t *testing.T, method, u string, form url.Values) (int, string, string) {
	t.Helper()
	hc := *e.srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = hc.Get(u)
	} else {
		resp, err = hc.PostForm(u, form)
	}
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// approveOnPage opens the flow's URL, reads the session, sends PIN and
// the user's OTP and returns the callback query.
func (e *env) approveOnPage(t *testing.T, f *csc.AuthCodeFlow, u apitest.User, pin string) url.Values {
	t.Helper()
	status, _, body := e.browse(t, http.MethodGet, f.URL, nil)
	require.Equal(t, http.StatusOK, status, body)
	m := sessionField.FindStringSubmatch(body)
	require.NotNil(t, m, body)
	status, loc, body := e.browse(t, http.MethodPost, e.srv.URL+"/csc/v2/oauth2/authorize",
		url.Values{"session": {m[1]}, "pin": {pin}, "otp": {e.d.Challenges.LastOTP(u.ID)}, "action": {"approve"}})
	require.Equal(t, http.StatusSeeOther, status, body)
	lu, err := url.Parse(loc)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", lu.Hostname())
	return lu.Query()
}

func TestAuthCodeFlow(t *testing.T) {
	e := oauthEnv(t)
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(2)
	for _, details := range []bool{false, true} {
		req := csc.AuthCodeRequest{ClientID: appID, RedirectURI: "http://127.0.0.1:4567/callback", CredentialID: csc.CredentialID(u.ID),
			Hashes: hs, Description: "Kontrak 7", UseDetails: details, DocumentLabels: []string{"Kontrak", "Lampiran"}}
		f, err := e.a.StartAuthCode(req)
		require.NoError(t, err)
		q := e.approveOnPage(t, f, u, apitest.PIN.Reveal())
		code, err := f.Callback(q)
		require.NoError(t, err)
		tok, err := e.a.Exchange(ctx, f, code, appSecret)
		require.NoError(t, err)
		assert.Equal(t, "Bearer", tok.TokenType)
		assert.LessOrEqual(t, tok.ExpiresIn, 300)
		if details {
			assert.Contains(t, string(tok.AuthorizationDetails), "documentDigests")
		}
		// The credential token is the SAD: signHash needs no SAD parameter.
		app := e.client(tok.AccessToken)
		_, err = app.CredentialInfo(ctx, csc.CredentialsInfoRequest{CredentialID: csc.CredentialID(u.ID)})
		require.NoError(t, err)
		sigs, err := app.SignHash(ctx, signReq(u, "", hs))
		require.NoError(t, err)
		for i := range hs {
			apitest.CheckRaw(t, u.Chain, hs[i], sigs[i])
		}
		_, err = app.SignHash(ctx, signReq(u, "", hs[:1]))
		wantCSC(t, err, http.StatusUnauthorized, "invalid_token") // spent: the token is gone

		// The code is single use; a second use is refused.
		_, err = e.a.Exchange(ctx, f, code, appSecret)
		wantCSC(t, err, badRequest, "invalid_grant")
	}
}

func TestAuthCodeFlowRefusals(t *testing.T) {
	e := oauthEnv(t)
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	hs := apitest.Hashes(1)
	base := csc.AuthCodeRequest{ClientID: appID, RedirectURI: appRedir, CredentialID: csc.CredentialID(u.ID), Hashes: hs}

	t.Run("WrongVerifier", func(t *testing.T) {
		f, err := e.a.StartAuthCode(base)
		require.NoError(t, err)
		code, err := f.Callback(e.approveOnPage(t, f, u, apitest.PIN.Reveal()))
		require.NoError(t, err)
		good := f.Verifier
		f.Verifier = strings.Repeat("A", 43)
		_, err = e.a.Exchange(ctx, f, code, appSecret)
		wantCSC(t, err, badRequest, "invalid_grant")
		f.Verifier = good
		_, err = e.a.Exchange(ctx, f, code, appSecret)
		require.NoError(t, err, "a wrong verifier does not use up the code")
	})
	t.Run("ReusedCodeRevokesToken", func(t *testing.T) {
		f, err := e.a.StartAuthCode(base)
		require.NoError(t, err)
		code, err := f.Callback(e.approveOnPage(t, f, u, apitest.PIN.Reveal()))
		require.NoError(t, err)
		tok, err := e.a.Exchange(ctx, f, code, appSecret)
		require.NoError(t, err)
		_, err = e.a.Exchange(ctx, f, code, appSecret)
		wantCSC(t, err, badRequest, "invalid_grant")
		_, err = e.client(tok.AccessToken).SignHash(ctx, signReq(u, "", hs))
		wantCSC(t, err, http.StatusUnauthorized, "invalid_token")
	})
	t.Run("WrongState", func(t *testing.T) {
		f, err := e.a.StartAuthCode(base)
		require.NoError(t, err)
		q := e.approveOnPage(t, f, u, apitest.PIN.Reveal())
		q.Set("state", "forged")
		_, err = f.Callback(q)
		require.ErrorIs(t, err, csc.ErrStateMismatch)
	})
	t.Run("ForeignRedirect", func(t *testing.T) {
		r := base
		r.RedirectURI = "https://evil.example/cb"
		f, err := e.a.StartAuthCode(r)
		require.NoError(t, err)
		status, loc, body := e.browse(t, http.MethodGet, f.URL, nil)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Empty(t, loc, "never redirect to an unregistered URI")
		assert.Contains(t, body, "redirect_uri")
	})
	t.Run("PlainPKCE", func(t *testing.T) {
		f, err := e.a.StartAuthCode(base)
		require.NoError(t, err)
		status, loc, _ := e.browse(t, http.MethodGet, strings.Replace(f.URL, "code_challenge_method=S256", "code_challenge_method=plain", 1), nil)
		require.Equal(t, http.StatusSeeOther, status)
		lu, _ := url.Parse(loc)
		assert.Equal(t, "invalid_request", lu.Query().Get("error"))
		assert.Equal(t, f.State, lu.Query().Get("state"))
	})
	t.Run("WrongPINStaysOnPage", func(t *testing.T) {
		f, err := e.a.StartAuthCode(base)
		require.NoError(t, err)
		_, _, body := e.browse(t, http.MethodGet, f.URL, nil)
		sid := sessionField.FindStringSubmatch(body)[1]
		status, _, body := e.browse(t, http.MethodPost, e.srv.URL+"/csc/v2/oauth2/authorize",
			url.Values{"session": {sid}, "pin": {"Wr0ng-PIN-77"}, "otp": {e.d.Challenges.LastOTP(u.ID)}, "action": {"approve"}})
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Contains(t, body, "Wrong PIN or OTP")
		status, loc, _ := e.browse(t, http.MethodPost, e.srv.URL+"/csc/v2/oauth2/authorize",
			url.Values{"session": {sid}, "action": {"cancel"}})
		require.Equal(t, http.StatusSeeOther, status)
		lu, _ := url.Parse(loc)
		assert.Equal(t, "access_denied", lu.Query().Get("error"))
	})
	t.Run("PAR", func(t *testing.T) {
		r := base
		r.ClientSecret = appSecret
		f, err := e.a.PushAuthorization(ctx, r)
		require.NoError(t, err)
		assert.Contains(t, f.URL, "request_uri=urn")
		code, err := f.Callback(e.approveOnPage(t, f, u, apitest.PIN.Reveal()))
		require.NoError(t, err)
		tok, err := e.a.Exchange(ctx, f, code, appSecret)
		require.NoError(t, err)
		_, err = e.client(tok.AccessToken).SignHash(ctx, signReq(u, "", hs))
		require.NoError(t, err)
		r.ClientSecret = "wrong-secret"
		_, err = e.a.PushAuthorization(ctx, r)
		wantCSC(t, err, badRequest, "invalid_request")
	})
	t.Run("PublicClientNeedsNoSecret", func(t *testing.T) {
		_, err := e.a.ClientCredentials(ctx, publicID, "")
		require.Error(t, err)
	})
}

// TestClientCredentials: a service token authorises the explicit flow
// like a host credential, and revocation ends it.
func TestClientCredentials(t *testing.T) {
	e := oauthEnv(t)
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	tok, err := e.a.ClientCredentials(ctx, appID, appSecret)
	require.NoError(t, err)
	svc := e.client(tok.AccessToken)
	l, err := svc.ListCredentials(ctx, csc.CredentialsListRequest{UserID: string(u.ID)})
	require.NoError(t, err)
	require.Len(t, l.CredentialIDs, 1)
	hs := apitest.Hashes(1)
	sad := e.authorize(t, svc, u, hs, nil)
	// The SAD belongs to the client, not to its host's other callers.
	_, err = e.a.SignHash(ctx, signReq(u, sad, hs))
	wantCSC(t, err, badRequest, "invalid_request")
	_, err = svc.SignHash(ctx, signReq(u, sad, hs))
	require.NoError(t, err)

	require.NoError(t, e.a.Revoke(ctx, appID, appSecret, tok.AccessToken))
	_, err = svc.ListCredentials(ctx, csc.CredentialsListRequest{UserID: string(u.ID)})
	wantCSC(t, err, http.StatusUnauthorized, "invalid_token")
	_, err = e.a.ClientCredentials(ctx, appID, "not-the-secret")
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
}
