//go:build cgo

package hsm

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
)

// PKCS11Store is a [KeyStore] on a PKCS#11 token. See the package
// documentation, sections "PKCS#11" and "Sessions and concurrency".
type PKCS11Store struct {
	mod  *p11Module
	uri  URI // without the PIN
	pin  string
	log  *slog.Logger
	size int

	pool   chan *p11Session
	done   chan struct{}
	closed atomic.Bool
	once   sync.Once
	cerr   error

	epoch atomic.Uint64 // bumped by every successful recovery

	// The identity of the token found at open, for re-resolution; set
	// once.
	tokLabel, tokSerial string

	// slot and login are written with the module's calls held
	// exclusively (at open and in recovery) and read with calls held.
	slot  uint
	login *p11Session

	mu       sync.Mutex // serialises recovery; guards loginErr
	loginErr error      // latched: a rejected PIN is never tried again
	latched  atomic.Bool

	keysMu sync.Mutex
	keys   map[string]*p11Key
	// lastKey is the signing key that signed most recently, probed by
	// CheckKeys.
	lastKey atomic.Pointer[p11Key]
	macs    map[string]*p11MAC
	genMu   sync.Mutex
}

var (
	_ KeyStore = (*PKCS11Store)(nil)
	_ Key      = (*p11Key)(nil)
)

// OpenPKCS11 opens the token named by cfg.URI, logs in with the URI's PIN
// and prepares a pool of cfg.Sessions sessions (opened on first use).
//
// Errors: roamsign.ErrInvalidInput for a bad URI or config (missing
// module-path, no PIN), roamsign.ErrNotFound when no token matches,
// roamsign.ErrUnauthenticated for a rejected PIN (never retried),
// roamsign.ErrLocked when the token's PIN is locked or on its final try,
// roamsign.ErrUnavailable when the module or token cannot be reached.
func OpenPKCS11(ctx context.Context, cfg PKCS11Config) (*PKCS11Store, error) {
	const op = "hsm.OpenPKCS11"
	if err := ctx.Err(); err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "context done")
	}
	u, err := ParseURI(cfg.URI)
	if err != nil {
		return nil, err
	}
	if u.ModulePath == "" {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "the PKCS#11 URI has no module-path")
	}
	if u.Token == "" && u.Serial == "" && !u.HasSlotID {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "the PKCS#11 URI names no token (token, serial or slot-id)")
	}
	n := cfg.Sessions
	if n == 0 {
		n = DefaultSessions
	}
	if n < 1 || n > MaxSessions {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "sessions must be between 1 and %d", MaxSessions)
	}
	pin, err := u.PIN()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	mod, fresh, err := acquireModule(op, u.ModulePath)
	if err != nil {
		return nil, err
	}
	s := &PKCS11Store{
		mod:   mod,
		uri:   *u,
		pin:   pin,
		log:   log.With("component", "hsm.pkcs11"),
		size:  n,
		pool:  make(chan *p11Session, n),
		done:  make(chan struct{}),
		login: &p11Session{},
		keys:  map[string]*p11Key{},
		macs:  map[string]*p11MAC{},
	}
	s.uri.PINValue = ""
	for i := 0; i < n; i++ {
		s.pool <- &p11Session{}
	}
	if err := s.firstLogin(ctx, op, fresh); err != nil {
		_ = mod.release()
		return nil, mapErr(roamsign.ErrUnavailable, op, err, "cannot open the token")
	}
	return s, nil
}

// Opening retries a token not found this many times, re-initialising a
// library it initialised itself, first after openRetryWait, doubling.
const (
	openRetries   = 8
	openRetryWait = 20 * time.Millisecond
)

// firstLogin finds the token the URI names and logs in. A module reads
// its tokens when it is initialised, and that read can miss a token that
// other processes are writing at the moment (SoftHSM2 does when replicas
// start together), so when this open initialised the library itself
// (fresh: no one else in the process uses it) and no token matches, it
// initialises the library again and retries, openRetries times over about
// five seconds, before it reports roamsign.ErrNotFound. A login that fails
// without a verdict on the PIN (see pinRejected) is retried the same way:
// SoftHSM2 answers CKR_GENERAL_ERROR or CKR_USER_PIN_NOT_INITIALIZED when
// it reads a token file another process is writing, and eight processes
// provisioning keys at once keep it busy for more than a second.
func (s *PKCS11Store) firstLogin(ctx context.Context, op string, fresh bool) error {
	m := s.mod
	s.mu.Lock()
	defer s.mu.Unlock()
	wait := openRetryWait
	for try := 0; ; try++ {
		m.calls.Lock()
		err := s.loginLocked(op, true)
		if isRV(err, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED) {
			// Another user of the shared library finalised it.
			if err = m.reinit(m.gen.Load()); err == nil {
				err = s.loginLocked(op, true)
			}
		}
		m.calls.Unlock()
		// A token read while another process wrote it can stay without
		// its user PIN in this process until the library reads it again.
		missing := fresh && (roamsign.KindOf(err) == roamsign.ErrNotFound || isRV(err, pkcs11.CKR_USER_PIN_NOT_INITIALIZED))
		if err == nil || try == openRetries || !missing && !transientLogin(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
		if missing {
			m.calls.Lock()
			err = m.restart()
			m.calls.Unlock()
			if err != nil {
				return err
			}
		}
	}
}

// transientLogin reports whether err is a login failure that says nothing
// about the PIN, which loginLocked does not latch.
func transientLogin(err error) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && !pinRejected(err) && !isFault(err)
}

// Sessions returns the size of the session pool.
func (s *PKCS11Store) Sessions() int { return s.size }

// URI returns the store's URI without the PIN.
func (s *PKCS11Store) URI() string { return s.uri.String() }

// findSlot resolves the token: by the URI at open, by the identity found at
// open afterwards (slot numbers may change when a module is re-initialised).
func (s *PKCS11Store) findSlot(op string, first bool) (uint, pkcs11.TokenInfo, error) {
	p := s.mod.ctx
	slots, err := p.GetSlotList(true)
	if err != nil {
		return 0, pkcs11.TokenInfo{}, err
	}
	var (
		found []uint
		info  pkcs11.TokenInfo
	)
	for _, sl := range slots {
		if first && s.uri.HasSlotID && sl != s.uri.SlotID {
			continue
		}
		ti, err := p.GetTokenInfo(sl)
		if err != nil {
			continue // a slot that cannot be read is not ours
		}
		label, serial := trimPad(ti.Label), trimPad(ti.SerialNumber)
		if first {
			if s.uri.Token != "" && label != s.uri.Token ||
				s.uri.Serial != "" && serial != s.uri.Serial ||
				s.uri.Manufacturer != "" && trimPad(ti.ManufacturerID) != s.uri.Manufacturer ||
				s.uri.Model != "" && trimPad(ti.Model) != s.uri.Model {
				continue
			}
		} else if label != s.tokLabel || serial != s.tokSerial {
			continue
		}
		found = append(found, sl)
		info = ti
	}
	switch len(found) {
	case 0:
		if first && s.uri.HasSlotID && (s.uri.Token != "" || s.uri.Serial != "") {
			return 0, info, roamsign.E(roamsign.ErrNotFound, op, "no token matches the URI (slot-id and token attributes may contradict each other)")
		}
		return 0, info, roamsign.E(roamsign.ErrNotFound, op, "no token matches the URI")
	case 1:
		return found[0], info, nil
	}
	return 0, info, roamsign.E(roamsign.ErrConflict, op, "%d tokens match the URI; add serial or slot-id", len(found))
}

func trimPad(s string) string { return strings.TrimRight(s, " \x00") }

// loginLocked resolves the token, checks its PIN flags, opens the login
// session and logs in. s.mu and the module's calls (exclusively) are held.
func (s *PKCS11Store) loginLocked(op string, first bool) error {
	if s.loginErr != nil {
		return s.loginErr
	}
	m := s.mod
	p := m.ctx
	slot, ti, err := s.findSlot(op, first)
	if err != nil {
		return err
	}
	needLogin := ti.Flags&pkcs11.CKF_LOGIN_REQUIRED != 0
	if needLogin {
		switch {
		case ti.Flags&pkcs11.CKF_USER_PIN_INITIALIZED == 0:
			return roamsign.E(roamsign.ErrUnavailable, op, "the token's user PIN is not initialised")
		case ti.Flags&pkcs11.CKF_USER_PIN_LOCKED != 0:
			s.loginErr = roamsign.E(roamsign.ErrLocked, op, "the token's user PIN is locked")
			s.latched.Store(true)
			return s.loginErr
		case ti.Flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0:
			s.loginErr = roamsign.E(roamsign.ErrLocked, op, "the token's user PIN is on its final try; refusing to log in")
			s.latched.Store(true)
			return s.loginErr
		case ti.Flags&pkcs11.CKF_USER_PIN_COUNT_LOW != 0:
			s.log.Warn("token reports failed PIN attempts", "token", trimPad(ti.Label))
		}
		if s.pin == "" {
			return roamsign.E(roamsign.ErrInvalidInput, op, "the token needs a PIN: give pin-source or pin-value")
		}
	}
	h, err := p.OpenSession(slot, sessionFlags)
	if err != nil {
		return err
	}
	m.adopt(s.login, h)
	if needLogin {
		if err := p.Login(h, pkcs11.CKU_USER, s.pin); err != nil && !isRV(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
			_ = m.closeSession(s.login)
			if isFault(err) {
				return err
			}
			if !pinRejected(err) {
				// Not a verdict on the PIN (SoftHSM2 answers
				// CKR_GENERAL_ERROR while another process writes the
				// token): the login may be tried again.
				return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "token login failed")
			}
			kind := roamsign.ErrUnauthenticated
			if isRV(err, pkcs11.CKR_PIN_LOCKED) {
				kind = roamsign.ErrLocked
			}
			// Never try this PIN again: a wrong PIN must not lock the token.
			s.loginErr = roamsign.Wrap(kind, op, err, "token login failed")
			s.latched.Store(true)
			return s.loginErr
		}
	}
	s.slot = slot
	if first {
		s.tokLabel, s.tokSerial = trimPad(ti.Label), trimPad(ti.SerialNumber)
	}
	return nil
}

// Close closes every session (waiting for operations in progress) and
// releases the module; the library is finalised when this package
// initialised it and no other store uses it. Close is idempotent and
// returns the first real error. Close of a nil store (what a failed
// OpenPKCS11 returns) does nothing.
func (s *PKCS11Store) Close() error {
	if s == nil {
		return nil
	}
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.done)
		keep := func(err error) {
			if err != nil && s.cerr == nil && !isFault(err) {
				s.cerr = roamsign.Wrap(roamsign.ErrInternal, "hsm.PKCS11Store.Close", err, "closing a session")
			}
		}
		sessions := make([]*p11Session, 0, s.size+1)
		for i := 0; i < s.size; i++ {
			sessions = append(sessions, <-s.pool)
		}
		s.mu.Lock()
		m := s.mod
		m.calls.Lock()
		for _, ss := range append(sessions, s.login) {
			keep(m.closeSession(ss))
		}
		m.calls.Unlock()
		s.mu.Unlock()
		if err := m.release(); err != nil && s.cerr == nil {
			s.cerr = roamsign.Wrap(roamsign.ErrInternal, "hsm.PKCS11Store.Close", err, "finalising the module")
		}
	})
	return s.cerr
}

// checkID checks that the store is open and id is a valid key ID.
func (s *PKCS11Store) checkID(op, id string) error {
	if err := s.checkOpen(op); err != nil {
		return err
	}
	return validID(op, id)
}

func (s *PKCS11Store) checkOpen(op string) error {
	if s.closed.Load() {
		return roamsign.E(roamsign.ErrClosed, op, "key store closed")
	}
	return nil
}
