//go:build cgo

package hsm

import (
	"context"

	"github.com/miekg/pkcs11"
)

// CheckKeys finds, on a session of the pool, every MAC key named by macIDs
// and the signing key that signed most recently (by CKA_ID, checking its
// attributes and public key); see [KeyChecker]. A lost token makes the
// store re-initialise the module, with back-off.
func (s *PKCS11Store) CheckKeys(ctx context.Context, macIDs ...string) error {
	const op = "hsm.PKCS11Store.CheckKeys"
	if err := s.checkOpen(op); err != nil {
		return err
	}
	for _, id := range macIDs {
		if err := validID(op, id); err != nil {
			return err
		}
	}
	last := s.lastKey.Load()
	return s.withSession(ctx, op, func(ss *p11Session) error {
		for _, id := range macIDs {
			if _, _, err := s.findKeyObject(op, ss, pkcs11.CKO_SECRET_KEY, id); err != nil {
				return missing(op, "MAC key", id, err)
			}
		}
		if last != nil {
			if _, err := last.find(op, ss); err != nil {
				return missing(op, "signing key", last.id, err)
			}
		}
		return nil
	})
}
