//go:build cgo

package hsm

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
)

// p11Module is one loaded PKCS#11 library. A library is initialised once
// per process (C_Initialize) and its state is shared by every handle that
// loads it, so stores that use the same module share one entry of
// modules, counted by reference.
//
// calls orders every use of the library by the stores of this package. An
// operation on a pooled session holds it shared; opening, closing and
// logging in sessions, C_Initialize and C_Finalize hold it exclusively.
// Two things follow. The library is never initialised or finalised under
// another call (SoftHSM2, for one, crashes then). And a session handle the
// library hands out again after a fault (handles are small numbers, reused
// once their session is gone) is never used by two goroutines at once: a
// new session is registered in sessions, and a stale holder of the same
// number is marked closed before anyone can use the new one.
type p11Module struct {
	path  string
	ctx   *pkcs11.Ctx
	refs  int
	owned bool // this package initialised the library and finalises it

	calls sync.RWMutex
	// gen counts the library's initialisations by this package after the
	// first; a session opened in an earlier generation is gone.
	gen atomic.Uint64
	// sessions maps every session handle opened by a store of this package
	// and not closed since to its holder. Written with calls held
	// exclusively.
	sessions map[pkcs11.SessionHandle]*p11Session
	// The back-off of re-initialisations after a lost token, under calls
	// held exclusively.
	nextReset time.Time
	resetWait time.Duration
}

var modules = struct {
	sync.Mutex
	m map[string]*p11Module
}{m: map[string]*p11Module{}}

// acquireModule returns the module at path, loading and initialising the
// library on first use. fresh reports that this call loaded it and
// initialised it itself: no one else in the process uses it yet.
func acquireModule(op, path string) (m *p11Module, fresh bool, err error) {
	modules.Lock()
	defer modules.Unlock()
	if m := modules.m[path]; m != nil {
		m.refs++
		return m, false, nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, false, roamsign.E(roamsign.ErrInvalidInput, op, "PKCS#11 module-path does not name a readable file")
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, false, roamsign.E(roamsign.ErrUnavailable, op, "cannot load the PKCS#11 module")
	}
	m = &p11Module{path: path, ctx: ctx, refs: 1, owned: true, sessions: map[pkcs11.SessionHandle]*p11Session{}, resetWait: minResetWait}
	if err := ctx.Initialize(); err != nil {
		if !isRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			ctx.Destroy()
			return nil, false, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "C_Initialize failed")
		}
		m.owned = false // someone else in the process initialised it
	}
	modules.m[path] = m
	return m, m.owned, nil
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
		m.calls.Lock()
		if e := m.ctx.Finalize(); e != nil && !isRV(e, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED) {
			err = e
		}
		m.calls.Unlock()
	}
	m.ctx.Destroy()
	return err
}

// reinit calls C_Initialize again after the library was finalised, unless
// it was initialised again since generation seen. calls is held
// exclusively.
func (m *p11Module) reinit(seen uint64) error {
	if m.gen.Load() != seen {
		return nil
	}
	if err := m.ctx.Initialize(); err != nil && !isRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		return err
	}
	m.newGeneration()
	return nil
}

// Re-initialisation after a lost token waits minResetWait after a failed
// attempt, doubling up to maxResetWait while the token stays lost.
const (
	minResetWait = 100 * time.Millisecond
	maxResetWait = 5 * time.Second
)

// errResetDeferred is returned while the back-off defers a
// re-initialisation.
var errResetDeferred = errors.New("the token is lost and the PKCS#11 module was re-initialised moments ago; retrying later")

// reset finalises and initialises the library again, so that it reads its
// tokens afresh (a module keeps a token that went away, and its objects,
// in a failed state until then), unless it was initialised again since
// generation seen. Attempts are spaced by the back-off; a deferred one
// returns errResetDeferred. Every session of every store on the module is
// gone afterwards; the stores find their tokens and keys again. calls is
// held exclusively.
func (m *p11Module) reset(seen uint64, now time.Time) error {
	if m.gen.Load() != seen {
		return nil
	}
	if now.Before(m.nextReset) {
		return errResetDeferred
	}
	m.nextReset = now.Add(m.resetWait)
	m.resetWait = min(2*m.resetWait, maxResetWait)
	return m.restart()
}

// restart finalises and initialises the library. calls is held
// exclusively.
func (m *p11Module) restart() error {
	if err := m.ctx.Finalize(); err != nil && !isRV(err, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED) {
		return err
	}
	err := m.ctx.Initialize()
	m.newGeneration()
	return err
}

// found ends the back-off once a token is found after a re-initialisation.
// calls is held exclusively.
func (m *p11Module) found() {
	m.nextReset, m.resetWait = time.Time{}, minResetWait
}

// newGeneration forgets every session: the library was initialised again.
func (m *p11Module) newGeneration() {
	m.gen.Add(1)
	clear(m.sessions)
}

// adopt records that ss now holds the new session h. A stale holder of the
// same handle (its session was closed behind its back) is marked closed.
// calls is held exclusively.
func (m *p11Module) adopt(ss *p11Session, h pkcs11.SessionHandle) {
	if old := m.sessions[h]; old != nil && old != ss {
		old.open = false
	}
	m.sessions[h] = ss
	ss.h, ss.gen, ss.open, ss.broken = h, m.gen.Load(), true, false
}

// closeSession closes ss's session if it is still ss's: not from an earlier
// generation, and not handed out again to another holder. calls is held
// exclusively.
func (m *p11Module) closeSession(ss *p11Session) error {
	if !ss.open {
		return nil
	}
	ss.open = false
	if ss.gen != m.gen.Load() || m.sessions[ss.h] != ss {
		return nil
	}
	delete(m.sessions, ss.h)
	return m.ctx.CloseSession(ss.h)
}
