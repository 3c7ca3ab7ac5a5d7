//go:build cgo

package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
)

// ---------------------------------------------------------------------------
// Process-wide module registry.
//
// A PKCS#11 library is initialised once per process (C_Initialize) and its
// state is shared by every handle that loads it, so stores that use the same
// module share one entry here, counted by reference.

type p11Module struct {
	path  string
	ctx   *pkcs11.Ctx
	refs  int
	owned bool // this package initialised the library and finalises it

	mu  sync.Mutex // serialises re-initialisation
	gen atomic.Uint64
}

var modules = struct {
	sync.Mutex
	m map[string]*p11Module
}{m: map[string]*p11Module{}}

func acquireModule(op, path string) (*p11Module, error) {
	modules.Lock()
	defer modules.Unlock()
	if m := modules.m[path]; m != nil {
		m.refs++
		return m, nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "PKCS#11 module-path does not name a readable file")
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, roamsign.E(roamsign.ErrUnavailable, op, "cannot load the PKCS#11 module")
	}
	m := &p11Module{path: path, ctx: ctx, refs: 1, owned: true}
	if err := ctx.Initialize(); err != nil {
		if !isRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			ctx.Destroy()
			return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "C_Initialize failed")
		}
		m.owned = false // someone else in the process initialised it
	}
	modules.m[path] = m
	return m, nil
}

func (m *p11Module) release() error {
	modules.Lock()
	defer modules.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(modules.m, m.path)
	var err error
	if m.owned {
		if e := m.ctx.Finalize(); e != nil && !isRV(e, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED) {
			err = e
		}
	}
	m.ctx.Destroy()
	return err
}

// reinit calls C_Initialize again after the library was finalised, unless
// another store already did so since generation seen.
func (m *p11Module) reinit(seen uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen.Load() != seen {
		return nil
	}
	if err := m.ctx.Initialize(); err != nil && !isRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		return err
	}
	m.gen.Add(1)
	return nil
}

// ---------------------------------------------------------------------------
// Store.

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

	mu        sync.Mutex // guards the fields below and recovery
	slot      uint
	tokLabel  string // identity of the token found at open, for re-resolution
	tokSerial string
	login     pkcs11.SessionHandle
	haveLogin bool
	loginErr  error // latched: a rejected PIN is never tried again
	latched   atomic.Bool

	keysMu sync.Mutex
	keys   map[string]*p11Key
	macs   map[string]*p11MAC
	genMu  sync.Mutex
}

type p11Session struct {
	h     pkcs11.SessionHandle
	epoch uint64
	open  bool
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
	mod, err := acquireModule(op, u.ModulePath)
	if err != nil {
		return nil, err
	}
	s := &PKCS11Store{
		mod:  mod,
		uri:  *u,
		pin:  pin,
		log:  log.With("component", "hsm.pkcs11"),
		size: n,
		pool: make(chan *p11Session, n),
		done: make(chan struct{}),
		keys: map[string]*p11Key{},
		macs: map[string]*p11MAC{},
	}
	s.uri.PINValue = ""
	for i := 0; i < n; i++ {
		s.pool <- &p11Session{}
	}
	s.mu.Lock()
	gen := mod.gen.Load()
	err = s.loginLocked(op, true)
	if isRV(err, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED) {
		// Another user of the shared library finalised it.
		if err = mod.reinit(gen); err == nil {
			err = s.loginLocked(op, true)
		}
	}
	s.mu.Unlock()
	if err != nil {
		_ = mod.release()
		return nil, mapErr(roamsign.ErrUnavailable, op, err, "cannot open the token")
	}
	return s, nil
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
// session and logs in. s.mu is held.
func (s *PKCS11Store) loginLocked(op string, first bool) error {
	if s.loginErr != nil {
		return s.loginErr
	}
	p := s.mod.ctx
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
	h, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return err
	}
	if needLogin {
		if err := p.Login(h, pkcs11.CKU_USER, s.pin); err != nil && !isRV(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
			_ = p.CloseSession(h)
			if isFault(err) {
				return err
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
	s.slot, s.login, s.haveLogin = slot, h, true
	s.tokLabel, s.tokSerial = trimPad(ti.Label), trimPad(ti.SerialNumber)
	return nil
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

// Close closes every session (waiting for operations in progress) and
// releases the module; the library is finalised when this package
// initialised it and no other store uses it. Close is idempotent and
// returns the first real error.
func (s *PKCS11Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.done)
		p := s.mod.ctx
		keep := func(err error) {
			if err != nil && s.cerr == nil && !isFault(err) {
				s.cerr = roamsign.Wrap(roamsign.ErrInternal, "hsm.PKCS11Store.Close", err, "closing a session")
			}
		}
		for i := 0; i < s.size; i++ {
			ss := <-s.pool
			if ss.open {
				keep(p.CloseSession(ss.h))
				ss.open = false
			}
		}
		s.mu.Lock()
		if s.haveLogin {
			keep(p.CloseSession(s.login))
			s.haveLogin = false
		}
		s.mu.Unlock()
		if err := s.mod.release(); err != nil && s.cerr == nil {
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

// ---------------------------------------------------------------------------
// Key operations.

// p11Key is a private key on the token.
type p11Key struct {
	s     *PKCS11Store
	id    string
	label string
	alg   roamsign.KeyAlgorithm
	pub   crypto.PublicKey
	mech  []*pkcs11.Mechanism // for PKCS#1 v1.5 and ECDSA
	h     atomic.Pointer[keyHandle]

	// deleted is set by Delete, so a Key value held by a caller never
	// signs with an object that may reuse its handle.
	deleted atomic.Bool
}

type keyHandle struct {
	epoch uint64
	h     pkcs11.ObjectHandle
}

func (k *p11Key) Public() crypto.PublicKey         { return k.pub }
func (k *p11Key) ID() string                       { return k.id }
func (k *p11Key) Label() string                    { return k.label }
func (k *p11Key) Algorithm() roamsign.KeyAlgorithm { return k.alg }

// Concurrency returns the session pool size.
func (k *p11Key) Concurrency() int { return k.s.size }

// Sign signs with context.Background(); see [Key].
func (k *p11Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), digest, opts)
}

// SignContext signs digest in the token. The wait for a session is bounded
// by ctx.
func (k *p11Key) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	const op = "hsm.Sign"
	m, err := checkSign(op, k.pub, digest, opts)
	if err != nil {
		return nil, err
	}
	if k.deleted.Load() {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "key %q was deleted", k.id)
	}
	mech, data := k.mech, digest
	if _, isRSA := k.pub.(*rsa.PublicKey); isRSA {
		if m.pss {
			mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS,
				pkcs11.NewPSSParams(pssHashMech[m.hash], pssMGF[m.hash], uint(m.salt)))}
		} else {
			data = digestInfo(m.hash, digest)
		}
	}
	var sig []byte
	err = k.s.withSession(ctx, op, func(ss *p11Session) error {
		var err error
		sig, err = k.s.signOn(ss, mech, data, &k.h, func() (pkcs11.ObjectHandle, error) { return k.handle(op, ss) })
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, isEC := k.pub.(*ecdsa.PublicKey); isEC {
		return ecdsaDER(sig)
	}
	return sig, nil
}

var (
	pssHashMech = map[crypto.Hash]uint{crypto.SHA256: pkcs11.CKM_SHA256, crypto.SHA384: pkcs11.CKM_SHA384, crypto.SHA512: pkcs11.CKM_SHA512}
	pssMGF      = map[crypto.Hash]uint{crypto.SHA256: pkcs11.CKG_MGF1_SHA256, crypto.SHA384: pkcs11.CKG_MGF1_SHA384, crypto.SHA512: pkcs11.CKG_MGF1_SHA512}
)

// signOn signs data on ss with mech and the key handle that get returns.
// When the token reports that handle invalid (the object was re-created or
// the token renumbered it), the cached handle is dropped and the key is
// found again, once.
func (s *PKCS11Store) signOn(ss *p11Session, mech []*pkcs11.Mechanism, data []byte, cache *atomic.Pointer[keyHandle], get func() (pkcs11.ObjectHandle, error)) ([]byte, error) {
	p := s.mod.ctx
	h, err := get()
	if err != nil {
		return nil, err
	}
	err = p.SignInit(ss.h, mech, h)
	if isRV(err, pkcs11.CKR_KEY_HANDLE_INVALID) || isRV(err, pkcs11.CKR_OBJECT_HANDLE_INVALID) {
		cache.Store(nil)
		if h, err = get(); err != nil {
			return nil, err
		}
		err = p.SignInit(ss.h, mech, h)
	}
	if err != nil {
		return nil, err
	}
	return p.Sign(ss.h, data)
}

// handle returns the key's object handle valid in ss's epoch, finding the
// key again by CKA_ID (and re-checking its attributes) after a recovery.
func (k *p11Key) handle(op string, ss *p11Session) (pkcs11.ObjectHandle, error) {
	if c := k.h.Load(); c != nil && c.epoch == ss.epoch {
		return c.h, nil
	}
	h, a, err := k.s.findPrivate(op, ss, k.id)
	if errors.Is(err, roamsign.ErrNotFound) && !k.deleted.Load() {
		// This store held the key and did not delete it: the token (or
		// the object) vanished under us, for example a token removed or a
		// token directory taken away. Report it as unavailable, so hosts
		// retry instead of concluding the user has no key; it still never
		// signs.
		return 0, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "the key is no longer visible in the token")
	}
	if err != nil {
		return 0, err
	}
	// The ID may now name another key (deleted and generated again):
	// never sign with a key whose public key is not the one callers hold.
	pub, err := k.s.readPublic(op, ss, k.id, a.keyType, h)
	if err != nil {
		return 0, err
	}
	if !samePublicKey(k.pub, pub) {
		return 0, roamsign.E(roamsign.ErrNotFound, op, "key %q was replaced by another key", k.id)
	}
	k.h.Store(&keyHandle{epoch: ss.epoch, h: h})
	return h, nil
}

// privAttrs are the private key attributes read and checked on lookup.
type privAttrs struct {
	keyType uint
	label   string
}

// findObjects returns the handles of objects matching tmpl (at most max).
func (s *PKCS11Store) findObjects(ss *p11Session, tmpl []*pkcs11.Attribute, max int) ([]pkcs11.ObjectHandle, error) {
	p := s.mod.ctx
	if err := p.FindObjectsInit(ss.h, tmpl); err != nil {
		return nil, err
	}
	var out []pkcs11.ObjectHandle
	var ferr error
	for len(out) < max {
		hs, _, err := p.FindObjects(ss.h, min(64, max-len(out)))
		if err != nil {
			ferr = err
			break
		}
		if len(hs) == 0 {
			break
		}
		out = append(out, hs...)
	}
	if err := p.FindObjectsFinal(ss.h); err != nil && ferr == nil {
		ferr = err
	}
	return out, ferr
}

// findByID returns the handles of objects of class with CKA_ID id (at most
// max).
func (s *PKCS11Store) findByID(ss *p11Session, class uint, id string, max int) ([]pkcs11.ObjectHandle, error) {
	return s.findObjects(ss, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
		pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
	}, max)
}

// existsByID reports whether an object of any of classes has CKA_ID id.
func (s *PKCS11Store) existsByID(ss *p11Session, id string, classes ...uint) (bool, error) {
	for _, class := range classes {
		hs, err := s.findByID(ss, class, id, 1)
		if err != nil || len(hs) > 0 {
			return len(hs) > 0, err
		}
	}
	return false, nil
}

// destroyByID destroys every object with CKA_ID id whose class is first or
// one of rest. It returns roamsign.ErrNotFound with missing (formatted with
// id) and destroys nothing when no object of class first exists.
func (s *PKCS11Store) destroyByID(op string, ss *p11Session, id, missing string, first uint, rest ...uint) error {
	all, err := s.findByID(ss, first, id, 16)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return roamsign.E(roamsign.ErrNotFound, op, missing, id)
	}
	for _, class := range rest {
		hs, err := s.findByID(ss, class, id, 1000)
		if err != nil {
			return err
		}
		all = append(all, hs...)
	}
	for _, h := range all {
		if err := s.mod.ctx.DestroyObject(ss.h, h); err != nil {
			return err
		}
	}
	return nil
}

// findPrivate finds the private key with CKA_ID id and checks that it may
// be used: CKA_SIGN, CKA_SENSITIVE, !CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE
// and CKA_NEVER_EXTRACTABLE.
func (s *PKCS11Store) findPrivate(op string, ss *p11Session, id string) (pkcs11.ObjectHandle, privAttrs, error) {
	return s.findKeyObject(op, ss, pkcs11.CKO_PRIVATE_KEY, id)
}

// findKeyObject finds the key of class (private or secret) with CKA_ID id
// and checks its attributes as findPrivate describes.
func (s *PKCS11Store) findKeyObject(op string, ss *p11Session, class uint, id string) (pkcs11.ObjectHandle, privAttrs, error) {
	hs, err := s.findByID(ss, class, id, 2)
	if err != nil {
		return 0, privAttrs{}, err
	}
	switch len(hs) {
	case 0:
		// A session that lost its login sees no private objects: report
		// the lost login (a fault) rather than a missing key.
		if si, err := s.mod.ctx.GetSessionInfo(ss.h); err != nil {
			return 0, privAttrs{}, err
		} else if si.State == pkcs11.CKS_RO_PUBLIC_SESSION || si.State == pkcs11.CKS_RW_PUBLIC_SESSION {
			return 0, privAttrs{}, pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN)
		}
		return 0, privAttrs{}, roamsign.E(roamsign.ErrNotFound, op, "no key with id %q", id)
	case 1:
	default:
		return 0, privAttrs{}, roamsign.E(roamsign.ErrConflict, op, "several keys with id %q", id)
	}
	attrs, err := s.mod.ctx.GetAttributeValue(ss.h, hs[0], []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, nil),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_NEVER_EXTRACTABLE, nil),
	})
	if err != nil {
		return 0, privAttrs{}, err
	}
	a := privAttrs{keyType: attrUint(attrs[0].Value), label: string(attrs[1].Value)}
	sign, sens, extr, always, never := attrBool(attrs[2].Value), attrBool(attrs[3].Value), attrBool(attrs[4].Value), attrBool(attrs[5].Value), attrBool(attrs[6].Value)
	if !sens || extr || !always || !never {
		return 0, a, roamsign.E(roamsign.ErrForbidden, op,
			"key %q is not sensitive and non-extractable since generation (ALWAYS_SENSITIVE=%t NEVER_EXTRACTABLE=%t SENSITIVE=%t EXTRACTABLE=%t); refusing to use it",
			id, always, never, sens, extr)
	}
	if !sign {
		return 0, a, roamsign.E(roamsign.ErrForbidden, op, "key %q may not sign (CKA_SIGN false)", id)
	}
	return hs[0], a, nil
}

func attrBool(v []byte) bool { return len(v) == 1 && v[0] != 0 }

func attrUint(v []byte) uint {
	var n uint
	switch len(v) {
	case 4, 8:
		// CK_ULONG in host byte order (little-endian on supported hosts).
		for i := len(v) - 1; i >= 0; i-- {
			n = n<<8 | uint(v[i])
		}
	}
	return n
}

// loadKey builds a key from the token: finds and checks the private key,
// reads the public key from its public key object (or, for RSA, from the
// private key's public attributes).
func (s *PKCS11Store) loadKey(op string, ss *p11Session, id string) (*p11Key, error) {
	h, a, err := s.findPrivate(op, ss, id)
	if err != nil {
		return nil, err
	}
	pub, err := s.readPublic(op, ss, id, a.keyType, h)
	if err != nil {
		return nil, err
	}
	alg := algorithmOf(pub)
	if alg == "" {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "key %q has an unsupported type or size", id)
	}
	k := &p11Key{s: s, id: id, label: a.label, alg: alg, pub: pub}
	if a.keyType == pkcs11.CKK_EC {
		k.mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}
	} else {
		k.mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}
	}
	k.h.Store(&keyHandle{epoch: ss.epoch, h: h})
	return k, nil
}

func (s *PKCS11Store) readPublic(op string, ss *p11Session, id string, keyType uint, priv pkcs11.ObjectHandle) (crypto.PublicKey, error) {
	p := s.mod.ctx
	hs, err := s.findObjects(ss, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
	}, 1)
	if err != nil {
		return nil, err
	}
	switch keyType {
	case pkcs11.CKK_RSA:
		obj := priv
		if len(hs) == 1 {
			obj = hs[0]
		}
		attrs, err := p.GetAttributeValue(ss.h, obj, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil),
		})
		if err != nil {
			return nil, err
		}
		e := new(big.Int).SetBytes(attrs[1].Value)
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, roamsign.E(roamsign.ErrUnsupported, op, "key %q has an unsupported RSA exponent", id)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(attrs[0].Value), E: int(e.Int64())}, nil
	case pkcs11.CKK_EC:
		if len(hs) == 0 {
			return nil, roamsign.E(roamsign.ErrNotFound, op, "no public key object for EC key %q", id)
		}
		attrs, err := p.GetAttributeValue(ss.h, hs[0], []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil),
			pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil),
		})
		if err != nil {
			return nil, err
		}
		return parseECPublic(op, attrs[0].Value, attrs[1].Value)
	}
	return nil, roamsign.E(roamsign.ErrUnsupported, op, "key %q has an unsupported key type %#x", id, keyType)
}

var (
	oidP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521 = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

func curveOID(c elliptic.Curve) asn1.ObjectIdentifier {
	switch c {
	case elliptic.P256():
		return oidP256
	case elliptic.P384():
		return oidP384
	case elliptic.P521():
		return oidP521
	}
	return nil
}

func parseECPublic(op string, params, point []byte) (crypto.PublicKey, error) {
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(params, &oid); err != nil || len(rest) != 0 {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "EC parameters are not a named curve")
	}
	var curve elliptic.Curve
	switch {
	case oid.Equal(oidP256):
		curve = elliptic.P256()
	case oid.Equal(oidP384):
		curve = elliptic.P384()
	case oid.Equal(oidP521):
		curve = elliptic.P521()
	default:
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "unsupported curve %v", oid)
	}
	// CKA_EC_POINT is a DER OCTET STRING holding the point; some tokens
	// return the bare point.
	var raw []byte
	if rest, err := asn1.Unmarshal(point, &raw); err != nil || len(rest) != 0 {
		raw = point
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
	if err != nil {
		return nil, roamsign.E(roamsign.ErrInternal, op, "the token returned an invalid EC point")
	}
	return pub, nil
}

// Key looks a key up by ID; keys are cached, so a later lookup does not
// touch the token.
func (s *PKCS11Store) Key(ctx context.Context, id string) (Key, error) {
	const op = "hsm.PKCS11Store.Key"
	if err := s.checkID(op, id); err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	k := s.keys[id]
	s.keysMu.Unlock()
	if k != nil {
		return k, nil
	}
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		var err error
		k, err = s.loadKey(op, ss, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	if c := s.keys[id]; c != nil {
		k = c
	} else {
		s.keys[id] = k
	}
	s.keysMu.Unlock()
	return k, nil
}

// URIKey returns the key the store's URI names by id or object (label).
func (s *PKCS11Store) URIKey(ctx context.Context) (Key, error) {
	const op = "hsm.PKCS11Store.URIKey"
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	if len(s.uri.ID) > 0 {
		k, err := s.Key(ctx, string(s.uri.ID))
		if err != nil {
			return nil, err
		}
		if s.uri.Object != "" && k.Label() != s.uri.Object {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "the URI's object and id name different keys")
		}
		return k, nil
	}
	if s.uri.Object == "" {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "the URI names no key (id or object)")
	}
	keys, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var match []KeyInfo
	for _, ki := range keys {
		if ki.Label == s.uri.Object {
			match = append(match, ki)
		}
	}
	switch len(match) {
	case 0:
		return nil, roamsign.E(roamsign.ErrNotFound, op, "no key with the URI's object label")
	case 1:
		return s.Key(ctx, match[0].ID)
	}
	return nil, roamsign.E(roamsign.ErrConflict, op, "%d keys share the URI's object label; give id", len(match))
}

// Generate creates a key pair in the token: CKA_TOKEN, CKA_PRIVATE,
// CKA_SENSITIVE and CKA_SIGN true; CKA_EXTRACTABLE, CKA_DECRYPT,
// CKA_UNWRAP and CKA_DERIVE false.
func (s *PKCS11Store) Generate(ctx context.Context, req GenerateRequest) (Key, error) {
	const op = "hsm.PKCS11Store.Generate"
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	req, err := req.normalise(op, randRead)
	if err != nil {
		return nil, err
	}
	id := []byte(req.ID)
	pubT := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, req.Label),
	}
	privT := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, req.Label),
	}
	var mech []*pkcs11.Mechanism
	if bits := rsaBits(req.Algorithm); bits > 0 {
		mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}
		pubT = append(pubT,
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, bits),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
		privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA))
	} else {
		params, err := asn1.Marshal(curveOID(curveOf(req.Algorithm)))
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encoding curve")
		}
		mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)}
		pubT = append(pubT,
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params))
		privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC))
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	var k *p11Key
	err = s.withSession(ctx, op, func(ss *p11Session) error {
		if found, err := s.existsByID(ss, req.ID, pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY); err != nil {
			return err
		} else if found {
			return roamsign.E(roamsign.ErrConflict, op, "a key with id %q exists", req.ID)
		}
		if _, _, err := s.mod.ctx.GenerateKeyPair(ss.h, mech, pubT, privT); err != nil {
			return err
		}
		k, err = s.loadKey(op, ss, req.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	s.keys[req.ID] = k
	s.keysMu.Unlock()
	s.log.Info("key generated", "id", req.ID, "algorithm", string(req.Algorithm))
	return k, nil
}

// List describes the token's private keys whose CKA_ID is a valid key ID
// (see [GenerateRequest]); keys with other IDs are not listed.
func (s *PKCS11Store) List(ctx context.Context) ([]KeyInfo, error) {
	const op = "hsm.PKCS11Store.List"
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	var out []KeyInfo
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		out = out[:0]
		hs, err := s.findObjects(ss, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)}, 100000)
		if err != nil {
			return err
		}
		for _, h := range hs {
			attrs, err := s.mod.ctx.GetAttributeValue(ss.h, h, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
				pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil),
			})
			if err != nil {
				return err
			}
			id := string(attrs[0].Value)
			if validID(op, id) != nil {
				continue
			}
			ki := KeyInfo{ID: id, Label: string(attrs[1].Value)}
			pub, err := s.readPublic(op, ss, id, attrUint(attrs[2].Value), h)
			if err == nil {
				ki.Algorithm = algorithmOf(pub)
			} else if _, ok := err.(pkcs11.Error); ok {
				return err
			}
			out = append(out, ki)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Delete destroys the key pair and every certificate with its CKA_ID (MAC
// keys with the same ID are left alone).
func (s *PKCS11Store) Delete(ctx context.Context, id string) error {
	const op = "hsm.PKCS11Store.Delete"
	if err := s.checkID(op, id); err != nil {
		return err
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		return s.destroyByID(op, ss, id, "no key with id %q",
			pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY, pkcs11.CKO_CERTIFICATE)
	})
	s.keysMu.Lock()
	if k := s.keys[id]; k != nil && err == nil {
		k.deleted.Store(true)
	}
	delete(s.keys, id)
	s.keysMu.Unlock()
	return err
}

// ImportChain stores the chain as CKO_CERTIFICATE objects (CKC_X_509,
// public token objects) with the key's CKA_ID and CKA_LABEL, replacing the
// certificates stored before. New certificates are written before old ones
// are destroyed, so a failure never leaves the key without a chain.
func (s *PKCS11Store) ImportChain(ctx context.Context, id string, chain []*x509.Certificate) error {
	const op = "hsm.PKCS11Store.ImportChain"
	k, err := s.Key(ctx, id)
	if err != nil {
		return err
	}
	if err := checkChain(op, k.Public(), chain); err != nil {
		return err
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	p := s.mod.ctx
	return s.withSession(ctx, op, func(ss *p11Session) error {
		old, err := s.findByID(ss, pkcs11.CKO_CERTIFICATE, id, 1000)
		if err != nil {
			return err
		}
		var made []pkcs11.ObjectHandle
		for _, c := range chain {
			serial, err := asn1.Marshal(c.SerialNumber)
			if err != nil {
				return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "certificate serial number")
			}
			h, err := p.CreateObject(ss.h, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
				pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
				pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
				pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
				pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, k.Label()),
				pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, c.RawSubject),
				pkcs11.NewAttribute(pkcs11.CKA_ISSUER, c.RawIssuer),
				pkcs11.NewAttribute(pkcs11.CKA_SERIAL_NUMBER, serial),
				pkcs11.NewAttribute(pkcs11.CKA_VALUE, c.Raw),
			})
			if err != nil {
				for _, m := range made {
					_ = p.DestroyObject(ss.h, m)
				}
				return err
			}
			made = append(made, h)
		}
		for _, h := range old {
			if err := p.DestroyObject(ss.h, h); err != nil {
				return err
			}
		}
		return nil
	})
}

// Chain reads the certificates with the key's CKA_ID, leaf first.
func (s *PKCS11Store) Chain(ctx context.Context, id string) ([]*x509.Certificate, error) {
	const op = "hsm.PKCS11Store.Chain"
	k, err := s.Key(ctx, id)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	err = s.withSession(ctx, op, func(ss *p11Session) error {
		certs = certs[:0]
		hs, err := s.findByID(ss, pkcs11.CKO_CERTIFICATE, id, maxChainLen*4)
		if err != nil {
			return err
		}
		for _, h := range hs {
			attrs, err := s.mod.ctx.GetAttributeValue(ss.h, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
			if err != nil {
				return err
			}
			c, err := x509.ParseCertificate(attrs[0].Value)
			if err != nil {
				return roamsign.Wrap(roamsign.ErrInternal, op, err, "a stored certificate does not parse")
			}
			certs = append(certs, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return orderChain(k.Public(), certs), nil
}

// ---------------------------------------------------------------------------
// Errors.

// faults are the return values after which the session (and perhaps the
// login or the library) must be re-established.
var faults = map[uint]bool{
	pkcs11.CKR_SESSION_HANDLE_INVALID:   true,
	pkcs11.CKR_SESSION_CLOSED:           true,
	pkcs11.CKR_DEVICE_REMOVED:           true,
	pkcs11.CKR_TOKEN_NOT_PRESENT:        true,
	pkcs11.CKR_USER_NOT_LOGGED_IN:       true,
	pkcs11.CKR_DEVICE_ERROR:             true,
	pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED: true,
	pkcs11.CKR_SLOT_ID_INVALID:          true,
}

func isFault(err error) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && faults[uint(e)]
}

func isRV(err error, rv uint) bool {
	if err == nil {
		return false // no allocation for e on the success path
	}
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == rv
}

// mapErr types a raw PKCS#11 error; errors that are already typed pass
// through unchanged.
func mapErr(def roamsign.Kind, op string, err error, msg string) error {
	if err == nil {
		return nil
	}
	var re *roamsign.Error
	if errors.As(err, &re) {
		return err
	}
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return roamsign.Wrap(def, op, err, msg)
	}
	kind := def
	switch uint(e) {
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_EXPIRED:
		kind = roamsign.ErrUnauthenticated
	case pkcs11.CKR_PIN_LOCKED:
		kind = roamsign.ErrLocked
	case pkcs11.CKR_DATA_LEN_RANGE, pkcs11.CKR_DATA_INVALID, pkcs11.CKR_ARGUMENTS_BAD, pkcs11.CKR_TEMPLATE_INCONSISTENT, pkcs11.CKR_ATTRIBUTE_VALUE_INVALID:
		kind = roamsign.ErrInvalidInput
	case pkcs11.CKR_MECHANISM_INVALID, pkcs11.CKR_MECHANISM_PARAM_INVALID, pkcs11.CKR_KEY_TYPE_INCONSISTENT, pkcs11.CKR_KEY_FUNCTION_NOT_PERMITTED, pkcs11.CKR_FUNCTION_NOT_SUPPORTED, pkcs11.CKR_KEY_SIZE_RANGE:
		kind = roamsign.ErrUnsupported
	case pkcs11.CKR_ATTRIBUTE_SENSITIVE:
		kind = roamsign.ErrForbidden
	case pkcs11.CKR_DEVICE_MEMORY, pkcs11.CKR_HOST_MEMORY, pkcs11.CKR_SESSION_COUNT, pkcs11.CKR_FUNCTION_CANCELED:
		kind = roamsign.ErrUnavailable
	}
	if faults[uint(e)] {
		kind = roamsign.ErrUnavailable
	}
	return roamsign.Wrap(kind, op, err, msg)
}

func randRead(b []byte) error {
	_, err := rand.Read(b)
	return err
}

// ---------------------------------------------------------------------------
// MAC keys.

var (
	_ MACKeyStore = (*PKCS11Store)(nil)
	_ MACKey      = (*p11MAC)(nil)
)

// p11MAC is a CKK_GENERIC_SECRET key used with CKM_SHA256_HMAC.
type p11MAC struct {
	s       *PKCS11Store
	id      string
	h       atomic.Pointer[keyHandle]
	deleted atomic.Bool
}

var hmacMech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_SHA256_HMAC, nil)}

func (m *p11MAC) ID() string { return m.id }

// MAC computes HMAC-SHA256 in the token.
func (m *p11MAC) MAC(ctx context.Context, data []byte) ([]byte, error) {
	const op = "hsm.MAC"
	if err := checkMACInput(op, data); err != nil {
		return nil, err
	}
	if m.deleted.Load() {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "MAC key %q was deleted", m.id)
	}
	var out []byte
	err := m.s.withSession(ctx, op, func(ss *p11Session) error {
		var err error
		out, err = m.s.signOn(ss, hmacMech, data, &m.h, func() (pkcs11.ObjectHandle, error) { return m.handle(op, ss) })
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// handle returns the MAC key's object handle valid in ss's epoch, finding
// the key again by CKA_ID after a recovery.
func (m *p11MAC) handle(op string, ss *p11Session) (pkcs11.ObjectHandle, error) {
	if c := m.h.Load(); c != nil && c.epoch == ss.epoch {
		return c.h, nil
	}
	h, _, err := m.s.findKeyObject(op, ss, pkcs11.CKO_SECRET_KEY, m.id)
	if err != nil {
		return 0, err
	}
	m.h.Store(&keyHandle{epoch: ss.epoch, h: h})
	return h, nil
}

// GenerateMAC creates a 256-bit CKK_GENERIC_SECRET token key: CKA_SENSITIVE,
// CKA_SIGN and CKA_VERIFY true; CKA_EXTRACTABLE, CKA_ENCRYPT, CKA_DECRYPT,
// CKA_WRAP, CKA_UNWRAP and CKA_DERIVE false.
func (s *PKCS11Store) GenerateMAC(ctx context.Context, id string) (MACKey, error) {
	const op = "hsm.PKCS11Store.GenerateMAC"
	if err := s.checkID(op, id); err != nil {
		return nil, err
	}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_GENERIC_SECRET),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, id),
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	m := &p11MAC{s: s, id: id}
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		if found, err := s.existsByID(ss, id, pkcs11.CKO_SECRET_KEY); err != nil {
			return err
		} else if found {
			return roamsign.E(roamsign.ErrConflict, op, "a MAC key with id %q exists", id)
		}
		h, err := s.mod.ctx.GenerateKey(ss.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_GENERIC_SECRET_KEY_GEN, nil)}, tmpl)
		if err != nil {
			return err
		}
		m.h.Store(&keyHandle{epoch: ss.epoch, h: h})
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	s.macs[id] = m
	s.keysMu.Unlock()
	return m, nil
}

// MACKey looks a MAC key up and checks its attributes.
func (s *PKCS11Store) MACKey(ctx context.Context, id string) (MACKey, error) {
	const op = "hsm.PKCS11Store.MACKey"
	if err := s.checkID(op, id); err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	m := s.macs[id]
	s.keysMu.Unlock()
	if m != nil {
		return m, nil
	}
	m = &p11MAC{s: s, id: id}
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		h, a, err := s.findKeyObject(op, ss, pkcs11.CKO_SECRET_KEY, id)
		if err != nil {
			return err
		}
		if a.keyType != pkcs11.CKK_GENERIC_SECRET {
			return roamsign.E(roamsign.ErrUnsupported, op, "secret key %q is not a generic secret", id)
		}
		m.h.Store(&keyHandle{epoch: ss.epoch, h: h})
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	if c := s.macs[id]; c != nil {
		m = c
	} else {
		s.macs[id] = m
	}
	s.keysMu.Unlock()
	return m, nil
}

// DeleteMAC destroys the MAC key.
func (s *PKCS11Store) DeleteMAC(ctx context.Context, id string) error {
	const op = "hsm.PKCS11Store.DeleteMAC"
	if err := s.checkID(op, id); err != nil {
		return err
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		return s.destroyByID(op, ss, id, "no MAC key with id %q", pkcs11.CKO_SECRET_KEY)
	})
	s.keysMu.Lock()
	if m := s.macs[id]; m != nil && err == nil {
		m.deleted.Store(true)
	}
	delete(s.macs, id)
	s.keysMu.Unlock()
	return err
}
