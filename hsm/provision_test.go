//go:build cgo

package hsm_test

import (
	"context"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/internal/softhsmtest"
	"github.com/roamsign/roamsign/store/memory"
)

// Eight stores on one fresh token provision the same two MAC keys at once
// under one lock: one key of each exists, and all eight MAC alike. (Eight
// processes on a database are in examples/signserver.)
func TestProvisionMACKeysTogether(t *testing.T) {
	ctx := context.Background()
	tok := softhsmtest.New(t)
	lock := memory.New(memory.Options{})
	const n = 8
	macs := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		ks := openPKCS11(t, tok, 1)
		wg.Go(func() {
			keys, err := hsm.ProvisionMACKeys(ctx, ks, lock, "otp-mac", "pin-pepper")
			if err == nil {
				macs[i], err = keys[1].MAC(ctx, []byte("pepper check"))
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "store %d", i)
		assert.Equal(t, macs[0], macs[i], "store %d uses another pepper", i)
	}
	p := softhsmtest.Module(t)
	s := tok.Session(t, p)
	for _, id := range []string{"otp-mac", "pin-pepper"} {
		assert.Len(t, findRaw(t, p, s, pkcs11.CKO_SECRET_KEY, id, 10), 1, "MAC keys with id %s", id)
	}
}

// A token that already holds two MAC keys with one ID (made before
// provisioning was locked) is refused with advice on the repair, which
// names the module, the token and the ID, never the PIN.
func TestProvisionMACKeysDuplicates(t *testing.T) {
	ctx := context.Background()
	tok := softhsmtest.New(t)
	ks := openPKCS11(t, tok, 1)
	p := softhsmtest.Module(t)
	s := tok.Session(t, p)
	for range 2 {
		_, err := p.GenerateKey(s, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_GENERIC_SECRET_KEY_GEN, nil)}, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_GENERIC_SECRET),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
			pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
			pkcs11.NewAttribute(pkcs11.CKA_ID, []byte("otp-mac")),
		})
		require.NoError(t, err)
	}
	_, err := hsm.ProvisionMACKeys(ctx, ks, memory.New(memory.Options{}), "otp-mac")
	require.ErrorIs(t, err, roamsign.ErrConflict)
	for _, want := range []string{"pkcs11-tool", "--delete-object", "--type secrkey", hex.EncodeToString([]byte("otp-mac")), tok.ModulePath, tok.Label, "stop every replica"} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), tok.PIN)

	_, err = hsm.ProvisionMACKeys(ctx, ks, nil, "otp-mac")
	require.ErrorIs(t, err, roamsign.ErrInvalidInput, "no lock")
}
