//go:build cgo

package softhsmtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"
)

var (
	initMu  sync.Mutex
	initCtx *pkcs11.Ctx // process-wide handle used to create tokens
)

func (t *Token) create() (uint, error) {
	initMu.Lock()
	defer initMu.Unlock()
	if initCtx == nil {
		p := pkcs11.New(env.module)
		if p == nil {
			return 0, fmt.Errorf("cannot load %s; run `make deps`", env.module)
		}
		initCtx = p
	}
	p := initCtx
	if err := p.Initialize(); err != nil && !IsRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		return 0, fmt.Errorf("C_Initialize: %w", err)
	}
	slots, err := p.GetSlotList(false)
	if err != nil {
		return 0, fmt.Errorf("C_GetSlotList: %w", err)
	}
	free, found := uint(0), false
	for _, s := range slots {
		ti, err := p.GetTokenInfo(s)
		if err != nil {
			continue // a token deleted by an earlier cleanup
		}
		if ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			free, found = s, true
			break
		}
	}
	if !found {
		return 0, fmt.Errorf("no free SoftHSM2 slot among %d", len(slots))
	}
	if err := p.InitToken(free, t.SOPIN, t.Label); err != nil {
		return 0, fmt.Errorf("C_InitToken: %w", err)
	}
	sh, err := p.OpenSession(free, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return 0, fmt.Errorf("C_OpenSession: %w", err)
	}
	defer func() { _ = p.CloseSession(sh) }()
	if err := p.Login(sh, pkcs11.CKU_SO, t.SOPIN); err != nil {
		return 0, fmt.Errorf("C_Login(SO): %w", err)
	}
	if err := p.InitPIN(sh, t.PIN); err != nil {
		return 0, fmt.Errorf("C_InitPIN: %w", err)
	}
	if err := p.Logout(sh); err != nil {
		return 0, fmt.Errorf("C_Logout: %w", err)
	}
	return free, nil
}

// Module loads the SoftHSM2 module in a new *pkcs11.Ctx and initialises it,
// tolerating CKR_CRYPTOKI_ALREADY_INITIALIZED (the library is shared by every
// handle in the process). It is for raw baselines and fault injection. The
// handle is unloaded at cleanup without C_Finalize, so other users of the
// module are not disturbed.
func Module(tb testing.TB) *pkcs11.Ctx {
	tb.Helper()
	path := Setup(tb)
	p := pkcs11.New(path)
	if p == nil {
		tb.Fatalf("softhsmtest: cannot load %s; run `make deps`", path)
	}
	if err := p.Initialize(); err != nil && !IsRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		p.Destroy()
		tb.Fatalf("softhsmtest: C_Initialize: %v", err)
	}
	tb.Cleanup(p.Destroy)
	return p
}

// Session opens a read-write session on the token through p and logs in as
// the user. The session is closed at cleanup (errors ignored: a fault test
// may already have closed it).
func (t *Token) Session(tb testing.TB, p *pkcs11.Ctx) pkcs11.SessionHandle {
	tb.Helper()
	slot := t.Slot(tb, p)
	s, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		tb.Fatalf("softhsmtest: C_OpenSession: %v", err)
	}
	if err := p.Login(s, pkcs11.CKU_USER, t.PIN); err != nil && !IsRV(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		_ = p.CloseSession(s)
		tb.Fatalf("softhsmtest: C_Login: %v", err)
	}
	tb.Cleanup(func() { _ = p.CloseSession(s) })
	return s
}

// Slot finds the token's slot through p by label.
func (t *Token) Slot(tb testing.TB, p *pkcs11.Ctx) uint {
	tb.Helper()
	slots, err := p.GetSlotList(true)
	if err != nil {
		tb.Fatalf("softhsmtest: C_GetSlotList: %v", err)
	}
	for _, s := range slots {
		ti, err := p.GetTokenInfo(s)
		if err != nil {
			continue
		}
		if strings.TrimRight(ti.Label, " \x00") == t.Label {
			return s
		}
	}
	tb.Fatalf("softhsmtest: token %q not found in %d slots", t.Label, len(slots))
	return 0
}

// IsRV reports whether err is the PKCS#11 return value rv.
func IsRV(err error, rv uint) bool {
	e, ok := err.(pkcs11.Error)
	return ok && uint(e) == rv
}
