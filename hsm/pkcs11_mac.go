//go:build cgo

package hsm

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
)

var (
	_ MACKeyStore = (*PKCS11Store)(nil)
	_ MACKey      = (*p11MAC)(nil)
)

// p11MAC is a CKK_GENERIC_SECRET key used with CKM_SHA256_HMAC.
type p11MAC struct {
	s       *PKCS11Store
	id      string
	h       atomic.Pointer[keyHandle]
	deleted atomic.Bool
}

var hmacMech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_SHA256_HMAC, nil)}

func (m *p11MAC) ID() string { return m.id }

// MAC computes HMAC-SHA256 in the token.
func (m *p11MAC) MAC(ctx context.Context, data []byte) ([]byte, error) {
	const op = "hsm.MAC"
	if err := checkMACInput(op, data); err != nil {
		return nil, err
	}
	if m.deleted.Load() {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "MAC key %q was deleted", m.id)
	}
	var out []byte
	err := m.s.withSession(ctx, op, func(ss *p11Session) error {
		var err error
		out, err = m.s.signOn(ss, hmacMech, data, &m.h, func() (pkcs11.ObjectHandle, error) { return m.handle(op, ss) })
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// handle returns the MAC key's object handle valid on ss, finding
// the key again by CKA_ID after a recovery.
func (m *p11MAC) handle(op string, ss *p11Session) (pkcs11.ObjectHandle, error) {
	if c := m.h.Load(); c.validIn(ss) {
		return c.h, nil
	}
	return m.find(op, ss)
}

// find finds the MAC key in the token by CKA_ID, checks its attributes and
// caches its handle.
func (m *p11MAC) find(op string, ss *p11Session) (pkcs11.ObjectHandle, error) {
	h, _, err := m.s.findKeyObject(op, ss, pkcs11.CKO_SECRET_KEY, m.id)
	if errors.Is(err, roamsign.ErrNotFound) && !m.deleted.Load() {
		// This store held the key and did not delete it: as for signing
		// keys (see p11Key.handle), unavailable, never a MAC by another
		// key.
		return 0, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "the MAC key is no longer visible in the token")
	}
	if err != nil {
		return 0, err
	}
	m.h.Store(handleIn(ss, h))
	return h, nil
}

// GenerateMAC creates a 256-bit CKK_GENERIC_SECRET token key: CKA_SENSITIVE,
// CKA_SIGN and CKA_VERIFY true; CKA_EXTRACTABLE, CKA_ENCRYPT, CKA_DECRYPT,
// CKA_WRAP, CKA_UNWRAP and CKA_DERIVE false.
func (s *PKCS11Store) GenerateMAC(ctx context.Context, id string) (MACKey, error) {
	const op = "hsm.PKCS11Store.GenerateMAC"
	if err := s.checkID(op, id); err != nil {
		return nil, err
	}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_GENERIC_SECRET),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, id),
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	m := &p11MAC{s: s, id: id}
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		if found, err := s.existsByID(ss, id, pkcs11.CKO_SECRET_KEY); err != nil {
			return err
		} else if found {
			return roamsign.E(roamsign.ErrConflict, op, "a MAC key with id %q exists", id)
		}
		h, err := s.mod.ctx.GenerateKey(ss.h, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_GENERIC_SECRET_KEY_GEN, nil)}, tmpl)
		if err != nil {
			return err
		}
		m.h.Store(handleIn(ss, h))
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	s.macs[id] = m
	s.keysMu.Unlock()
	return m, nil
}

// MACKey looks a MAC key up and checks its attributes.
func (s *PKCS11Store) MACKey(ctx context.Context, id string) (MACKey, error) {
	const op = "hsm.PKCS11Store.MACKey"
	if err := s.checkID(op, id); err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	m := s.macs[id]
	s.keysMu.Unlock()
	if m != nil {
		return m, nil
	}
	m = &p11MAC{s: s, id: id}
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		h, a, err := s.findKeyObject(op, ss, pkcs11.CKO_SECRET_KEY, id)
		if err != nil {
			return err
		}
		if a.keyType != pkcs11.CKK_GENERIC_SECRET {
			return roamsign.E(roamsign.ErrUnsupported, op, "secret key %q is not a generic secret", id)
		}
		m.h.Store(handleIn(ss, h))
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	if c := s.macs[id]; c != nil {
		m = c
	} else {
		s.macs[id] = m
	}
	s.keysMu.Unlock()
	return m, nil
}

// DeleteMAC destroys the MAC key.
func (s *PKCS11Store) DeleteMAC(ctx context.Context, id string) error {
	const op = "hsm.PKCS11Store.DeleteMAC"
	if err := s.checkID(op, id); err != nil {
		return err
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		return s.destroyByID(op, ss, id, "no MAC key with id %q", pkcs11.CKO_SECRET_KEY)
	})
	s.keysMu.Lock()
	if m := s.macs[id]; m != nil && err == nil {
		m.deleted.Store(true)
	}
	delete(s.macs, id)
	s.keysMu.Unlock()
	return err
}

// destroyAdvice says how to destroy duplicate MAC keys with id in this
// store's token, for ProvisionMACKeys' repair advice.
func (s *PKCS11Store) destroyAdvice(id string) string {
	return fmt.Sprintf("run pkcs11-tool --module %s --token-label %q --login --delete-object --type secrkey --id %x (it destroys one key each time) until one remains", s.uri.ModulePath, s.tokLabel, id)
}
