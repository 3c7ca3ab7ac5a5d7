package service

import (
	"context"
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"time"

	"github.com/roamsign/roamsign"
)

// Limits on Sign's secret and id fields.
const (
	maxSecretLen = 64
	minNonceLen  = 16
	maxNonceLen  = 64
)

// errAuth is the one answer to a failed approval, whichever factor failed.
func errAuth(op string) error {
	return roamsign.E(roamsign.ErrAuthorization, op, "approval failed: PIN, OTP or request does not match")
}

// The answers to a lock and to a back-off. Neither says which factor's
// failures caused it.
const (
	msgLocked  = "locked after too many failed approvals; an administrator must reset it"
	msgBackoff = "too many failed approvals from this host; wait before trying again"
)

// Sign checks the approval (signature activation), signs every hash with
// the user's key, checks every signature, records the result and returns
// it. A retry with the same request id returns the first result.
func (s *Service) Sign(ctx context.Context, req roamsign.SignRequest) (resp *roamsign.SignResponse, err error) {
	const op = "service.Sign"
	start := time.Now()
	defer s.observe("sign", start, &err)
	host, err := hostOf(ctx, op)
	if err != nil {
		return nil, err
	}
	if err := s.checkSignRequest(op, &req); err != nil {
		return nil, err
	}
	digest := roamsign.HashListDigest(req.Hashes)
	log := s.log.With(reqAttrs(ctx, host, req.RequestID)...)

	prev, err := s.store.GetTransactionByRequest(ctx, host, req.RequestID)
	switch {
	case err == nil:
		return s.replay(ctx, prev, &req, digest)
	case !errors.Is(err, roamsign.ErrNotFound):
		return nil, wrapStore(op, err)
	}

	act, err := s.activate(ctx, host, &req, digest)
	if err != nil {
		if errors.Is(err, roamsign.ErrConflict) || errors.Is(err, roamsign.ErrUsed) {
			// A call with the same request id may have won the race.
			if prev, gerr := s.store.GetTransactionByRequest(ctx, host, req.RequestID); gerr == nil {
				return s.replay(ctx, prev, &req, digest)
			}
		}
		log.WarnContext(ctx, "sign refused", "challenge", req.ChallengeID, "kind", roamsign.KindOf(err).Code())
		return nil, err
	}
	log = log.With("user", act.user.ID.Masked(), "transaction", act.tx.ID)
	log.InfoContext(ctx, "signature activated", "hashes", len(req.Hashes), "form", string(act.tx.Form))

	// The activation is consumed; finish the transaction even if the caller
	// goes away, so it never stays pending without cause.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PendingTimeout)
	defer cancel()
	resp, err = s.signActivated(sctx, act, req.Hashes)
	if err != nil {
		log.ErrorContext(ctx, "signing failed", "kind", roamsign.KindOf(err).Code(), "err", err.Error())
		return nil, err
	}
	log.InfoContext(ctx, "signed", "hashes", len(resp.Items), "alg", resp.SignatureAlgorithm, "ms", time.Since(start).Milliseconds())
	return resp, nil
}

func (s *Service) checkSignRequest(op string, req *roamsign.SignRequest) error {
	if !validID(req.ChallengeID) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "malformed challenge id")
	}
	if !validID(req.RequestID) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "request id must be 1 to 128 characters of [A-Za-z0-9._-]")
	}
	if n := len(req.Nonce); n < minNonceLen || n > maxNonceLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "nonce must be %d to %d bytes, got %d", minNonceLen, maxNonceLen, n)
	}
	if req.PIN.Empty() || len(req.PIN) > maxSecretLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "PIN missing or too long")
	}
	if req.OTP.Empty() || len(req.OTP) > maxSecretLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "OTP missing or too long")
	}
	if err := roamsign.ValidateHashes(req.Hashes, s.cfg.MaxHashes); err != nil {
		return err
	}
	if req.Form == "" {
		req.Form = roamsign.FormRaw
	}
	if _, ok := s.forms[req.Form]; !ok {
		return roamsign.E(roamsign.ErrUnsupported, op, "output form %q is not offered", truncate(string(req.Form), 16))
	}
	return nil
}

// activation is a consumed, single-use approval bound to user, key,
// hash-list digest and count, with its pending transaction recorded.
type activation struct {
	user  *roamsign.UserRecord
	chal  *roamsign.ChallengeRecord
	chain []*x509.Certificate
	key   crypto.Signer // the user's key, which chain[0] certifies
	tx    *roamsign.TransactionRecord
	late  bool // the hashes were bound at Sign, not by the OTP
}

// activate is signature activation: the one function through which a key
// may be used. It is the gate of named steps below, in this order: the
// challenge, read again under the user's lock, belongs to the calling host
// (challengeUnderLock); it can still be used (validChallengeState); the
// user is enrolled for the host, enabled and not locked (validUser), and
// the audit log does not say locked (lockAnchored); the challenge was
// issued for the user's key, and the user's certificate
// certifies that key and names the user (validKey); the attempt spends one try of the challenge (takeTry); the nonce and the
// exact hash list match the challenge (validBinding); the OTP is right
// (checkOTP); the PIN attempt is counted, then evaluated (checkPIN); and
// the challenge is consumed with the pending transaction and its audit
// entry in one store transaction (begin). Any failure of the nonce,
// hashes, OTP or PIN gives the same ErrAuthorization; the PIN is
// evaluated (one Argon2id) on every attempt so timing does not tell
// either. A wrong PIN counts towards the lock only when the OTP was
// right, so a party without the OTP cannot lock the user.
func (s *Service) activate(ctx context.Context, host roamsign.HostID, req *roamsign.SignRequest, digest [32]byte) (_ *activation, err error) {
	const op = "service.Sign"
	defer s.observe("activation", time.Now(), &err)
	a := &signAttempt{host: host, req: req, digest: digest}
	unlock, err := s.challengeUnderLock(ctx, op, a)
	if err != nil {
		return nil, err
	}
	defer unlock()
	a.now = s.now()
	a.late = s.lateBound(a.ch)
	if err := validChallengeState(op, a.ch, a.now); err != nil {
		return nil, err
	}
	if err := s.validUser(ctx, op, a); err != nil {
		return nil, err
	}
	if err := s.lockAnchored(ctx, op, a); err != nil {
		return nil, err
	}
	if err := s.validKey(ctx, op, a); err != nil {
		return nil, err
	}
	if err := s.takeTry(ctx, op, a); err != nil {
		return nil, err
	}
	otpOK, err := s.checkOTP(ctx, op, a, a.binding())
	if err != nil {
		return nil, err
	}
	if err := s.checkPIN(ctx, op, a, otpOK); err != nil {
		return nil, err
	}
	return s.begin(ctx, op, a)
}

// signAttempt is one Sign attempt on its way through activate: the request
// and what the steps have read so far.
type signAttempt struct {
	host   roamsign.HostID
	req    *roamsign.SignRequest
	digest [32]byte  // HashListDigest of req.Hashes
	now    time.Time // the attempt's time, read under the user's lock
	ch     *roamsign.ChallengeRecord
	user   *roamsign.UserRecord
	chain  []*x509.Certificate  // the user's chain, leaf first
	key    crypto.Signer        // the user's key, which chain[0] certifies
	audit  roamsign.AuditRecord // the fields every audit entry of the attempt shares
	late   bool                 // a late-bound challenge: this Sign binds the hashes
}

// challengeUnderLock reads the attempt's challenge, which must belong to
// the calling host, takes the user's lock and reads the challenge again
// under it. Attempts for one user run one at a time in this process, so
// that concurrent guesses cannot all pass the try and lock checks before
// any of them is counted. The caller releases the lock with the returned
// function.
func (s *Service) challengeUnderLock(ctx context.Context, op string, a *signAttempt) (unlock func(), err error) {
	ch, err := s.hostsChallenge(ctx, op, a)
	if err != nil {
		return nil, err
	}
	unlock, err = s.lockUser(ctx, ch.User)
	if err != nil {
		return nil, err
	}
	if a.ch, err = s.hostsChallenge(ctx, op, a); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// hostsChallenge reads the attempt's challenge; another host's challenge
// is invisible ("not found").
func (s *Service) hostsChallenge(ctx context.Context, op string, a *signAttempt) (*roamsign.ChallengeRecord, error) {
	ch, err := s.store.GetChallenge(ctx, a.req.ChallengeID)
	if err != nil {
		if errors.Is(err, roamsign.ErrNotFound) {
			return nil, roamsign.E(roamsign.ErrNotFound, op, "no such challenge")
		}
		return nil, wrapStore(op, err)
	}
	if ch.Host != a.host {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "no such challenge")
	}
	return ch, nil
}

// validChallengeState refuses a challenge that cannot be used any more at
// now: consumed, never delivered, expired or out of tries.
func validChallengeState(op string, ch *roamsign.ChallengeRecord, now time.Time) error {
	switch {
	case ch.Consumed:
		return roamsign.E(roamsign.ErrUsed, op, "challenge already used")
	case ch.Undeliverable:
		return roamsign.E(roamsign.ErrForbidden, op, "challenge OTP was never delivered")
	case !now.Before(ch.ExpiresAt):
		return roamsign.E(roamsign.ErrExpired, op, "challenge expired; request a new OTP")
	case ch.MaxTries > 0 && ch.Tries >= ch.MaxTries:
		return roamsign.E(roamsign.ErrExpired, op, "challenge has no tries left; request a new OTP")
	}
	return nil
}

// validUser reads the challenge's user, who must be enrolled for the
// calling host and able to sign ([usable]), and fills the attempt's audit
// fields.
func (s *Service) validUser(ctx context.Context, op string, a *signAttempt) error {
	u, err := s.store.GetUser(ctx, a.ch.User)
	if err != nil {
		return wrapStore(op, err)
	}
	if !u.EnrolledFor(a.host) {
		return roamsign.E(roamsign.ErrForbidden, op, "user not enrolled for this host")
	}
	if err := usable(op, u); err != nil {
		return err
	}
	a.user = u
	a.audit = roamsign.AuditRecord{
		Time: a.now.UTC(), User: u.ID, Host: a.host, DataHeader: a.ch.DataHeader,
		HashList: a.digest[:], Count: len(a.req.Hashes), Channel: a.ch.Channel,
		CertSerial: certSerial(u.Chain),
	}
	if a.late {
		a.audit.Detail = DetailLateBound
	}
	return nil
}

// validKey checks the key the attempt would sign with: the challenge was
// issued for the user's key, and the user's certificate certifies that key
// (keyMatch) and carries the user's id (subjectHasID): the steps
// ImportChain applies before it stores a chain, applied again before every
// use of the key. A key or chain that does not match what the certificate
// says was not stored by this service: it is refused as unavailable, with
// an alarm and an audit entry, and the key is never used.
func (s *Service) validKey(ctx context.Context, op string, a *signAttempt) error {
	if a.ch.KeyRef != a.user.KeyRef {
		return roamsign.E(roamsign.ErrForbidden, op, "challenge was issued for another key; request a new OTP")
	}
	chain, err := parseChain(op, a.user.Chain)
	if err != nil {
		return s.mismatch(ctx, op, a, err, "stored certificate chain is unusable")
	}
	if err := s.keyMatch(ctx, op, a.user, chain[0]); err != nil {
		if !errors.Is(err, roamsign.ErrInvalidInput) {
			return err
		}
		return s.mismatch(ctx, op, a, err, "the user's certificate does not certify the user's key")
	}
	if !subjectHasID(chain[0].Subject, a.user.ID) {
		return s.mismatch(ctx, op, a, roamsign.E(roamsign.ErrInvalidInput, op, "leaf certificate subject does not carry the user id"),
			"the user's certificate names another user")
	}
	key, err := s.keys.Signer(ctx, a.user.KeyRef)
	if err != nil {
		return roamsign.Wrap(kindOr(err, roamsign.ErrUnavailable), op, err, "user key unavailable")
	}
	a.chain, a.key = chain, key
	return nil
}

// mismatch refuses an attempt whose stored key and certificate do not
// belong together: an alarm in the log, an audit entry, ErrUnavailable.
func (s *Service) mismatch(ctx context.Context, op string, a *signAttempt, err error, msg string) error {
	s.log.ErrorContext(ctx, "ALARM: signing refused: "+msg, "user", a.user.ID.Masked(), "host", string(a.host))
	s.audit(ctx, a.audit, roamsign.AuditTampered, roamsign.ErrUnavailable.Code(), msg)
	return roamsign.Wrap(roamsign.ErrUnavailable, op, err, msg)
}

// takeTry spends exactly one try of the challenge for the attempt, before
// any factor is compared, whichever factor then fails.
func (s *Service) takeTry(ctx context.Context, op string, a *signAttempt) error {
	if _, err := s.store.TakeTry(ctx, a.ch.ID); err != nil {
		return tryErr(op, err)
	}
	return nil
}

// validBinding reports, in constant time, whether the request's nonce and
// exact hash list (digest and count) are the challenge's.
func validBinding(ch *roamsign.ChallengeRecord, req *roamsign.SignRequest, digest [32]byte) bool {
	bound := subtle.ConstantTimeCompare(ch.Nonce, req.Nonce) == 1
	bound = subtle.ConstantTimeCompare(ch.HashList[:], digest[:]) == 1 && bound
	bound = ch.Count == len(req.Hashes) && bound
	return bound
}

// checkOTP reports whether the attempt's OTP is right; it is compared only
// when the binding holds. A host that the Challenger makes wait for its
// wrong OTPs is refused with the wait, in words that name no factor.
func (s *Service) checkOTP(ctx context.Context, op string, a *signAttempt, bound bool) (bool, error) {
	otpOK := false
	if !bound {
		return otpOK, nil
	}
	cerr := s.chal.CheckOTP(ctx, a.ch.ID, a.req.Nonce, a.req.OTP.Reveal(), a.otpHashes())
	switch {
	case cerr == nil:
		otpOK = true
	case errors.Is(cerr, roamsign.ErrAuthorization):
	case errors.Is(cerr, roamsign.ErrInvalidInput):
		// A malformed OTP is a wrong OTP.
	case errors.Is(cerr, roamsign.ErrRateLimited):
		// This host's wrong OTPs for the user made it wait.
		s.audit(ctx, a.audit, roamsign.AuditAuthFailed, roamsign.ErrRateLimited.Code(), "")
		wait, _ := roamsign.RetryAfterOf(cerr)
		return false, roamsign.RetryAfter(roamsign.E(roamsign.ErrRateLimited, op, msgBackoff), wait)
	default:
		return false, roamsign.Wrap(kindOr(cerr, roamsign.ErrUnavailable), op, cerr, "")
	}
	return otpOK, nil
}

// checkPIN counts and evaluates the attempt's PIN. With the OTP right, the
// PIN attempt is counted as a failure before it is evaluated (and the
// count reset on success), so the limit holds across replicas too: an
// attempt beyond it is never evaluated. The PIN is evaluated on every
// other attempt, the OTP right or not, so timing does not tell the factors
// apart; the MaxPINFailures-th wrong PIN locks the user.
func (s *Service) checkPIN(ctx context.Context, op string, a *signAttempt, otpOK bool) error {
	attempt := 0
	if otpOK {
		n, over, ferr := s.store.AddPINFailure(ctx, a.user.ID, s.cfg.MaxPINFailures+1, a.now)
		if ferr != nil {
			return wrapStore(op, ferr)
		}
		if over {
			return s.locked(ctx, op, a)
		}
		attempt = n
	}
	pinOK, err := s.verifyPIN(ctx, a.user.PINVerifier, a.req.PIN.Reveal())
	if errors.Is(err, errNoPepper) {
		return s.mismatch(ctx, op, a, err, "the stored PIN verifier was made without the pepper")
	}
	if err != nil {
		return err
	}
	if !otpOK {
		s.audit(ctx, a.audit, roamsign.AuditAuthFailed, roamsign.ErrAuthorization.Code(), "")
		return errAuth(op)
	}
	if !pinOK {
		s.audit(ctx, a.audit, roamsign.AuditAuthFailed, roamsign.ErrAuthorization.Code(), "")
		if attempt >= s.cfg.MaxPINFailures {
			return s.lock(ctx, op, a)
		}
		return errAuth(op)
	}
	if err := s.store.ResetPINFailures(ctx, a.user.ID); err != nil {
		return wrapStore(op, err)
	}
	return nil
}

// lock locks the attempt's user after the last allowed wrong PIN.
func (s *Service) lock(ctx context.Context, op string, a *signAttempt) error {
	err := s.store.UpdateUser(ctx, a.user.ID, func(u *roamsign.UserRecord) error {
		if !u.Locked {
			u.Locked, u.LockedAt = true, a.now.UTC()
		}
		return nil
	})
	if err != nil {
		return wrapStore(op, err)
	}
	return s.locked(ctx, op, a)
}

// locked audits and answers an attempt of a locked user.
func (s *Service) locked(ctx context.Context, op string, a *signAttempt) error {
	s.audit(ctx, a.audit, roamsign.AuditLocked, roamsign.ErrLocked.Code(), "")
	s.log.WarnContext(ctx, "PIN locked", "user", a.user.ID.Masked(), "host", string(a.host))
	return roamsign.E(roamsign.ErrLocked, op, msgLocked)
}

// begin consumes the challenge, records the pending transaction bound to
// user, key, hash-list digest and count, and appends the authorisation's
// audit entry, in one store transaction.
func (s *Service) begin(ctx context.Context, op string, a *signAttempt) (*activation, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	tx := &roamsign.TransactionRecord{
		ID: id, User: a.user.ID, Host: a.host, RequestID: a.req.RequestID, ChallengeID: a.ch.ID,
		HashList: a.digest, Count: len(a.req.Hashes), Form: a.req.Form, State: roamsign.TxPending,
		CreatedAt: a.now.UTC(), UpdatedAt: a.now.UTC(),
	}
	rec := a.audit
	rec.Event, rec.Outcome, rec.TransactionID = roamsign.AuditAuthorised, "ok", id
	if err := s.store.BeginTransaction(ctx, a.ch.ID, a.now, tx, &rec); err != nil {
		switch {
		case errors.Is(err, roamsign.ErrUsed):
			return nil, roamsign.E(roamsign.ErrUsed, op, "challenge already used")
		case errors.Is(err, roamsign.ErrLocked), errors.Is(err, roamsign.ErrExpired):
			return nil, roamsign.E(roamsign.ErrExpired, op, "challenge expired; request a new OTP")
		case errors.Is(err, roamsign.ErrConflict):
			return nil, roamsign.Wrap(roamsign.ErrConflict, op, err, "request id already used")
		}
		return nil, wrapStore(op, err)
	}
	return &activation{user: a.user, chal: a.ch, chain: a.chain, key: a.key, tx: tx, late: a.late}, nil
}

// tryErr answers an attempt that could not take a try of its challenge:
// it was consumed, or every try is spent, meanwhile.
func tryErr(op string, err error) error {
	switch {
	case errors.Is(err, roamsign.ErrUsed):
		return roamsign.E(roamsign.ErrUsed, op, "challenge already used")
	case errors.Is(err, roamsign.ErrLocked):
		return roamsign.E(roamsign.ErrExpired, op, "challenge has no tries left; request a new OTP")
	case errors.Is(err, roamsign.ErrNotFound):
		return roamsign.E(roamsign.ErrNotFound, op, "no such challenge")
	}
	return wrapStore(op, err)
}

// signActivated signs with the activated key, self-checks and finishes the
// transaction. Signatures are returned only after the transaction is
// committed as signed.
func (s *Service) signActivated(ctx context.Context, act *activation, hashes []roamsign.Hash) (*roamsign.SignResponse, error) {
	const op = "service.Sign"
	tx := act.tx
	fs := s.forms[tx.Form]
	sigs, alg, err := s.signAndCheck(ctx, fs, act, hashes)
	now := s.now().UTC()
	tx.UpdatedAt = now
	a := roamsign.AuditRecord{
		Time: now, User: tx.User, Host: tx.Host, DataHeader: act.chal.DataHeader,
		HashList: tx.HashList[:], Count: tx.Count, Channel: act.chal.Channel,
		CertSerial: serialHex(act.chain[0]), TransactionID: tx.ID,
	}
	if act.late {
		a.Detail = DetailLateBound
	}
	if err != nil {
		code := kindOr(err, roamsign.ErrInternal).Code()
		tx.State, tx.Error = roamsign.TxFailed, code
		tx.Items = make([]roamsign.SignedItem, len(hashes))
		for i := range tx.Items {
			tx.Items[i] = roamsign.SignedItem{Index: i, Status: roamsign.ItemFailed, Error: code}
		}
		a.Event, a.Outcome = roamsign.AuditSignFailed, code
		if ferr := s.store.FinishTransaction(ctx, tx, &a); ferr != nil {
			s.log.ErrorContext(ctx, "recording failed transaction", "transaction", tx.ID, "kind", roamsign.KindOf(ferr).Code())
		}
		return nil, roamsign.Wrap(kindOr(err, roamsign.ErrInternal), op, err, "signing failed")
	}
	tx.State, tx.SigAlg = roamsign.TxSigned, alg
	tx.Chain = act.user.Chain
	tx.Items = make([]roamsign.SignedItem, len(sigs))
	for i, sig := range sigs {
		tx.Items[i] = roamsign.SignedItem{Index: i, Status: roamsign.ItemSigned, Signature: sig}
	}
	a.Event, a.Outcome = roamsign.AuditSigned, "ok"
	start := time.Now()
	err = s.store.FinishTransaction(ctx, tx, &a)
	s.observe("finish", start, &err)
	if err != nil {
		return nil, wrapStore(op, err)
	}
	return responseOf(tx), nil
}

func (s *Service) signAndCheck(ctx context.Context, fs FormSigner, act *activation, hashes []roamsign.Hash) (sigs [][]byte, alg string, err error) {
	const op = "service.Sign"
	defer func() {
		if r := recover(); r != nil {
			sigs, alg = nil, ""
			err = roamsign.E(roamsign.ErrInternal, op, "signer panicked")
		}
	}()
	start := time.Now()
	sigs, alg, err = fs.SignBatch(ctx, act.key, act.chain, hashes)
	s.observe("sign_batch", start, &err)
	if err != nil {
		return nil, "", err
	}
	if len(sigs) != len(hashes) {
		return nil, "", roamsign.E(roamsign.ErrInternal, op, "signer returned %d signatures for %d hashes", len(sigs), len(hashes))
	}
	start = time.Now()
	err = fs.CheckBatch(ctx, act.chain, hashes, sigs)
	s.observe("self_check", start, &err)
	if err != nil {
		return nil, "", roamsign.Wrap(roamsign.ErrInvalidSignature, op, err, "self-check against the certificate failed")
	}
	return sigs, alg, nil
}

// replay answers a Sign whose request id the host already used.
func (s *Service) replay(ctx context.Context, tx *roamsign.TransactionRecord, req *roamsign.SignRequest, digest [32]byte) (*roamsign.SignResponse, error) {
	const op = "service.Sign"
	if tx.ChallengeID != req.ChallengeID || tx.HashList != digest || tx.Count != len(req.Hashes) || tx.Form != req.Form {
		return nil, roamsign.E(roamsign.ErrConflict, op, "request id already used for a different request")
	}
	deadline := time.Now().Add(s.cfg.ReplayWait)
	wait := 10 * time.Millisecond
	for tx.State == roamsign.TxPending {
		if time.Now().After(deadline) {
			return nil, roamsign.E(roamsign.ErrConflict, op, "request with this id is still in progress; retry later")
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "waiting for the first request")
		case <-t.C:
		}
		if wait < 200*time.Millisecond {
			wait *= 2
		}
		next, err := s.store.GetTransaction(ctx, tx.ID)
		if err != nil {
			return nil, wrapStore(op, err)
		}
		tx = next
	}
	if tx.State != roamsign.TxSigned {
		k := roamsign.KindFromCode(tx.Error)
		if k == roamsign.KindUnknown {
			k = roamsign.ErrInternal
		}
		return nil, roamsign.E(k, op, "the first request with this id failed")
	}
	return responseOf(tx), nil
}

func responseOf(tx *roamsign.TransactionRecord) *roamsign.SignResponse {
	return &roamsign.SignResponse{
		TransactionID:      tx.ID,
		Items:              tx.Items,
		Chain:              tx.Chain,
		SignatureAlgorithm: tx.SigAlg,
		Form:               tx.Form,
	}
}

// audit appends an audit record; a failure is logged, not returned, for
// events that do not gate a signature.
func (s *Service) audit(ctx context.Context, a roamsign.AuditRecord, ev roamsign.AuditEvent, outcome, detail string) {
	a.Event, a.Outcome, a.Detail = ev, outcome, detail
	if err := s.store.AppendAudit(ctx, &a); err != nil {
		s.log.ErrorContext(ctx, "audit append failed", "event", string(ev), "kind", roamsign.KindOf(err).Code())
	}
}

func certSerial(chain [][]byte) string {
	if len(chain) == 0 {
		return ""
	}
	c, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return ""
	}
	return serialHex(c)
}

// serialHex is the audit log's form of c's serial number.
func serialHex(c *x509.Certificate) string { return hex.EncodeToString(c.SerialNumber.Bytes()) }
