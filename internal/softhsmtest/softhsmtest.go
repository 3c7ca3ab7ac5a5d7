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
// other route, so that the module sees the right configuration. Use [Run]
// in TestMain to remove the directory when the tests end.
//
// # Requirements
//
// The Debian package softhsm2 (libsofthsm2.so and softhsm2-util). When either
// is missing the test fails with a message saying to run `make deps`; it is
// never skipped. The module path may be overridden with SOFTHSM2_MODULE.
//
// Tokens are created through PKCS#11, so the package needs cgo: Module,
// Session, Slot and IsRV exist only in cgo builds, and without cgo New fails
// the test. Guard test files that use them with //go:build cgo.
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

	removed atomic.Bool
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
	if err != nil {
		tb.Fatalf("softhsmtest: create token: %v", err)
	}
	t.SlotID = slot
	tb.Cleanup(func() {
		if err := t.remove(); err != nil {
			tb.Logf("softhsmtest: %v", err)
		}
	})
	return t
}

// Remove deletes the token's files now, as if the device were taken away:
// the module keeps the slot until it is re-initialised, but the token can
// no longer be found. It is idempotent.
func (t *Token) Remove(tb testing.TB) {
	tb.Helper()
	if err := t.remove(); err != nil {
		tb.Fatalf("softhsmtest: %v", err)
	}
}

func (t *Token) remove() error {
	if !t.removed.CompareAndSwap(false, true) {
		return nil
	}
	if out, err := t.util("--delete-token", "--token", t.Label); err != nil {
		return fmt.Errorf("delete token %s: %v: %s", t.Label, err, out)
	}
	return nil
}

// Dir returns the token's own directory inside the token directory (its
// label is stored in the directory's token.object). Renaming it away takes
// the token away from the module, also for root, which a chmod would not.
func (t *Token) Dir(tb testing.TB) string {
	tb.Helper()
	ents, err := os.ReadDir(t.TokenDir)
	if err != nil {
		tb.Fatalf("softhsmtest: %v", err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(t.TokenDir, e.Name(), "token.object"))
		if err == nil && strings.Contains(string(b), t.Label) {
			return filepath.Join(t.TokenDir, e.Name())
		}
	}
	tb.Fatalf("softhsmtest: no directory for token %q in %s", t.Label, t.TokenDir)
	return ""
}

// TakeAway moves the token's directory out of the token directory, as if
// the device were pulled out or its storage became unreadable (a rename
// takes it away for root too, which a chmod would not; it must leave the
// token directory, since SoftHSM2 reads every directory there when it is
// initialised). The returned function brings it back; the test's cleanup
// does so too if it was not called.
func (t *Token) TakeAway(tb testing.TB) (bringBack func()) {
	tb.Helper()
	dir := t.Dir(tb)
	away := filepath.Join(filepath.Dir(t.TokenDir), "away-"+filepath.Base(dir))
	if err := os.Rename(dir, away); err != nil {
		tb.Fatalf("softhsmtest: take the token away: %v", err)
	}
	var once sync.Once
	bringBack = func() {
		once.Do(func() {
			if err := os.Rename(away, dir); err != nil {
				tb.Errorf("softhsmtest: bring the token back: %v", err)
			}
		})
	}
	tb.Cleanup(bringBack)
	return bringBack
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

// Run runs the tests and then removes the process-wide configuration and
// token directory. Call it from TestMain so that no temporary files are
// left behind:
//
//	func TestMain(m *testing.M) { os.Exit(softhsmtest.Run(m)) }
func Run(m *testing.M) int {
	code := m.Run()
	if env.conf != "" {
		_ = os.RemoveAll(filepath.Dir(env.conf))
	}
	return code
}
