//go:build cgo

// Package softhsmtest creates throwaway SoftHSM2 tokens for tests.
//
// # Overview
//
// SoftHSM2 reads the file named by SOFTHSM2_CONF once, when the module is
// initialised (C_Initialize), and the environment is process-wide. The
// package therefore keeps ONE configuration file and ONE token directory per
// test process, both in a fresh temporary directory (never the system token
// directory), and points SOFTHSM2_CONF at it before any module is loaded.
// Each call to [New] then initialises one new token with a unique label and
// random PINs in that directory.
//
// Call [New] (or [Setup]) before the test loads the SoftHSM module by any
// other route, so that the module sees the right configuration.
//
// # Requirements
//
// The Debian package softhsm2 (libsofthsm2.so and softhsm2-util). When either
// is missing the test fails with a message saying to run `make deps`; it is
// never skipped. The module path may be overridden with SOFTHSM2_MODULE.
//
// The package is for tests only.
package softhsmtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/pkcs11"
)

// Token is one initialised SoftHSM2 token.
type Token struct {
	ModulePath string // absolute path of libsofthsm2.so
	Label      string // token label, unique in the process
	PIN        string // user PIN
	SOPIN      string // security officer PIN
	SlotID     uint   // slot at creation; SoftHSM2 renumbers slots when re-initialised, see [Token.Slot]
	ConfPath   string // the process-wide SOFTHSM2_CONF file
	TokenDir   string // the process-wide token directory
}

// modulePaths are the places Debian and upstream builds put the module.
var modulePaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
}

var (
	setupOnce sync.Once
	setupErr  error
	env       struct {
		module, util, conf, tokens string
	}
	seq atomic.Uint64
)

func setup() {
	module := os.Getenv("SOFTHSM2_MODULE")
	if module == "" {
		for _, p := range modulePaths {
			if _, err := os.Stat(p); err == nil {
				module = p
				break
			}
		}
	}
	if module == "" {
		setupErr = fmt.Errorf("libsofthsm2.so not found (looked in %s); run `make deps` (Debian package softhsm2)", strings.Join(modulePaths, ", "))
		return
	}
	if _, err := os.Stat(module); err != nil {
		setupErr = fmt.Errorf("SoftHSM2 module %s: %v; run `make deps` (Debian package softhsm2)", module, err)
		return
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		setupErr = fmt.Errorf("softhsm2-util not found in PATH; run `make deps` (Debian package softhsm2)")
		return
	}
	dir, err := os.MkdirTemp("", "roamsign-softhsm-")
	if err != nil {
		setupErr = fmt.Errorf("softhsmtest: temp dir: %v", err)
		return
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		setupErr = fmt.Errorf("softhsmtest: token dir: %v", err)
		return
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := "directories.tokendir = " + tokens + "\n" +
		"objectstore.backend = file\n" +
		"log.level = ERROR\n" +
		"slots.removable = false\n" +
		"slots.mechanisms = ALL\n" +
		"library.reset_on_fork = false\n"
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		setupErr = fmt.Errorf("softhsmtest: write config: %v", err)
		return
	}
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		setupErr = fmt.Errorf("softhsmtest: set SOFTHSM2_CONF: %v", err)
		return
	}
	env.module, env.util, env.conf, env.tokens = module, util, conf, tokens
}

// Setup prepares the process-wide configuration (once) and returns the
// module path. It fails the test when SoftHSM2 is not installed.
func Setup(tb testing.TB) string {
	tb.Helper()
	setupOnce.Do(setup)
	if setupErr != nil {
		tb.Fatalf("softhsmtest: %v", setupErr)
	}
	return env.module
}

var (
	initMu  sync.Mutex
	initCtx *pkcs11.Ctx // process-wide handle used to create tokens
)

// New initialises a new token with a unique label and random PINs.
//
// The token is created in-process with C_InitToken and C_InitPIN on the
// module's free slot, because a SoftHSM2 module that is already initialised
// does not see tokens created by another process (softhsm2-util) until it is
// re-initialised. The token's files are deleted at cleanup; close every
// session on it (or the store using it) in a cleanup registered after New.
// Until the module is re-initialised, the slot of a deleted token stays in
// the slot list and C_GetTokenInfo on it fails (CKR_GENERAL_ERROR): code that
// scans slots must skip slots it cannot read.
func New(tb testing.TB) *Token {
	tb.Helper()
	Setup(tb)
	t := &Token{
		ModulePath: env.module,
		Label:      fmt.Sprintf("rs-%d-%s", seq.Add(1), randHex(4)),
		PIN:        randHex(8),
		SOPIN:      randHex(8),
		ConfPath:   env.conf,
		TokenDir:   env.tokens,
	}
	slot, err := t.create()
	if err != nil && IsRV(err, pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED) {
		// Another handle finalised the shared library; initialise again.
		slot, err = t.create()
	}
	if err != nil {
		tb.Fatalf("softhsmtest: create token: %v", err)
	}
	t.SlotID = slot
	tb.Cleanup(func() {
		if out, err := t.util("--delete-token", "--token", t.Label); err != nil {
			tb.Logf("softhsmtest: delete token %s: %v: %s", t.Label, err, out)
		}
	})
	return t
}

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

func (t *Token) util(args ...string) (string, error) {
	cmd := exec.Command(env.util, args...)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+env.conf)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// URI returns an RFC 7512 PKCS#11 URI naming the token, with the module path
// and the user PIN as query attributes.
func (t *Token) URI() string {
	return "pkcs11:token=" + pathEscape(t.Label) +
		"?module-path=" + queryEscape(t.ModulePath) +
		"&pin-value=" + queryEscape(t.PIN)
}

// URINoPIN returns the token URI with the module path but without a PIN.
func (t *Token) URINoPIN() string {
	return "pkcs11:token=" + pathEscape(t.Label) + "?module-path=" + queryEscape(t.ModulePath)
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

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// pathEscape escapes a value for the path part of a PKCS#11 URI (RFC 7512
// pk11-pchar: unreserved characters and a few sub-delimiters stay).
func pathEscape(s string) string { return escape(s, "-._~:[]@!$'()*+,=&") }

// queryEscape escapes a value for the query part of a PKCS#11 URI (RFC 7512
// pk11-qchar: '/' and '?' may stay, '&' and '=' may not).
func queryEscape(s string) string { return escape(s, "-._~:[]@!$'()*+,/?|") }

func escape(s, keep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}
