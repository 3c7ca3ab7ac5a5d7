package hsm

import (
	"context"
	"errors"

	"github.com/roamsign/roamsign"
)

// KeyChecker is implemented by both key stores. CheckKeys finds again, in
// the store itself rather than in a cache, every MAC key named by macIDs
// and the signing key that signed most recently (when one did), and
// returns an error of kind roamsign.ErrUnavailable when one of them is
// missing or the store cannot be reached. A PKCS#11 store that finds its
// token lost re-initialises the module on the way (see "Fault recovery" in
// the package documentation), so probing it also drives its recovery.
type KeyChecker interface {
	CheckKeys(ctx context.Context, macIDs ...string) error
}

var (
	_ KeyChecker = (*PKCS11Store)(nil)
	_ KeyChecker = (*SoftwareStore)(nil)
)

// ReadinessCheck returns a readiness probe for ks, for example for
// transport/httpapi's ops handler: nil while the keys a service needs are
// there, an error while they are not. macIDs name the MAC keys the service
// uses (an OTP MAC key, a PIN pepper). The probe calls CheckKeys
// ([KeyChecker]); for another KeyStore it looks each MAC key up.
func ReadinessCheck(ks KeyStore, macIDs ...string) func(context.Context) error {
	return func(ctx context.Context) error {
		if kc, ok := ks.(KeyChecker); ok {
			return kc.CheckKeys(ctx, macIDs...)
		}
		ms, ok := ks.(MACKeyStore)
		if !ok && len(macIDs) > 0 {
			return roamsign.E(roamsign.ErrUnsupported, "hsm.ReadinessCheck", "the key store holds no MAC keys")
		}
		for _, id := range macIDs {
			if _, err := ms.MACKey(ctx, id); err != nil {
				return missing("hsm.ReadinessCheck", "MAC key", id, err)
			}
		}
		return nil
	}
}

// missing reports a key that a readiness check did not find as
// roamsign.ErrUnavailable; other errors pass unchanged.
func missing(op, what, id string, err error) error {
	if errors.Is(err, roamsign.ErrNotFound) {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, what+" "+id+" is missing")
	}
	return err
}

// CheckKeys reads the files of the MAC keys named by macIDs and of the
// signing key that signed most recently; see [KeyChecker].
func (s *SoftwareStore) CheckKeys(ctx context.Context, macIDs ...string) error {
	const op = "hsm.SoftwareStore.CheckKeys"
	if err := s.checkOpen(op); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return roamsign.Wrap(roamsign.ErrUnavailable, op, err, "context done")
	}
	for _, id := range macIDs {
		if err := validID(op, id); err != nil {
			return err
		}
		var mf macFile
		if err := s.readKeyFileAs(op, id, macSuffix, "MAC key", &mf); err != nil {
			return missing(op, "MAC key", id, err)
		}
	}
	if k := s.lastKey.Load(); k != nil {
		var kf keyFile
		if err := s.readKeyFileAs(op, k.id, keySuffix, "key", &kf); err != nil {
			return missing(op, "signing key", k.id, err)
		}
	}
	return nil
}
