//go:build cgo

package hsm

import (
	"context"
	"errors"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
)

// p11Session is one session of a store: a pooled session or the login
// session. Its owner (the goroutine that borrowed it, or recovery for the
// login session) reads and writes it; the module may mark it closed (open
// false) with calls held exclusively when its handle was handed out again.
type p11Session struct {
	h      pkcs11.SessionHandle
	gen    uint64 // the module generation it was opened in
	epoch  uint64 // the store epoch it was opened in
	open   bool
	broken bool // a fault was seen on it: close and reopen before use
}

const sessionFlags = pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION

// withSession borrows a session, waiting no longer than ctx allows, and
// runs fn on it. On a fault (see isFault) the session is dropped, the login
// is recovered and fn runs once more on a fresh session; a second fault
// fails closed with roamsign.ErrUnavailable.
func (s *PKCS11Store) withSession(ctx context.Context, op string, fn func(*p11Session) error) error {
	if err := ctx.Err(); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "context done")
	}
	if s.latched.Load() {
		s.mu.Lock()
		err := s.loginErr
		s.mu.Unlock()
		return err
	}
	for attempt := 0; ; attempt++ {
		ss, err := s.borrow(ctx, op)
		if err != nil {
			return err
		}
		err = s.run(ss, fn)
		epoch, gen := ss.epoch, ss.gen
		fault := err != nil && isFault(err)
		if fault {
			ss.broken = true
		}
		s.pool <- ss
		if !fault {
			return mapErr(roamsign.ErrInternal, op, err, "PKCS#11 operation failed")
		}
		if attempt > 0 {
			return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "PKCS#11 token still failing after recovery")
		}
		if rerr := s.recover(op, epoch, gen, err); rerr != nil {
			return rerr
		}
	}
}

// borrow takes a session from the pool, waiting no longer than ctx allows.
func (s *PKCS11Store) borrow(ctx context.Context, op string) (*p11Session, error) {
	if s.closed.Load() {
		return nil, roamsign.E(roamsign.ErrClosed, op, "key store closed")
	}
	var ss *p11Session
	select {
	case ss = <-s.pool: // a free session: no wait
	default:
		select {
		case ss = <-s.pool:
		case <-s.done:
			return nil, roamsign.E(roamsign.ErrClosed, op, "key store closed")
		case <-ctx.Done():
			return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "no PKCS#11 session became free")
		}
	}
	if s.closed.Load() {
		s.pool <- ss
		return nil, roamsign.E(roamsign.ErrClosed, op, "key store closed")
	}
	return ss, nil
}

// run runs fn on ss with the module's calls held shared, (re)opening ss
// first when it is not current.
func (s *PKCS11Store) run(ss *p11Session, fn func(*p11Session) error) error {
	m := s.mod
	for {
		m.calls.RLock()
		if s.current(ss) {
			err := fn(ss)
			m.calls.RUnlock()
			return err
		}
		m.calls.RUnlock()
		if err := s.reopen(ss); err != nil {
			return err
		}
	}
}

// current reports whether ss is open, healthy and from the current module
// generation and store epoch. calls is held.
func (s *PKCS11Store) current(ss *p11Session) bool {
	return ss.open && !ss.broken && ss.gen == s.mod.gen.Load() && ss.epoch == s.epoch.Load()
}

// loggedIn reports whether the login session is open in the current module
// generation. calls is held.
func (s *PKCS11Store) loggedIn() bool {
	return s.login.open && s.login.gen == s.mod.gen.Load()
}

// reopen closes ss (when it is still its own) and opens a new session on
// the token, with calls held exclusively.
func (s *PKCS11Store) reopen(ss *p11Session) error {
	m := s.mod
	m.calls.Lock()
	defer m.calls.Unlock()
	if s.current(ss) {
		return nil
	}
	_ = m.closeSession(ss) // stale or broken; may already be gone
	ss.epoch = s.epoch.Load()
	if !s.loggedIn() {
		// An earlier recovery failed: a new session would not be logged
		// in. Report the lost login so that recovery is tried again.
		ss.gen = m.gen.Load()
		return pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN)
	}
	h, err := m.ctx.OpenSession(s.slot, sessionFlags)
	if err != nil {
		ss.gen = m.gen.Load()
		return err
	}
	m.adopt(ss, h)
	return nil
}

// recover re-establishes the login after a fault seen on a session of store
// epoch seenEpoch and module generation seenGen: it closes the login
// session, re-initialises the module when it was finalised or the token is
// lost (see relogin), finds the token again and logs in. Other sessions
// reopen lazily. Nothing happens when another goroutine already recovered.
func (s *PKCS11Store) recover(op string, seenEpoch, seenGen uint64, cause error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return roamsign.E(roamsign.ErrClosed, op, "key store closed")
	}
	if s.loginErr != nil {
		return s.loginErr
	}
	if s.epoch.Load() != seenEpoch {
		return nil
	}
	s.log.Warn("PKCS#11 fault; recovering", "error", cause.Error())
	m := s.mod
	m.calls.Lock()
	defer m.calls.Unlock()
	_ = m.closeSession(s.login)
	if err := s.relogin(op, tokenLost(cause) && m.gen.Load() == seenGen); err != nil {
		return err
	}
	s.epoch.Add(1)
	s.log.Info("PKCS#11 session pool recovered")
	return nil
}

// relogin finds the token again and logs in. The module is initialised
// again when it was finalised, and re-initialised (C_Finalize,
// C_Initialize; spaced by the module's back-off) when the token is lost:
// when lost is set, or when the token cannot be found. s.mu and calls are
// held exclusively.
func (s *PKCS11Store) relogin(op string, lost bool) error {
	m := s.mod
	reset := func() error {
		if err := m.reset(m.gen.Load(), time.Now()); err != nil {
			return err
		}
		lost = true
		return s.loginLocked(op, false)
	}
	var err error
	if lost {
		err = reset()
	} else {
		err = s.loginLocked(op, false)
	}
	if isRV(err, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED) {
		if err = m.reinit(m.gen.Load()); err == nil {
			err = s.loginLocked(op, false)
		}
	}
	if !lost && roamsign.KindOf(err) == roamsign.ErrNotFound {
		// The module may keep a token that went away in a failed state
		// even after the token is back: read the tokens afresh.
		err = reset()
	}
	switch {
	case err == nil:
		if lost {
			m.found()
			s.log.Info("PKCS#11 token found again after re-initialising the module")
		}
		return nil
	case errors.Is(err, errResetDeferred):
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "the token cannot be found")
	}
	if k := roamsign.KindOf(err); k == roamsign.ErrNotFound || k == roamsign.ErrConflict {
		// The token went away (or is ambiguous now): unavailable.
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "the token cannot be found again")
	}
	return mapErr(roamsign.ErrUnavailable, op, err, "cannot log in to the token again")
}

// tokenLost reports whether err says the token went away.
func tokenLost(err error) bool {
	return isRV(err, pkcs11.CKR_TOKEN_NOT_PRESENT) || isRV(err, pkcs11.CKR_DEVICE_REMOVED)
}
