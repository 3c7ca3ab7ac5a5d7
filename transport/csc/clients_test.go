package csc_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/apitest"
	"github.com/roamsign/roamsign/transport/csc"
)

func secretHex(s string) string { d := csc.HashSecret(s); return hex.EncodeToString(d[:]) }

func TestParseClients(t *testing.T) {
	good := `[
	 {"id": "app", "name": "Signing App", "host": "host-a", "secretSHA256": "` + secretHex(appSecret) + `",
	  "redirectURIs": ["https://app.example/cb", "http://127.0.0.1/callback", "http://[::1]/cb", "http://localhost:8080/cb"],
	  "scopes": ["credential", "service"]},
	 {"id": "wallet", "host": "host-b", "redirectURIs": ["https://wallet.example/cb"], "scopes": ["credential"]},
	 {"id": "batch", "host": "host-a", "secretSHA256": "` + secretHex("batch-secret") + `", "scopes": ["service"]}
	]`
	cs, err := csc.ParseClients([]byte(good), false)
	require.NoError(t, err)
	require.Len(t, cs, 3)
	require.Equal(t, csc.HashSecret(appSecret), cs[0].SecretDigest)
	require.Equal(t, roamsign.HostID("host-b"), cs[1].Host)
	require.Equal(t, [32]byte{}, cs[1].SecretDigest, "public client")

	insecure := `[{"id": "app", "host": "h", "redirectURIs": ["http://app.example/cb"], "scopes": ["credential"]}]`
	_, err = csc.ParseClients([]byte(insecure), false)
	require.ErrorIs(t, err, roamsign.ErrInvalidInput, "http redirect URI outside dev")
	_, err = csc.ParseClients([]byte(insecure), true)
	require.NoError(t, err, "http redirect URI in dev mode")

	for name, doc := range map[string]string{
		"not JSON":               `{`,
		"object":                 `{"id": "x"}`,
		"unknown member":         `[{"id": "a", "host": "h", "scopes": ["credential"], "redirectURIs": ["https://a/cb"], "secret": "x"}]`,
		"duplicate id":           `[{"id": "a", "host": "h", "redirectURIs": ["https://a/cb"], "scopes": ["credential"]}, {"id": "a", "host": "h", "redirectURIs": ["https://a/cb"], "scopes": ["credential"]}]`,
		"no id":                  `[{"host": "h", "redirectURIs": ["https://a/cb"], "scopes": ["credential"]}]`,
		"no host":                `[{"id": "a", "redirectURIs": ["https://a/cb"], "scopes": ["credential"]}]`,
		"no scopes":              `[{"id": "a", "host": "h", "redirectURIs": ["https://a/cb"]}]`,
		"unknown scope":          `[{"id": "a", "host": "h", "redirectURIs": ["https://a/cb"], "scopes": ["admin"]}]`,
		"service without secret": `[{"id": "a", "host": "h", "scopes": ["service"]}]`,
		"code without redirect":  `[{"id": "a", "host": "h", "secretSHA256": "` + secretHex("s") + `", "scopes": ["credential"]}]`,
		"short secret digest":    `[{"id": "a", "host": "h", "secretSHA256": "abcd", "scopes": ["service"]}]`,
		"fragment":               `[{"id": "a", "host": "h", "redirectURIs": ["https://a/cb#x"], "scopes": ["credential"]}]`,
		"relative":               `[{"id": "a", "host": "h", "redirectURIs": ["/cb"], "scopes": ["credential"]}]`,
		"user info":              `[{"id": "a", "host": "h", "redirectURIs": ["https://u:p@a/cb"], "scopes": ["credential"]}]`,
		"custom scheme":          `[{"id": "a", "host": "h", "redirectURIs": ["app:/cb"], "scopes": ["credential"]}]`,
		"two values":             `[] []`,
	} {
		_, err := csc.ParseClients([]byte(doc), false)
		require.ErrorIs(t, err, roamsign.ErrInvalidInput, name)
	}
	_, err = csc.ParseClients([]byte("["+strings.Repeat(" ", csc.MaxClientsFile)+"]"), false)
	require.ErrorIs(t, err, roamsign.ErrTooLarge)
}

func FuzzParseClients(f *testing.F) {
	f.Add([]byte(`[{"id": "a", "host": "h", "redirectURIs": ["https://a/cb"], "scopes": ["credential"]}]`), false)
	f.Add([]byte(`[{"id": "a", "host": "h", "secretSHA256": "`+secretHex("s")+`", "scopes": ["service"]}]`), true)
	f.Fuzz(func(t *testing.T, data []byte, dev bool) {
		cs, err := csc.ParseClients(data, dev)
		if err != nil {
			require.Nil(t, cs)
			return
		}
		for _, c := range cs {
			for _, u := range c.RedirectURIs {
				require.NoError(t, csc.CheckRedirectURI(u, dev))
			}
		}
	})
}

// TestClientScopes: a client gets only the scopes it was registered for.
func TestClientScopes(t *testing.T) {
	const codeOnly, serviceOnly = "code-only", "service-only"
	e := newEnv(t, "", func(o *csc.Options) {
		o.Clients = []csc.OAuthClient{
			{ID: codeOnly, Host: apitest.HostA, SecretDigest: csc.HashSecret(appSecret), RedirectURIs: []string{appRedir}, Scopes: []string{csc.ScopeCredential}},
			{ID: serviceOnly, Host: apitest.HostA, SecretDigest: csc.HashSecret(appSecret), RedirectURIs: []string{appRedir}, Scopes: []string{csc.ScopeService}},
		}
	})
	ctx := context.Background()
	u := e.suite.Enrol(t, apitest.HostA)
	_, err := e.a.ClientCredentials(ctx, codeOnly, appSecret)
	wantCSC(t, err, badRequest, "invalid_scope")
	_, err = e.a.ClientCredentials(ctx, serviceOnly, appSecret)
	require.NoError(t, err)

	f, err := e.a.StartAuthCode(csc.AuthCodeRequest{ClientID: serviceOnly, RedirectURI: appRedir, CredentialID: csc.CredentialID(u.ID), Hashes: apitest.Hashes(1)})
	require.NoError(t, err)
	status, loc, body := e.browse(t, http.MethodGet, f.URL, nil)
	require.Equal(t, http.StatusSeeOther, status, body)
	lu, err := url.Parse(loc)
	require.NoError(t, err)
	require.Equal(t, "invalid_scope", lu.Query().Get("error"))
	require.Empty(t, e.d.Challenges.LastOTP(u.ID), "no OTP sent")
}
