package csc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// Client is a CSC API v2 client: the calls a signature application needs
// (info, credentials/list, credentials/info, the explicit authorisation
// or the OAuth 2.0 authorization code flow with PKCE, signatures/signHash).
// It speaks the specification only, so it works with any CSC v2 service;
// the roamsign extensions are used only where a call names them. It is
// safe for concurrent use.
type Client struct {
	base  string // service base URI, ".../csc/v2"
	hc    *http.Client
	token string
}

// ClientOptions configure [NewClient].
type ClientOptions struct {
	// HTTPClient sends the requests (TLS client certificates go in its
	// transport). Default: a client with a 60-second timeout.
	HTTPClient *http.Client
	// AccessToken is sent as "Authorization: Bearer": a service access
	// token, a host API key or a credential access token.
	AccessToken string
}

// maxAnswer bounds an answer the client reads (1000 signatures of 512
// bytes in base64 fit easily).
const maxAnswer = 4 << 20

// NewClient returns a client of the CSC v2 service at base, the URI the
// methods hang under (for example "https://sign.example.gov.my/csc/v2").
func NewClient(base string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "csc.NewClient", "base must be an absolute http(s) URI")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return &Client{base: strings.TrimRight(base, "/"), hc: hc, token: opts.AccessToken}, nil
}

// WithToken returns a copy of c that sends token as its bearer token.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// call posts in as JSON to method and decodes the answer into out (nil:
// 204 expected). It returns the answer's headers.
func (c *Client) call(ctx context.Context, method string, in, out any) (http.Header, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, "csc.Client", err, "encoding the request")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+method, bytes.NewReader(body))
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, "csc.Client", err, "building the request")
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.do(req, method, out)
}

func (c *Client) do(req *http.Request, method string, out any) (http.Header, error) {
	op := "csc.Client." + method
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "request failed")
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "reading the answer")
	}
	if len(b) > maxAnswer {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "answer larger than %d bytes", maxAnswer)
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Code == "" {
			e.Code = http.StatusText(resp.StatusCode)
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		return resp.Header, &roamsign.Error{Kind: kindOfError(e), Op: op, Msg: e.Code, Err: e}
	}
	if out == nil {
		return resp.Header, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "answer is not the expected JSON")
	}
	return resp.Header, nil
}

// Info calls info.
func (c *Client) Info(ctx context.Context) (*InfoResponse, error) {
	var out InfoResponse
	_, err := c.call(ctx, "info", InfoRequest{}, &out)
	return &out, err
}

// ListCredentials calls credentials/list.
func (c *Client) ListCredentials(ctx context.Context, req CredentialsListRequest) (*CredentialsListResponse, error) {
	var out CredentialsListResponse
	_, err := c.call(ctx, "credentials/list", req, &out)
	return &out, err
}

// CredentialInfo calls credentials/info.
func (c *Client) CredentialInfo(ctx context.Context, req CredentialsInfoRequest) (*CredentialInfo, error) {
	var out CredentialInfo
	_, err := c.call(ctx, "credentials/info", req, &out)
	return &out, err
}

// GetChallenge calls credentials/getChallenge; an OTP sent out of band
// answers 204. It returns the verification code when the service sends
// one (roamsign's ExtChallengeHashes).
func (c *Client) GetChallenge(ctx context.Context, req GetChallengeRequest) (verificationCode string, err error) {
	h, err := c.call(ctx, "credentials/getChallenge", req, nil)
	if err != nil {
		return "", err
	}
	return h.Get(HeaderVerificationCode), nil
}

// Authorize calls credentials/authorize.
func (c *Client) Authorize(ctx context.Context, req AuthorizeRequest) (*AuthorizeResponse, error) {
	var out AuthorizeResponse
	_, err := c.call(ctx, "credentials/authorize", req, &out)
	return &out, err
}

// ExtendTransaction calls credentials/extendTransaction.
func (c *Client) ExtendTransaction(ctx context.Context, req ExtendTransactionRequest) (*AuthorizeResponse, error) {
	var out AuthorizeResponse
	_, err := c.call(ctx, "credentials/extendTransaction", req, &out)
	return &out, err
}

// SignHash calls signatures/signHash and decodes the signatures.
func (c *Client) SignHash(ctx context.Context, req SignHashRequest) ([][]byte, error) {
	var out SignHashResponse
	if _, err := c.call(ctx, "signatures/signHash", req, &out); err != nil {
		return nil, err
	}
	if len(out.Signatures) != len(req.Hashes) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "csc.Client.SignHash", "%d signatures for %d hashes", len(out.Signatures), len(req.Hashes))
	}
	sigs := make([][]byte, len(out.Signatures))
	for i, s := range out.Signatures {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, roamsign.E(roamsign.ErrInvalidInput, "csc.Client.SignHash", "signature %d is not base64", i)
		}
		sigs[i] = b
	}
	return sigs, nil
}

// Hashes encodes digests as the CSC API carries them (base64).
func Hashes(hs []roamsign.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h.Value)
	}
	return out
}

// AuthCodeRequest is what the signature application asks the signer to
// approve in the authorization code flow (scope "credential").
type AuthCodeRequest struct {
	ClientID         string
	RedirectURI      string
	CredentialID     string
	Hashes           []roamsign.Hash // one algorithm
	Description      string
	SignAlgo         string // roamsign ExtAuthorizeSignAlgo; "" for the key's default
	SignAlgoParams   string
	Lang             string
	UseDetails       bool // send authorization_details instead of the scope parameters
	DocumentLabels   []string
	ClientSecret     string // for PushAuthorization (confidential clients)
	ExtraQueryValues url.Values
}

// AuthCodeFlow is one started authorization code flow: the URL to send
// the signer's browser to, and the state and PKCE verifier the
// application keeps for the callback.
type AuthCodeFlow struct {
	URL      string
	State    string
	Verifier string
	params   url.Values
}

// values are the authorization request's parameters.
func (r AuthCodeRequest) values(state, challenge string) (url.Values, error) {
	if len(r.Hashes) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, "csc.AuthCodeRequest", "no hashes")
	}
	v := url.Values{
		"response_type": {"code"}, "client_id": {r.ClientID}, "redirect_uri": {r.RedirectURI},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {state},
	}
	alg := r.Hashes[0].Algorithm.OID().String()
	if r.UseDetails {
		type digest struct {
			Hash  string `json:"hash"`
			Label string `json:"label,omitempty"`
		}
		d := struct {
			Type             string   `json:"type"`
			CredentialID     string   `json:"credentialID"`
			DocumentDigests  []digest `json:"documentDigests"`
			HashAlgorithmOID string   `json:"hashAlgorithmOID"`
		}{Type: "credential", CredentialID: r.CredentialID, HashAlgorithmOID: alg}
		for i, h := range r.Hashes {
			dg := digest{Hash: base64.StdEncoding.EncodeToString(h.Value)}
			if i < len(r.DocumentLabels) {
				dg.Label = r.DocumentLabels[i]
			}
			d.DocumentDigests = append(d.DocumentDigests, dg)
		}
		b, _ := json.Marshal([]any{d})
		v.Set("authorization_details", string(b))
	} else {
		hs := make([]string, len(r.Hashes))
		for i, h := range r.Hashes {
			hs[i] = base64.RawURLEncoding.EncodeToString(h.Value)
		}
		v.Set("scope", "credential")
		v.Set("credentialID", r.CredentialID)
		v.Set("numSignatures", strconv.Itoa(len(r.Hashes)))
		v.Set("hashes", strings.Join(hs, ","))
		v.Set("hashAlgorithmOID", alg)
	}
	for k, val := range map[string]string{"description": r.Description, "lang": r.Lang, "signAlgo": r.SignAlgo, "signAlgoParams": r.SignAlgoParams} {
		if val != "" {
			v.Set(k, val)
		}
	}
	for k, vs := range r.ExtraQueryValues {
		v[k] = vs
	}
	return v, nil
}

// newFlow makes a state and a PKCE verifier (RFC 7636, S256).
func newFlow() (state, verifier, challenge string, err error) {
	if state, err = newHandle(); err != nil {
		return
	}
	if verifier, err = newHandle(); err != nil {
		return
	}
	sum := sha256.Sum256([]byte(verifier))
	return state, verifier, base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// StartAuthCode prepares the authorization code flow: the
// oauth2/authorize URL with PKCE S256 and a fresh state.
func (c *Client) StartAuthCode(req AuthCodeRequest) (*AuthCodeFlow, error) {
	state, verifier, challenge, err := newFlow()
	if err != nil {
		return nil, err
	}
	v, err := req.values(state, challenge)
	if err != nil {
		return nil, err
	}
	return &AuthCodeFlow{URL: c.base + "/oauth2/authorize?" + v.Encode(), State: state, Verifier: verifier, params: v}, nil
}

// PushAuthorization prepares the flow through oauth2/pushed_authorize
// (RFC 9126): the parameters go to the service directly and the URL
// carries only client_id and request_uri.
func (c *Client) PushAuthorization(ctx context.Context, req AuthCodeRequest) (*AuthCodeFlow, error) {
	state, verifier, challenge, err := newFlow()
	if err != nil {
		return nil, err
	}
	v, err := req.values(state, challenge)
	if err != nil {
		return nil, err
	}
	var out struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int    `json:"expires_in"`
	}
	if err := c.form(ctx, "oauth2/pushed_authorize", v, req.ClientID, req.ClientSecret, &out); err != nil {
		return nil, err
	}
	q := url.Values{"client_id": {req.ClientID}, "request_uri": {out.RequestURI}}
	return &AuthCodeFlow{URL: c.base + "/oauth2/authorize?" + q.Encode(), State: state, Verifier: verifier, params: v}, nil
}

// form posts an OAuth 2.0 form, authenticating the client with
// client_secret_basic when a secret is given.
func (c *Client) form(ctx context.Context, method string, v url.Values, clientID, secret string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+method, strings.NewReader(v.Encode()))
	if err != nil {
		return roamsign.Wrap(roamsign.ErrInvalidInput, "csc.Client", err, "building the request")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	_, err = c.do(req, method, out)
	return err
}

// TokenResponse is oauth2/token's answer.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	CredentialID string `json:"credentialID,omitempty"`
	// AuthorizationDetails echoes the request's authorization_details.
	AuthorizationDetails json.RawMessage `json:"authorization_details,omitempty"`
}

// ErrStateMismatch is returned by [AuthCodeFlow.Exchange] when the
// callback's state is not the flow's: the answer may be forged (CSRF) and
// is not used.
var ErrStateMismatch = roamsign.E(roamsign.ErrAuthorization, "csc.AuthCodeFlow", "the callback's state does not match the request")

// Callback reads the redirect URI's query (code, state, error) and
// returns the code. A state other than the flow's is ErrStateMismatch; an
// error answer (access_denied, ...) is returned as an *Error.
func (f *AuthCodeFlow) Callback(query url.Values) (string, error) {
	if st := query.Get("state"); st == "" || !constEq(st, f.State) {
		return "", ErrStateMismatch
	}
	if e := query.Get("error"); e != "" {
		ce := &Error{Status: http.StatusBadRequest, Code: e, Description: query.Get("error_description")}
		return "", &roamsign.Error{Kind: kindOfError(ce), Op: "csc.AuthCodeFlow.Callback", Msg: e, Err: ce}
	}
	code := query.Get("code")
	if code == "" {
		return "", roamsign.E(roamsign.ErrInvalidInput, "csc.AuthCodeFlow.Callback", "no code in the callback")
	}
	return code, nil
}

// Exchange trades the code for a credential access token at oauth2/token.
func (c *Client) Exchange(ctx context.Context, f *AuthCodeFlow, code, clientSecret string) (*TokenResponse, error) {
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {f.params.Get("client_id")},
		"redirect_uri": {f.params.Get("redirect_uri")}, "code_verifier": {f.Verifier}}
	if d := f.params.Get("authorization_details"); d != "" {
		v.Set("authorization_details", d)
	}
	var out TokenResponse
	if err := c.form(ctx, "oauth2/token", v, f.params.Get("client_id"), clientSecret, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ClientCredentials obtains a service access token (grant
// client_credentials, scope "service").
func (c *Client) ClientCredentials(ctx context.Context, clientID, secret string) (*TokenResponse, error) {
	var out TokenResponse
	v := url.Values{"grant_type": {"client_credentials"}, "scope": {"service"}}
	if err := c.form(ctx, "oauth2/token", v, clientID, secret, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Revoke revokes an access token at oauth2/revoke (RFC 7009).
func (c *Client) Revoke(ctx context.Context, clientID, secret, token string) error {
	v := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	if secret == "" {
		v.Set("client_id", clientID)
	}
	return c.form(ctx, "oauth2/revoke", v, clientID, secret, nil)
}

// IsCSCError reports the CSC error code of err, if it carries one.
func IsCSCError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func constEq(a, b string) bool {
	return len(a) == len(b) && subtleEq([]byte(a), []byte(b))
}
