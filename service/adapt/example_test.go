package adapt_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/hsm"
	"github.com/roamsign/roamsign/otp"
	"github.com/roamsign/roamsign/otp/otptest"
	"github.com/roamsign/roamsign/service"
	"github.com/roamsign/roamsign/service/adapt"
	"github.com/roamsign/roamsign/store/memory"
)

// Example assembles the service from the real parts: a key store from
// package hsm (here the software store; hsm.OpenPKCS11 in production), the
// OTP manager of package otp with its delivery policy, a store backend, and
// the raw and CMS output forms.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "roamsign-example")
	defer os.RemoveAll(dir)

	keys, err := hsm.OpenSoftware(ctx, hsm.SoftwareConfig{Dir: dir, Passphrase: "example passphrase",
		KDF: hsm.KDFParams{Time: 1, MemoryKiB: 8 * 1024, Threads: 1}})
	if err != nil {
		panic(err)
	}
	defer keys.Close()
	st := memory.New(memory.Options{})
	macKey := make([]byte, 32)
	_, _ = rand.Read(macKey)
	k, _ := otp.NewHMACKey(macKey)
	mgr, err := otp.New(otp.Config{Store: st, Key: k, Delivery: &otp.Delivery{Email: &otptest.Capture{Ch: roamsign.ChannelEmail}}})
	if err != nil {
		panic(err)
	}
	svc, err := service.New(service.Config{}, service.Deps{
		Store: st, Keys: adapt.Keys(keys), Challenges: adapt.OTP(mgr),
		Forms: map[roamsign.OutputForm]service.FormSigner{roamsign.FormRaw: adapt.Raw{}, roamsign.FormCMS: adapt.CMS{}},
	})
	if err != nil {
		panic(err)
	}
	var api roamsign.API = svc
	var admin roamsign.Admin = svc
	fmt.Println(api != nil, admin != nil)
	// Output: true true
}
