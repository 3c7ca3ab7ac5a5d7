package csc

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roamsign/roamsign"
)

// maxHashText bounds one base64 hash value (a SHA-512 digest is 88
// characters).
const maxHashText = 128

// decodeB64 accepts standard and URL-safe base64, padded or not.
func decodeB64(s string) ([]byte, bool) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		b, err := base64.RawURLEncoding.DecodeString(s)
		return b, err == nil
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	return b, err == nil
}

// decodeHashes parses base64 digests of algorithm alg (0: inferred from
// the length, for v1.0.4 calls that name no algorithm), at most max.
func decodeHashes(values []string, alg roamsign.HashAlgorithm, max int, param string) ([]roamsign.Hash, error) {
	if values == nil {
		return nil, badRequest("Missing (or invalid type) array parameter " + param)
	}
	if len(values) == 0 {
		return nil, badRequest("Empty " + param + " array")
	}
	if len(values) > max {
		return nil, badRequest("Numbers of signatures is too high: at most " + strconv.Itoa(max) + " hashes")
	}
	out := make([]roamsign.Hash, len(values))
	for i, v := range values {
		if len(v) > maxHashText {
			return nil, badRequest("Invalid digest value length")
		}
		b, ok := decodeB64(v)
		if !ok {
			return nil, badRequest("Invalid Base64 " + param + " string parameter")
		}
		a := alg
		if a == 0 {
			if a, ok = hashBySize(len(b)); !ok || (i > 0 && a != out[0].Algorithm) {
				return nil, badRequest("Invalid digest value length")
			}
		}
		if len(b) != a.Size() {
			return nil, badRequest("Invalid digest value length")
		}
		out[i] = roamsign.Hash{Algorithm: a, Value: b}
	}
	return out, nil
}

// pendingChallenge is an OTP challenge the caller asked for a credential
// and exact hashes, awaiting credentials/authorize.
type pendingChallenge struct {
	credentialID string
	user         roamsign.UserID
	challenge    *roamsign.OTPResponse
	hashes       []roamsign.Hash // in the challenge's order
}

// challengeInput is credentials/getChallenge (v1: sendOTP) in either
// version's words.
type challengeInput struct {
	credentialID string
	authObjectID string
	hashes       []roamsign.Hash // nil: none named
	description  string
}

// challenge sends the OTP bound to the hashes and remembers the challenge
// for credentials/authorize. It answers the verification code.
func (s *server) challenge(ctx context.Context, c *caller, in challengeInput) (string, error) {
	if err := c.serviceScope(); err != nil {
		return "", err
	}
	if in.authObjectID != "" && in.authObjectID != AuthObjectOTP {
		return "", badRequest("Invalid parameter authObjectID")
	}
	if in.hashes == nil && s.late == nil {
		// PolicyStrict: an OTP is never sent without the hashes it approves.
		return "", badRequest("Missing parameter hashes: this service binds the OTP to the exact hashes (extension " +
			ExtChallengeHashes + "); name them here, or use oauth2/authorize")
	}
	cr, err := s.credential(ctx, in.credentialID)
	if err != nil {
		return "", err
	}
	if err := cr.usable(s.opts.Now()); err != nil {
		return "", err
	}
	header, err := dataHeader(s.clientName(c), in.description, in.hashes == nil)
	if err != nil {
		return "", err
	}
	req := roamsign.OTPRequest{User: cr.user, Hashes: in.hashes, DataHeader: header}
	var ch *roamsign.OTPResponse
	if in.hashes == nil {
		// PolicyCompatible: the OTP binds the credential, the caller (the
		// pending key) and a nonce; authorize binds the hashes.
		ch, err = s.late.RequestOTPLateBound(ctx, req)
	} else {
		ch, err = s.api.RequestOTP(ctx, req)
	}
	if err != nil {
		return "", err
	}
	p := &pendingChallenge{credentialID: cr.id, user: cr.user, challenge: ch, hashes: in.hashes}
	if err := s.pending.put(ctx, pendingKey(c, cr.id, in.hashes), p, s.opts.Now().Add(pendingLife)); err != nil {
		return "", err
	}
	return ch.VerificationCode, nil
}

// pendingLife bounds how long a challenge waits for authorize here; the
// service's own OTP lifetime (at most 10 minutes) decides within it.
const pendingLife = 10 * time.Minute

// maxDescription is the specification's limit of "description".
const maxDescription = 500

// lateNote ends the data header of a challenge without hashes, so that the
// OTP message tells the signer that it approves data not shown.
const lateNote = " [hashes bound at authorize, not shown]"

// dataHeader is the data header of a CSC authorisation: the signature
// application and its description, within the service's 256 bytes; late
// marks a challenge without hashes.
func dataHeader(client, description string, late bool) (string, error) {
	if len(description) > maxDescription || !utf8.ValidString(description) {
		return "", badRequest("Invalid parameter description")
	}
	h := "CSC " + client
	if description != "" {
		h += ": " + description
	}
	max := 256
	if late {
		max -= len(lateNote)
	}
	for len(h) > max {
		_, size := utf8.DecodeLastRuneInString(h)
		h = h[:len(h)-size]
	}
	if late {
		h += lateNote
	}
	return h, nil
}

func (s *server) clientName(c *caller) string {
	if cl, ok := s.clients[c.client]; ok && cl.Name != "" {
		return cl.Name
	}
	if c.client != "" {
		return c.client
	}
	return string(c.host)
}

// authorizeInput is credentials/authorize in either version's words.
type authorizeInput struct {
	credentialID  string
	numSignatures int
	hashes        []roamsign.Hash
	pin, otp      string
	scheme        scheme // requested by the signAlgo extension; schemeNone: the key's default
}

// authorize approves the pending challenge of these hashes with PIN and
// OTP through the service's Sign, and records the grant.
func (s *server) authorize(ctx context.Context, c *caller, in authorizeInput) (sad string, expires time.Time, err error) {
	if err := c.serviceScope(); err != nil {
		return "", time.Time{}, err
	}
	cr, err := s.credential(ctx, in.credentialID)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := cr.usable(s.opts.Now()); err != nil {
		return "", time.Time{}, err
	}
	if err := s.checkCount(in.numSignatures, in.hashes); err != nil {
		return "", time.Time{}, err
	}
	sc, err := s.pickScheme(cr, in.scheme)
	if err != nil {
		return "", time.Time{}, err
	}
	if in.pin == "" || in.otp == "" {
		return "", time.Time{}, badRequest("Missing authentication data: both PIN and OTP are required")
	}
	key, p, ok := s.pendingFor(ctx, c, cr.id, in.hashes)
	if !ok {
		return "", time.Time{}, badRequest("No OTP was sent for these hashes: call credentials/getChallenge with them first")
	}
	hashes := p.hashes
	if hashes == nil {
		hashes = in.hashes // a late-bound challenge: this authorisation binds them
	}
	tx, err := s.api.Sign(ctx, roamsign.SignRequest{
		ChallengeID: p.challenge.ChallengeID, Nonce: p.challenge.Nonce,
		PIN: roamsign.Secret(in.pin), OTP: roamsign.Secret(in.otp),
		Hashes: hashes, RequestID: "csc-" + mustHandle(), Form: sc.form(),
	})
	if err != nil {
		if !errors.Is(err, roamsign.ErrAuthorization) {
			s.pending.drop(ctx, key) // expired, used or locked: this challenge is over
		}
		return "", time.Time{}, err
	}
	s.pending.drop(ctx, key)
	_, _, _, keySc := keyFacts(cr.chain[0].PublicKey, true)
	return s.newGrant(ctx, &grant{credentialID: cr.id, user: cr.user, host: c.host, client: c.client,
		hashes: hashes, txID: tx.TransactionID, scheme: sc, keyScheme: keySc})
}

// pendingFor finds the caller's pending challenge for the credential: the
// one bound to this multiset of hashes, else, under PolicyCompatible, the
// one sent without hashes.
func (s *server) pendingFor(ctx context.Context, c *caller, credentialID string, hashes []roamsign.Hash) (string, *pendingChallenge, bool) {
	key := pendingKey(c, credentialID, hashes)
	if p, ok := s.pending.get(ctx, key); ok {
		return key, p, true
	}
	if s.late == nil {
		return "", nil, false
	}
	key = pendingKey(c, credentialID, nil)
	p, ok := s.pending.get(ctx, key)
	return key, p, ok
}

// checkCount holds numSignatures to the hashes: SCAL 2 binds the
// authorisation to each of them.
func (s *server) checkCount(n int, hashes []roamsign.Hash) error {
	switch {
	case n < 1:
		return badRequest("Invalid value for parameter numSignatures")
	case n > s.opts.MultiSign:
		return badRequest("Numbers of signatures is too high")
	case n != len(hashes):
		return badRequest("Invalid value for parameter numSignatures: it must equal the number of hashes (SCAL 2)")
	}
	return nil
}

// pickScheme decides how the transaction signs: the key's default
// (PKCS#1 v1.5 for RSA, ECDSA) or RSASSA-PSS when asked for.
func (s *server) pickScheme(cr *cred, want scheme) (scheme, error) {
	_, _, _, keySc := keyFacts(cr.chain[0].PublicKey, true)
	switch {
	case keySc == schemeNone:
		return 0, badRequest("The credential's key type is not supported")
	case want == schemeNone || want == keySc:
		return keySc, nil
	case want == schemePSS && keySc == schemePKCS1 && s.opts.OfferPSS:
		return schemePSS, nil
	}
	return 0, badRequest("Invalid parameter signAlgo")
}

// extendInput is credentials/extendTransaction in either version's words.
type extendInput struct {
	credentialID, sad string
	hashes            []roamsign.Hash // nil: none named
}

// extend replaces a live SAD with a new one for the signatures it has
// left, within the transaction's lifetime. Named hashes must be among
// them: extending never adds to what the signer approved.
func (s *server) extend(ctx context.Context, c *caller, in extendInput) (string, time.Time, error) {
	if err := c.serviceScope(); err != nil {
		return "", time.Time{}, err
	}
	if in.sad == "" {
		return "", time.Time{}, badRequest("Missing (or invalid type) string parameter SAD")
	}
	g, _, err := s.grantFor(ctx, c, in.sad, in.credentialID)
	if err != nil {
		return "", time.Time{}, err
	}
	if g.token {
		return "", time.Time{}, badRequest("Invalid parameter SAD: an access token cannot be extended")
	}
	if g.remaining() == 0 {
		return "", time.Time{}, badRequest("Invalid parameter SAD: every authorised signature was created")
	}
	if in.hashes != nil && !g.covers(in.hashes) {
		return "", time.Time{}, errNotAuthorised()
	}
	now := s.opts.Now()
	expires := now.Add(s.opts.SADLifetime)
	if expires.After(g.deadline) {
		expires = g.deadline
	}
	if !expires.After(now) {
		return "", time.Time{}, errSADExpired
	}
	handle, err := newHandle()
	if err != nil {
		return "", time.Time{}, err
	}
	// The record as it is now, with every release so far: from here no
	// signHash can use the old SAD.
	g, ok := s.sads.take(ctx, in.sad)
	if !ok {
		return "", time.Time{}, errSADExpired
	}
	if err := s.sads.put(ctx, handle, g, expires); err != nil {
		return "", time.Time{}, err
	}
	return handle, expires, nil
}

func mustHandle() string {
	h, err := newHandle()
	if err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return h
}

// expiresIn is the whole seconds from now to t.
func (s *server) expiresIn(t time.Time) int {
	return int((t.Sub(s.opts.Now()) + time.Second - 1) / time.Second)
}

// errUnauthorizedMethod is the answer to a method the caller's credential
// cannot use.
var errUnauthorizedMethod = cscErr(http.StatusUnauthorized, ErrCodeInvalidToken, "The access token is not valid for this method")
