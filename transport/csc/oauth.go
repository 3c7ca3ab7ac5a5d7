package csc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// The OAuth 2.0 authorization server of the face: oauth2/authorize (the
// signer approves on the signing page), oauth2/pushed_authorize (RFC
// 9126), oauth2/token (authorization code with PKCE S256, client
// credentials) and oauth2/revoke (RFC 7009).

// serviceToken is a service access token (client credentials grant).
type serviceToken struct {
	host   roamsign.HostID
	client string
}

// authzRequest is a validated authorization request (scope "credential").
type authzRequest struct {
	client       *OAuthClient
	redirectURI  string
	state        string
	challenge    string // PKCE S256 code challenge
	credentialID string
	hashes       []roamsign.Hash
	labels       []string
	description  string
	scheme       scheme
	details      json.RawMessage // authorization_details as given, echoed by oauth2/token
	lang         string
}

// authCode is an issued authorization code: single use, short-lived.
type authCode struct {
	req      *authzRequest
	user     roamsign.UserID
	txID     string
	keySc    scheme
	used     bool
	tokenKey []byte // the digest of the access token it was exchanged for
}

// pageSession is a signing page awaiting PIN and OTP.
type pageSession struct {
	req       *authzRequest
	cred      *cred
	challenge *roamsign.OTPResponse
}

// oauthError is an error of the authorization endpoint: redirected to the
// client when the redirect URI is known good, shown on a page otherwise.
type oauthError struct {
	code, desc string
	redirect   bool
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func redirErr(code, desc string) *oauthError {
	return &oauthError{code: code, desc: desc, redirect: true}
}

const (
	requestURIPrefix = "urn:ietf:params:oauth:request_uri:"
	pushedLife       = 90 * time.Second
	maxFormBytes     = 256 << 10
)

func oauthRoutes(v version) []route {
	p := v.prefix() + "/oauth2/"
	return []route{
		{method: http.MethodGet, path: p + "authorize", access: public, serve: func(s *server, w http.ResponseWriter, r *http.Request, _ *caller) {
			s.authorizePage(w, r, v)
		}},
		{method: http.MethodPost, path: p + "authorize", access: public, serve: func(s *server, w http.ResponseWriter, r *http.Request, _ *caller) {
			s.approve(w, r)
		}},
		{method: http.MethodPost, path: p + "pushed_authorize", access: public, serve: func(s *server, w http.ResponseWriter, r *http.Request, _ *caller) {
			s.par(w, r, v)
		}},
		{method: http.MethodPost, path: p + "token", access: public, serve: (*server).token},
		{method: http.MethodPost, path: p + "revoke", access: public, serve: (*server).revoke},
	}
}

// parseAuthz validates an authorization request. Before the client and
// its redirect URI are known good, errors are not redirectable.
func (s *server) parseAuthz(v version, q url.Values) (*authzRequest, error) {
	cl, ok := s.clients[q.Get("client_id")]
	if !ok {
		return nil, &oauthError{code: ErrCodeInvalidRequest, desc: "Invalid parameter client_id"}
	}
	req := &authzRequest{client: cl, redirectURI: q.Get("redirect_uri"), state: q.Get("state"), lang: q.Get("lang")}
	if req.redirectURI == "" && len(cl.RedirectURIs) == 1 {
		req.redirectURI = cl.RedirectURIs[0]
	}
	if !cl.redirectAllowed(req.redirectURI) {
		return nil, &oauthError{code: ErrCodeInvalidRequest, desc: "The redirect_uri is not registered for this client"}
	}
	if !cl.allows(ScopeCredential) {
		return req, redirErr(ErrCodeInvalidScope, "This client may not obtain credential authorizations")
	}
	switch {
	case q.Get("response_type") != "code":
		return req, redirErr(ErrCodeUnsupportedRespType, "response_type must be code")
	case q.Get("code_challenge") == "":
		return req, redirErr(ErrCodeInvalidRequest, "PKCE is required: missing code_challenge")
	case q.Get("code_challenge_method") != "S256":
		return req, redirErr(ErrCodeInvalidRequest, "code_challenge_method must be S256")
	case req.state == "":
		return req, redirErr(ErrCodeInvalidRequest, "Missing parameter state")
	}
	req.challenge = q.Get("code_challenge")
	if len(req.challenge) != 43 {
		return req, redirErr(ErrCodeInvalidRequest, "Invalid parameter code_challenge")
	}
	var err error
	if d := q.Get("authorization_details"); d != "" {
		err = req.readDetails(d, s.opts.MultiSign)
	} else {
		err = req.readScope(v, q, s.opts.MultiSign)
	}
	if err != nil {
		return req, redirErr(ErrCodeInvalidRequest, errorOf(err).Description)
	}
	if req.description = q.Get("description"); len(req.description) > maxDescription {
		return req, redirErr(ErrCodeInvalidRequest, "Invalid parameter description")
	}
	if req.scheme, err = schemeOfExtension(q.Get("signAlgo"), q.Get("signAlgoParams"), req.hashes[0].Algorithm); err != nil {
		return req, redirErr(ErrCodeInvalidRequest, errorOf(err).Description)
	}
	return req, nil
}

// readScope reads scope=credential with credentialID, numSignatures,
// hashes (v1: hash) and hashAlgorithmOID.
func (req *authzRequest) readScope(v version, q url.Values, max int) error {
	switch q.Get("scope") {
	case "credential":
	case "", "service":
		return &oauthError{code: ErrCodeInvalidScope, desc: "Only scope credential is offered"}
	default:
		return &oauthError{code: ErrCodeInvalidScope, desc: "Invalid parameter scope"}
	}
	req.credentialID = q.Get("credentialID")
	if req.credentialID == "" {
		return badRequest("Missing parameter credentialID")
	}
	raw := q.Get("hashes")
	if raw == "" && v == v1 {
		raw = q.Get("hash")
	}
	if raw == "" {
		return badRequest("Missing parameter hashes: SCAL 2 binds the authorization to the hashes")
	}
	var alg roamsign.HashAlgorithm
	if oid := q.Get("hashAlgorithmOID"); oid != "" {
		a, err := hashAlgOf(oid)
		if err != nil {
			return err
		}
		alg = a
	} else if v == v2 {
		return badRequest("Missing parameter hashAlgorithmOID")
	}
	hs, err := decodeHashes(strings.Split(raw, ","), alg, max, "hashes")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(q.Get("numSignatures"))
	if err != nil || n != len(hs) {
		return badRequest("Invalid parameter numSignatures: it must equal the number of hashes")
	}
	req.hashes = hs
	return nil
}

// readDetails reads authorization_details of type "credential".
func (req *authzRequest) readDetails(d string, max int) error {
	var details []struct {
		Type            string `json:"type"`
		CredentialID    string `json:"credentialID"`
		DocumentDigests []struct {
			Hash  string `json:"hash"`
			Label string `json:"label"`
		} `json:"documentDigests"`
		HashAlgorithmOID string `json:"hashAlgorithmOID"`
	}
	if len(d) > maxFormBytes || json.Unmarshal([]byte(d), &details) != nil || len(details) != 1 || details[0].Type != "credential" {
		return badRequest("Invalid parameter authorization_details: one object of type credential is expected")
	}
	x := details[0]
	if x.CredentialID == "" {
		return badRequest("Missing authorization_details credentialID (signatureQualifier alone is not offered)")
	}
	alg, err := hashAlgOf(x.HashAlgorithmOID)
	if err != nil {
		return err
	}
	vals := make([]string, len(x.DocumentDigests))
	for i, dd := range x.DocumentDigests {
		vals[i] = dd.Hash
		req.labels = append(req.labels, dd.Label)
	}
	if req.hashes, err = decodeHashes(vals, alg, max, "documentDigests"); err != nil {
		return err
	}
	req.credentialID = x.CredentialID
	req.details = json.RawMessage(d)
	return nil
}

// authorizePage validates the request, sends the OTP bound to the hashes
// and shows the signing page.
func (s *server) authorizePage(w http.ResponseWriter, r *http.Request, v version) {
	q := r.URL.Query()
	if ru := q.Get("request_uri"); ru != "" {
		pushed, ok := s.pushed.get(r.Context(), strings.TrimPrefix(ru, requestURIPrefix))
		if !ok || !strings.HasPrefix(ru, requestURIPrefix) || pushed.client.ID != q.Get("client_id") {
			s.pageError(w, r, &oauthError{code: ErrCodeInvalidRequest, desc: "Invalid or expired request_uri"})
			return
		}
		s.openPage(w, r, pushed)
		return
	}
	req, err := s.parseAuthz(v, q)
	if err != nil {
		s.fail(w, r, req, err)
		return
	}
	s.openPage(w, r, req)
}

// openPage sends the OTP bound to the hashes and renders the page.
func (s *server) openPage(w http.ResponseWriter, r *http.Request, req *authzRequest) {
	ctx := roamsign.WithHost(r.Context(), req.client.Host)
	cr, err := s.credential(ctx, req.credentialID)
	if err == nil {
		err = cr.usable(s.opts.Now())
	}
	if err != nil {
		s.fail(w, r, req, redirErr(ErrCodeInvalidRequest, errorOf(err).Description))
		return
	}
	header, err := dataHeader(nameOf(req.client), req.headerText(), false)
	if err != nil {
		s.fail(w, r, req, redirErr(ErrCodeInvalidRequest, "Invalid parameter description"))
		return
	}
	ch, err := s.api.RequestOTP(ctx, roamsign.OTPRequest{User: cr.user, Hashes: req.hashes, DataHeader: header})
	if err != nil {
		s.fail(w, r, req, redirErr(oauthCodeOf(err), errorOf(err).Description))
		return
	}
	sid, err := newHandle()
	if err == nil {
		err = s.pages.put(ctx, sid, &pageSession{req: req, cred: cr, challenge: ch}, s.opts.Now().Add(s.opts.PageLifetime))
	}
	if err != nil {
		s.fail(w, r, req, redirErr(ErrCodeTemporarilyUnavailable, "Too many open signing pages"))
		return
	}
	s.render(w, r, sid, &pageSession{req: req, cred: cr, challenge: ch}, "")
}

// headerText is the data header's description part: the description,
// else the document labels.
func (req *authzRequest) headerText() string {
	if req.description != "" {
		return req.description
	}
	var ls []string
	for _, l := range req.labels {
		if l != "" {
			ls = append(ls, l)
		}
	}
	return strings.Join(ls, ", ")
}

func nameOf(c *OAuthClient) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// The signing page's form fields.
const (
	FieldSession = "session"
	FieldPIN     = "pin"
	FieldOTP     = "otp"
	FieldAction  = "action" // "approve" or "cancel"
)

// approve takes PIN and OTP from the signing page, signs through the
// service and redirects back with a code.
func (s *server) approve(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, &oauthError{code: ErrCodeInvalidRequest, desc: "Malformed form"})
		return
	}
	sid := r.PostForm.Get(FieldSession)
	ps, ok := s.pages.get(r.Context(), sid)
	if !ok {
		s.pageError(w, r, &oauthError{code: ErrCodeInvalidRequest, desc: "This signing page has expired; start again from the application"})
		return
	}
	if r.PostForm.Get(FieldAction) == "cancel" {
		s.pages.drop(r.Context(), sid)
		s.redirect(w, r, ps.req, url.Values{"error": {ErrCodeAccessDenied}, "error_description": {"The signer cancelled"}})
		return
	}
	pin, otp := r.PostForm.Get(FieldPIN), r.PostForm.Get(FieldOTP)
	if pin == "" || otp == "" {
		s.render(w, r, sid, ps, "Enter both PIN and OTP / Masukkan PIN dan OTP")
		return
	}
	ctx := roamsign.WithHost(r.Context(), ps.req.client.Host)
	tx, err := s.api.Sign(ctx, roamsign.SignRequest{ChallengeID: ps.challenge.ChallengeID, Nonce: ps.challenge.Nonce,
		PIN: roamsign.Secret(pin), OTP: roamsign.Secret(otp), Hashes: ps.req.hashes,
		RequestID: "csc-" + mustHandle(), Form: s.formOf(ps)})
	if errors.Is(err, roamsign.ErrAuthorization) {
		s.render(w, r, sid, ps, "Wrong PIN or OTP / PIN atau OTP tidak sah")
		return
	}
	s.pages.drop(r.Context(), sid)
	if err != nil {
		s.redirect(w, r, ps.req, url.Values{"error": {oauthCodeOf(err)}, "error_description": {errorOf(err).Description}})
		return
	}
	code, err := newHandle()
	if err == nil {
		_, _, _, keySc := keyFacts(ps.cred.chain[0].PublicKey, true)
		err = s.codes.put(r.Context(), code, &authCode{req: ps.req, user: ps.cred.user, txID: tx.TransactionID, keySc: keySc},
			s.opts.Now().Add(s.opts.CodeLifetime))
	}
	if err != nil {
		s.redirect(w, r, ps.req, url.Values{"error": {ErrCodeTemporarilyUnavailable}})
		return
	}
	s.redirect(w, r, ps.req, url.Values{"code": {code}})
}

// formOf is the output form of the page's transaction.
func (s *server) formOf(ps *pageSession) roamsign.OutputForm {
	sc, err := s.pickScheme(ps.cred, ps.req.scheme)
	if err != nil {
		sc = schemeNone
	}
	return sc.form()
}

// oauthCodeOf maps a service error to the authorization endpoint's codes.
func oauthCodeOf(err error) string {
	switch roamsign.KindOf(err) {
	case roamsign.ErrLocked, roamsign.ErrExpired, roamsign.ErrUsed, roamsign.ErrForbidden, roamsign.ErrAuthorization:
		return ErrCodeAccessDenied
	case roamsign.ErrUnavailable, roamsign.ErrRateLimited, roamsign.ErrDelivery:
		return ErrCodeTemporarilyUnavailable
	case roamsign.ErrInvalidInput, roamsign.ErrNotFound, roamsign.ErrTooLarge:
		return ErrCodeInvalidRequest
	}
	return ErrCodeServerError
}

// redirect sends the browser back to the client with the answer and the
// request's state (303, so the form POST becomes a GET).
func (s *server) redirect(w http.ResponseWriter, r *http.Request, req *authzRequest, v url.Values) {
	u, err := url.Parse(req.redirectURI)
	if err != nil {
		s.pageError(w, r, &oauthError{code: ErrCodeInvalidRequest, desc: "Invalid redirect_uri"})
		return
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	if req.state != "" {
		q.Set("state", req.state)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// fail answers an authorization request error: to the client when the
// error may be redirected, on a page otherwise.
func (s *server) fail(w http.ResponseWriter, r *http.Request, req *authzRequest, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		oe = &oauthError{code: ErrCodeServerError, desc: "internal error"}
	}
	if oe.redirect && req != nil {
		s.redirect(w, r, req, url.Values{"error": {oe.code}, "error_description": {oe.desc}})
		return
	}
	s.pageError(w, r, oe)
}

// par serves oauth2/pushed_authorize: the client authenticates, the
// request is validated and kept for 90 seconds under a request_uri.
func (s *server) par(w http.ResponseWriter, r *http.Request, v version) {
	form, cl, err := s.clientForm(w, r)
	if err != nil {
		writeError(w, err, s.opts.RetryAfter)
		return
	}
	if form.Get("request_uri") != "" {
		writeError(w, badRequest("request_uri is not allowed in a pushed request"), 0)
		return
	}
	form.Set("client_id", cl.ID)
	req, err := s.parseAuthz(v, form)
	if err != nil {
		var oe *oauthError
		if errors.As(err, &oe) {
			writeError(w, cscErr(http.StatusBadRequest, oe.code, oe.desc), 0)
			return
		}
		writeError(w, err, 0)
		return
	}
	h, err := newHandle()
	if err == nil {
		err = s.pushed.put(r.Context(), h, req, s.opts.Now().Add(pushedLife))
	}
	if err != nil {
		writeError(w, err, s.opts.RetryAfter)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"request_uri": requestURIPrefix + h, "expires_in": int(pushedLife / time.Second)})
}

// clientForm parses an OAuth 2.0 form and authenticates the client:
// client_secret_basic or client_secret_post for confidential clients,
// client_id alone for public ones.
func (s *server) clientForm(w http.ResponseWriter, r *http.Request) (url.Values, *OAuthClient, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, nil, badRequest("Malformed form body")
	}
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if id == "" {
		return nil, nil, badRequest("Missing parameter client_id")
	}
	cl, ok := s.clients[id]
	if !ok {
		return nil, nil, badRequest("Invalid parameter client_id")
	}
	switch {
	case cl.confidential() && secret == "":
		return nil, nil, cscErr(http.StatusUnauthorized, ErrCodeInvalidRequest, "Client authorization required")
	case secret != "" && !cl.checkSecret(secret):
		return nil, nil, badRequest("Invalid parameter client_secret")
	}
	return f, cl, nil
}

// token serves oauth2/token.
func (s *server) token(w http.ResponseWriter, r *http.Request, _ *caller) {
	f, cl, err := s.clientForm(w, r)
	if err != nil {
		writeError(w, err, s.opts.RetryAfter)
		return
	}
	var out any
	switch f.Get("grant_type") {
	case "authorization_code":
		out, err = s.exchange(r.Context(), f, cl)
	case "client_credentials":
		out, err = s.clientCredentials(r.Context(), f, cl)
	case "":
		err = badRequest("Missing parameter grant_type")
	default:
		err = badRequest("Invalid parameter grant_type")
	}
	if err != nil {
		writeError(w, err, s.opts.RetryAfter)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// tokenAnswer is oauth2/token's answer.
type tokenAnswer struct {
	AccessToken          string          `json:"access_token"`
	TokenType            string          `json:"token_type"`
	ExpiresIn            int             `json:"expires_in"`
	CredentialID         string          `json:"credentialID,omitempty"`
	AuthorizationDetails json.RawMessage `json:"authorization_details,omitempty"`
}

func invalidGrant(desc string) *Error {
	return cscErr(http.StatusBadRequest, ErrCodeInvalidGrant, desc)
}

// exchange trades a code for a credential access token: the client, the
// redirect URI and the PKCE verifier must match; a code is good once, and
// a second use revokes the token of the first.
func (s *server) exchange(ctx context.Context, f url.Values, cl *OAuthClient) (*tokenAnswer, error) {
	code := f.Get("code")
	if code == "" {
		return nil, badRequest("Missing parameter code")
	}
	ac, ok := s.codes.get(ctx, code)
	if !ok || ac.req.client.ID != cl.ID {
		return nil, invalidGrant("Authorization code is invalid or expired")
	}
	if ac.used {
		s.sads.dropKey(ctx, ac.tokenKey)
		return nil, invalidGrant("Authorization code is invalid or expired")
	}
	if f.Get("redirect_uri") != ac.req.redirectURI {
		return nil, invalidGrant("redirect_uri parameter does not match")
	}
	verifier := f.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	if len(verifier) < 43 || len(verifier) > 128 || !constEq(base64.RawURLEncoding.EncodeToString(sum[:]), ac.req.challenge) {
		return nil, invalidGrant("Invalid code_verifier")
	}
	// The code is used once, across replicas: one atomic update marks it
	// with the digest of the token it is exchanged for.
	handle, err := newHandle()
	if err != nil {
		return nil, err
	}
	reused := false
	err = s.codes.update(ctx, code, func(cur *authCode) (bool, error) {
		if cur.used {
			reused, ac = true, cur
			return false, nil
		}
		cur.used, cur.tokenKey = true, digestOf(handle)
		return false, nil
	})
	if err != nil || reused {
		if reused {
			s.sads.dropKey(ctx, ac.tokenKey)
		}
		return nil, invalidGrant("Authorization code is invalid or expired")
	}
	req := ac.req
	g := &grant{token: true, credentialID: req.credentialID, user: ac.user, host: cl.Host, client: cl.ID,
		hashes: req.hashes, txID: ac.txID, scheme: s.schemeOf(req, ac.keySc), keyScheme: ac.keySc}
	exp, err := s.putGrant(ctx, handle, g)
	if err != nil {
		return nil, err
	}
	return &tokenAnswer{AccessToken: handle, TokenType: "Bearer", ExpiresIn: s.expiresIn(exp),
		CredentialID: req.credentialID, AuthorizationDetails: req.details}, nil
}

func (s *server) schemeOf(req *authzRequest, keySc scheme) scheme {
	if req.scheme == schemePSS && keySc == schemePKCS1 && s.opts.OfferPSS {
		return schemePSS
	}
	return keySc
}

// clientCredentials issues a service access token to a confidential
// client.
func (s *server) clientCredentials(ctx context.Context, f url.Values, cl *OAuthClient) (*tokenAnswer, error) {
	if !cl.confidential() {
		return nil, cscErr(http.StatusBadRequest, ErrCodeUnauthorizedClient, "A public client cannot use client_credentials")
	}
	if !cl.allows(ScopeService) {
		return nil, cscErr(http.StatusBadRequest, ErrCodeInvalidScope, "This client may not obtain service access tokens")
	}
	if sc := f.Get("scope"); sc != "" && sc != "service" {
		return nil, cscErr(http.StatusBadRequest, ErrCodeInvalidScope, "Invalid parameter scope")
	}
	h, err := newHandle()
	if err != nil {
		return nil, err
	}
	exp := s.opts.Now().Add(s.opts.ServiceTokenLifetime)
	if err := s.tokens.put(ctx, h, &serviceToken{host: cl.Host, client: cl.ID}, exp); err != nil {
		return nil, err
	}
	return &tokenAnswer{AccessToken: h, TokenType: "Bearer", ExpiresIn: s.expiresIn(exp)}, nil
}

// revoke serves oauth2/revoke: a token of the authenticated client is
// invalidated; the answer is 204 whatever the token was (RFC 7009).
func (s *server) revoke(w http.ResponseWriter, r *http.Request, _ *caller) {
	f, cl, err := s.clientForm(w, r)
	if err != nil {
		writeError(w, err, s.opts.RetryAfter)
		return
	}
	tok := f.Get("token")
	if tok == "" {
		writeError(w, badRequest("Missing parameter token"), 0)
		return
	}
	if st, ok := s.tokens.get(r.Context(), tok); ok && st.client == cl.ID {
		s.tokens.drop(r.Context(), tok)
	}
	if g, ok := s.sads.get(r.Context(), tok); ok && g.token && g.client == cl.ID {
		s.sads.drop(r.Context(), tok)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
