//go:build cgo

package hsm

import (
	"context"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
)

type p11Session struct {
	h     pkcs11.SessionHandle
	epoch uint64
	open  bool
}

// recover re-establishes the login after a fault seen on a session of epoch
// seen: closes the login session, re-initialises the module when it was
// finalised, finds the token again and logs in. Other sessions reopen
// lazily. Nothing happens when another goroutine already recovered.
func (s *PKCS11Store) recover(op string, seen uint64, cause error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return roamsign.E(roamsign.ErrClosed, op, "key store closed")
	}
	if s.loginErr != nil {
		return s.loginErr
	}
	if s.epoch.Load() != seen {
		return nil
	}
	s.log.Warn("PKCS#11 fault; recovering", "error", cause.Error())
	p := s.mod.ctx
	if s.haveLogin {
		_ = p.CloseSession(s.login)
		s.haveLogin = false
	}
	gen := s.mod.gen.Load()
	if isRV(cause, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED) {
		if err := s.mod.reinit(gen); err != nil {
			return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot re-initialise the PKCS#11 module")
		}
		gen = s.mod.gen.Load()
	}
	err := s.loginLocked(op, false)
	if isRV(err, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED) {
		if err := s.mod.reinit(gen); err != nil {
			return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "cannot re-initialise the PKCS#11 module")
		}
		err = s.loginLocked(op, false)
	}
	if err != nil {
		if k := roamsign.KindOf(err); k == roamsign.ErrNotFound || k == roamsign.ErrConflict {
			// The token went away (or is ambiguous now): unavailable.
			return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "the token cannot be found again")
		}
		return mapErr(roamsign.ErrUnavailable, op, err, "cannot log in to the token again")
	}
	s.epoch.Add(1)
	s.log.Info("PKCS#11 session pool recovered")
	return nil
}

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
		if s.closed.Load() {
			return roamsign.E(roamsign.ErrClosed, op, "key store closed")
		}
		var ss *p11Session
		select {
		case ss = <-s.pool: // a free session: no wait
		default:
			select {
			case ss = <-s.pool:
			case <-s.done:
				return roamsign.E(roamsign.ErrClosed, op, "key store closed")
			case <-ctx.Done():
				return roamsign.Wrap(roamsign.ErrUnavailable, op, ctx.Err(), "no PKCS#11 session became free")
			}
		}
		if s.closed.Load() {
			s.pool <- ss
			return roamsign.E(roamsign.ErrClosed, op, "key store closed")
		}
		err := s.ensureOpen(ss)
		if err == nil {
			err = fn(ss)
		}
		used := ss.epoch
		fault := err != nil && isFault(err)
		if fault && ss.open {
			_ = s.mod.ctx.CloseSession(ss.h)
			ss.open = false
		}
		s.pool <- ss
		if !fault {
			return mapErr(roamsign.ErrInternal, op, err, "PKCS#11 operation failed")
		}
		if attempt > 0 {
			return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "PKCS#11 token still failing after recovery")
		}
		if rerr := s.recover(op, used, err); rerr != nil {
			return rerr
		}
	}
}

// ensureOpen (re)opens a pooled session that is closed or from an earlier
// epoch. Its caller owns ss.
func (s *PKCS11Store) ensureOpen(ss *p11Session) error {
	ep := s.epoch.Load()
	if ss.open && ss.epoch == ep {
		return nil
	}
	p := s.mod.ctx
	if ss.open {
		_ = p.CloseSession(ss.h) // stale after a recovery; may already be gone
		ss.open = false
	}
	s.mu.Lock()
	slot, loggedIn := s.slot, s.haveLogin
	ep = s.epoch.Load()
	s.mu.Unlock()
	if !loggedIn {
		// An earlier recovery failed: a new session would not be logged
		// in. Report the lost login so that recovery is tried again.
		ss.epoch = ep
		return pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN)
	}
	h, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		ss.epoch = ep
		return err
	}
	ss.h, ss.epoch, ss.open = h, ep, true
	return nil
}
