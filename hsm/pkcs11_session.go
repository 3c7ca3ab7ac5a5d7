//go:build cgo

package hsm

import (
	"context"

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
// epoch seenEpoch: it closes the login session, initialises the module
// again when it was finalised, finds the token again and logs in. Other
// sessions reopen lazily. Nothing happens when another goroutine already
// recovered.
func (s *PKCS11Store) recover(op string, seenEpoch, _ uint64, cause error) error {
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
	if err := s.relogin(op); err != nil {
		return err
	}
	s.epoch.Add(1)
	s.log.Info("PKCS#11 session pool recovered")
	return nil
}

// relogin finds the token again and logs in, initialising the module again
// when it was finalised. s.mu and calls are held exclusively.
func (s *PKCS11Store) relogin(op string) error {
	m := s.mod
	err := s.loginLocked(op, false)
	if isRV(err, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED) {
		if err = m.reinit(m.gen.Load()); err == nil {
			err = s.loginLocked(op, false)
		}
	}
	if err == nil {
		return nil
	}
	if k := roamsign.KindOf(err); k == roamsign.ErrNotFound || k == roamsign.ErrConflict {
		// The token went away (or is ambiguous now): unavailable.
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "the token cannot be found again")
	}
	return mapErr(roamsign.ErrUnavailable, op, err, "cannot log in to the token again")
}
