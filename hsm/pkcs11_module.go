//go:build cgo

package hsm

import (
	"os"
	"sync"
	"sync/atomic"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
)

// p11Module is one loaded PKCS#11 library. A library is initialised once
// per process (C_Initialize) and its state is shared by every handle that
// loads it, so stores that use the same module share one entry of
// modules, counted by reference.
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
