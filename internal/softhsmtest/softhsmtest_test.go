//go:build cgo

package softhsmtest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign/internal/softhsmtest"
)

func TestTokens(t *testing.T) {
	a := softhsmtest.New(t)
	if got := os.Getenv("SOFTHSM2_CONF"); got != a.ConfPath || strings.HasPrefix(a.TokenDir, "/var/lib/softhsm") {
		t.Fatalf("SOFTHSM2_CONF = %q, token dir %q", got, a.TokenDir)
	}
	p := softhsmtest.Module(t)
	s := a.Session(t, p)
	info, err := p.GetSessionInfo(s)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != pkcs11.CKS_RW_USER_FUNCTIONS {
		t.Fatalf("session state %d, want RW user", info.State)
	}

	// A token created after the module was initialised is visible too.
	b := softhsmtest.New(t)
	if a.Label == b.Label || a.PIN == b.PIN {
		t.Fatal("tokens share a label or PIN")
	}
	if got := b.Slot(t, p); got != b.SlotID {
		t.Fatalf("slot %d, softhsm2-util said %d", got, b.SlotID)
	}
	sb := b.Session(t, p)
	if err := p.Logout(sb); err != nil {
		t.Fatal(err)
	}
	if err := p.Login(sb, pkcs11.CKU_USER, a.PIN); !softhsmtest.IsRV(err, pkcs11.CKR_PIN_INCORRECT) {
		t.Fatalf("login to b with a's PIN: %v", err)
	}
	uri := a.URI()
	if !strings.HasPrefix(uri, "pkcs11:token="+a.Label+"?module-path="+a.ModulePath+"&pin-value=") {
		t.Fatalf("URI %q", uri)
	}
}

// Tokens deleted by cleanups and a finalise/re-initialise of the shared
// library must not disturb later tokens.
func TestDeleteAndReinitialise(t *testing.T) {
	p := softhsmtest.Module(t)
	for i := 0; i < 3; i++ {
		t.Run("", func(t *testing.T) {
			tok := softhsmtest.New(t)
			tok.Session(t, p)
		})
	}
	keep := softhsmtest.New(t)
	if err := p.Finalize(); err != nil {
		t.Fatal(err)
	}
	if err := p.Initialize(); err != nil {
		t.Fatal(err)
	}
	after := softhsmtest.New(t)
	after.Session(t, p)
	keep.Session(t, p)
}
