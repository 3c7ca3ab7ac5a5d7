package service

import (
	"context"
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
	tx    *roamsign.TransactionRecord
}

// activate is signature activation: the one function through which a key
// may be used. It checks that the challenge belongs to the calling host,
// that the user is enrolled for the host, enabled and not locked, that the
// nonce and the exact hash list match the challenge, that the OTP is right
// and that the PIN is right; then it consumes the challenge and records the
// pending transaction and the audit entry atomically. Any failure of the
// nonce, hashes, OTP or PIN gives the same ErrAuthorization; the PIN is
// evaluated (one Argon2id) on every attempt so timing does not tell either.
// A wrong PIN counts towards the lock only when the OTP was right, so a
// party without the OTP cannot lock the user.
func (s *Service) activate(ctx context.Context, host roamsign.HostID, req *roamsign.SignRequest, digest [32]byte) (_ *activation, err error) {
	const op = "service.Sign"
	defer s.observe("activation", time.Now(), &err)

	getChallenge := func() (*roamsign.ChallengeRecord, error) {
		ch, err := s.store.GetChallenge(ctx, req.ChallengeID)
		if err != nil {
			if errors.Is(err, roamsign.ErrNotFound) {
				return nil, roamsign.E(roamsign.ErrNotFound, op, "no such challenge")
			}
			return nil, wrapStore(op, err)
		}
		if ch.Host != host {
			// Another host's challenge is invisible.
			return nil, roamsign.E(roamsign.ErrNotFound, op, "no such challenge")
		}
		return ch, nil
	}
	ch, err := getChallenge()
	if err != nil {
		return nil, err
	}
	// Attempts for one user run one at a time in this process, so that
	// concurrent guesses cannot all pass the try and lock checks before any
	// of them is counted. Re-read the challenge under the lock.
	unlock, err := s.lockUser(ctx, ch.User)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if ch, err = getChallenge(); err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case ch.Consumed:
		return nil, roamsign.E(roamsign.ErrUsed, op, "challenge already used")
	case ch.Undeliverable:
		return nil, roamsign.E(roamsign.ErrForbidden, op, "challenge OTP was never delivered")
	case !now.Before(ch.ExpiresAt):
		return nil, roamsign.E(roamsign.ErrExpired, op, "challenge expired; request a new OTP")
	case ch.MaxTries > 0 && ch.Tries >= ch.MaxTries:
		return nil, roamsign.E(roamsign.ErrExpired, op, "challenge has no tries left; request a new OTP")
	}
	u, err := s.store.GetUser(ctx, ch.User)
	if err != nil {
		return nil, wrapStore(op, err)
	}
	if !u.EnrolledFor(host) {
		return nil, roamsign.E(roamsign.ErrForbidden, op, "user not enrolled for this host")
	}
	if err := usable(op, u); err != nil {
		return nil, err
	}
	// The attempt spends exactly one try of the challenge, before any
	// factor is compared, whichever factor then fails.
	if _, err := s.store.TakeTry(ctx, ch.ID); err != nil {
		return nil, tryErr(op, err)
	}

	bound := subtle.ConstantTimeCompare(ch.Nonce, req.Nonce) == 1
	bound = subtle.ConstantTimeCompare(ch.HashList[:], digest[:]) == 1 && bound
	bound = ch.Count == len(req.Hashes) && bound

	base := roamsign.AuditRecord{
		Time: now.UTC(), User: u.ID, Host: host, DataHeader: ch.DataHeader,
		HashList: digest[:], Count: len(req.Hashes), Channel: ch.Channel,
		CertSerial: certSerial(u.Chain),
	}
	otpOK := false
	if bound {
		cerr := s.chal.CheckOTP(ctx, ch.ID, req.Nonce, req.OTP.Reveal(), req.Hashes)
		switch {
		case cerr == nil:
			otpOK = true
		case errors.Is(cerr, roamsign.ErrAuthorization):
		case errors.Is(cerr, roamsign.ErrInvalidInput):
			// A malformed OTP is a wrong OTP.
		case errors.Is(cerr, roamsign.ErrRateLimited):
			// This host's wrong OTPs for the user made it wait.
			s.audit(ctx, base, roamsign.AuditAuthFailed, roamsign.ErrRateLimited.Code(), "")
			wait, _ := roamsign.RetryAfterOf(cerr)
			return nil, roamsign.RetryAfter(roamsign.E(roamsign.ErrRateLimited, op, msgBackoff), wait)
		default:
			return nil, roamsign.Wrap(kindOr(cerr, roamsign.ErrUnavailable), op, cerr, "")
		}
	}

	locked := func() error {
		s.audit(ctx, base, roamsign.AuditLocked, roamsign.ErrLocked.Code(), "")
		s.log.WarnContext(ctx, "PIN locked", "user", u.ID.Masked(), "host", string(host))
		return roamsign.E(roamsign.ErrLocked, op, msgLocked)
	}
	// With the OTP right, the PIN attempt is counted as a failure before it
	// is evaluated (and the count reset on success), so the limit holds
	// across replicas too: an attempt beyond it is never evaluated.
	attempt := 0
	if otpOK {
		n, over, ferr := s.store.AddPINFailure(ctx, u.ID, s.cfg.MaxPINFailures+1, now)
		if ferr != nil {
			return nil, wrapStore(op, ferr)
		}
		if over {
			return nil, locked()
		}
		attempt = n
	}

	pinOK, err := s.verifyPIN(ctx, u.PINVerifier, req.PIN.Reveal())
	if err != nil {
		return nil, err
	}
	if !otpOK {
		s.audit(ctx, base, roamsign.AuditAuthFailed, roamsign.ErrAuthorization.Code(), "")
		return nil, errAuth(op)
	}
	if !pinOK {
		s.audit(ctx, base, roamsign.AuditAuthFailed, roamsign.ErrAuthorization.Code(), "")
		if attempt >= s.cfg.MaxPINFailures {
			err := s.store.UpdateUser(ctx, u.ID, func(u *roamsign.UserRecord) error {
				if !u.Locked {
					u.Locked, u.LockedAt = true, now.UTC()
				}
				return nil
			})
			if err != nil {
				return nil, wrapStore(op, err)
			}
			return nil, locked()
		}
		return nil, errAuth(op)
	}
	if err := s.store.ResetPINFailures(ctx, u.ID); err != nil {
		return nil, wrapStore(op, err)
	}

	chain, err := parseChain(op, u.Chain)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "stored certificate chain is unusable")
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	tx := &roamsign.TransactionRecord{
		ID: id, User: u.ID, Host: host, RequestID: req.RequestID, ChallengeID: ch.ID,
		HashList: digest, Count: len(req.Hashes), Form: req.Form, State: roamsign.TxPending,
		CreatedAt: now.UTC(), UpdatedAt: now.UTC(),
	}
	a := base
	a.Event, a.Outcome, a.TransactionID = roamsign.AuditAuthorised, "ok", id
	if err := s.store.BeginTransaction(ctx, ch.ID, now, tx, &a); err != nil {
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
	return &activation{user: u, chal: ch, chain: chain, tx: tx}, nil
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
	key, err := s.keys.Signer(ctx, act.user.KeyRef)
	if err != nil {
		return nil, "", roamsign.Wrap(kindOr(err, roamsign.ErrUnavailable), op, err, "user key unavailable")
	}
	start := time.Now()
	sigs, alg, err = fs.SignBatch(ctx, key, act.chain, hashes)
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
