//go:build cgo

package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"io"
	"sort"
	"sync/atomic"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
)

// p11Key is a private key on the token.
type p11Key struct {
	s     *PKCS11Store
	id    string
	label string
	alg   roamsign.KeyAlgorithm
	pub   crypto.PublicKey
	mech  []*pkcs11.Mechanism // for PKCS#1 v1.5 and ECDSA
	h     atomic.Pointer[keyHandle]

	// deleted is set by Delete, so a Key value held by a caller never
	// signs with an object that may reuse its handle.
	deleted atomic.Bool
}

// keyHandle is a key's object handle as found on a session of one store
// epoch and module generation. Handles are numbers the library may hand
// out again to other objects once it is initialised again, so a handle is
// used only in the epoch and generation it was found in.
type keyHandle struct {
	epoch, gen uint64
	h          pkcs11.ObjectHandle
}

// handleIn records h as found on ss.
func handleIn(ss *p11Session, h pkcs11.ObjectHandle) *keyHandle {
	return &keyHandle{epoch: ss.epoch, gen: ss.gen, h: h}
}

// validIn reports whether c may be used on ss; c may be nil.
func (c *keyHandle) validIn(ss *p11Session) bool {
	return c != nil && c.epoch == ss.epoch && c.gen == ss.gen
}

func (k *p11Key) Public() crypto.PublicKey         { return k.pub }
func (k *p11Key) ID() string                       { return k.id }
func (k *p11Key) Label() string                    { return k.label }
func (k *p11Key) Algorithm() roamsign.KeyAlgorithm { return k.alg }

// Concurrency returns the session pool size.
func (k *p11Key) Concurrency() int { return k.s.size }

// Sign signs with context.Background(); see [Key].
func (k *p11Key) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), digest, opts)
}

// SignContext signs digest in the token. The wait for a session is bounded
// by ctx.
func (k *p11Key) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	const op = "hsm.Sign"
	m, err := checkSign(op, k.pub, digest, opts)
	if err != nil {
		return nil, err
	}
	if k.deleted.Load() {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "key %q was deleted", k.id)
	}
	mech, data := k.mech, digest
	if _, isRSA := k.pub.(*rsa.PublicKey); isRSA {
		if m.pss {
			mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_PSS,
				pkcs11.NewPSSParams(pssHashMech[m.hash], pssMGF[m.hash], uint(m.salt)))}
		} else {
			data = digestInfo(m.hash, digest)
		}
	}
	var sig []byte
	err = k.s.withSession(ctx, op, func(ss *p11Session) error {
		var err error
		sig, err = k.s.signOn(ss, mech, data, &k.h, func() (pkcs11.ObjectHandle, error) { return k.handle(op, ss) })
		return err
	})
	if err != nil {
		return nil, err
	}
	if k.s.lastKey.Load() != k {
		k.s.lastKey.Store(k)
	}
	if _, isEC := k.pub.(*ecdsa.PublicKey); isEC {
		return ecdsaDER(sig)
	}
	return sig, nil
}

var (
	pssHashMech = map[crypto.Hash]uint{crypto.SHA256: pkcs11.CKM_SHA256, crypto.SHA384: pkcs11.CKM_SHA384, crypto.SHA512: pkcs11.CKM_SHA512}
	pssMGF      = map[crypto.Hash]uint{crypto.SHA256: pkcs11.CKG_MGF1_SHA256, crypto.SHA384: pkcs11.CKG_MGF1_SHA384, crypto.SHA512: pkcs11.CKG_MGF1_SHA512}
)

// signOn signs data on ss with mech and the key handle that get returns.
// When the token reports that handle invalid (the object was re-created or
// the token renumbered it), the cached handle is dropped and the key is
// found again, once.
func (s *PKCS11Store) signOn(ss *p11Session, mech []*pkcs11.Mechanism, data []byte, cache *atomic.Pointer[keyHandle], get func() (pkcs11.ObjectHandle, error)) ([]byte, error) {
	p := s.mod.ctx
	h, err := get()
	if err != nil {
		return nil, err
	}
	err = p.SignInit(ss.h, mech, h)
	if isRV(err, pkcs11.CKR_KEY_HANDLE_INVALID) || isRV(err, pkcs11.CKR_OBJECT_HANDLE_INVALID) {
		cache.Store(nil)
		if h, err = get(); err != nil {
			return nil, err
		}
		err = p.SignInit(ss.h, mech, h)
	}
	if err != nil {
		return nil, err
	}
	return p.Sign(ss.h, data)
}

// handle returns the key's object handle valid on ss, finding the key
// again by CKA_ID (and re-checking its attributes) after a recovery.
func (k *p11Key) handle(op string, ss *p11Session) (pkcs11.ObjectHandle, error) {
	if c := k.h.Load(); c.validIn(ss) {
		return c.h, nil
	}
	return k.find(op, ss)
}

// find finds the key in the token by CKA_ID, checks that it is still the
// key callers hold, and caches its handle.
func (k *p11Key) find(op string, ss *p11Session) (pkcs11.ObjectHandle, error) {
	h, a, err := k.s.findPrivate(op, ss, k.id)
	if errors.Is(err, roamsign.ErrNotFound) && !k.deleted.Load() {
		// This store held the key and did not delete it: the token (or
		// the object) vanished under us, for example a token removed or a
		// token directory taken away. Report it as unavailable, so hosts
		// retry instead of concluding the user has no key; it still never
		// signs.
		return 0, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "the key is no longer visible in the token")
	}
	if err != nil {
		return 0, err
	}
	// The ID may now name another key (deleted and generated again):
	// never sign with a key whose public key is not the one callers hold.
	pub, err := k.s.readPublic(op, ss, k.id, a.keyType, h)
	if err != nil {
		return 0, err
	}
	if !samePublicKey(k.pub, pub) {
		return 0, roamsign.E(roamsign.ErrNotFound, op, "key %q was replaced by another key", k.id)
	}
	k.h.Store(handleIn(ss, h))
	return h, nil
}

// loadKey builds a key from the token: finds and checks the private key,
// reads the public key from its public key object (or, for RSA, from the
// private key's public attributes).
func (s *PKCS11Store) loadKey(op string, ss *p11Session, id string) (*p11Key, error) {
	h, a, err := s.findPrivate(op, ss, id)
	if err != nil {
		return nil, err
	}
	pub, err := s.readPublic(op, ss, id, a.keyType, h)
	if err != nil {
		return nil, err
	}
	alg := algorithmOf(pub)
	if alg == "" {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "key %q has an unsupported type or size", id)
	}
	k := &p11Key{s: s, id: id, label: a.label, alg: alg, pub: pub}
	if a.keyType == pkcs11.CKK_EC {
		k.mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}
	} else {
		k.mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS, nil)}
	}
	k.h.Store(handleIn(ss, h))
	return k, nil
}

// Key looks a key up by ID; keys are cached, so a later lookup does not
// touch the token.
func (s *PKCS11Store) Key(ctx context.Context, id string) (Key, error) {
	const op = "hsm.PKCS11Store.Key"
	if err := s.checkID(op, id); err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	k := s.keys[id]
	s.keysMu.Unlock()
	if k != nil {
		return k, nil
	}
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		var err error
		k, err = s.loadKey(op, ss, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	if c := s.keys[id]; c != nil {
		k = c
	} else {
		s.keys[id] = k
	}
	s.keysMu.Unlock()
	return k, nil
}

// URIKey returns the key the store's URI names by id or object (label).
func (s *PKCS11Store) URIKey(ctx context.Context) (Key, error) {
	const op = "hsm.PKCS11Store.URIKey"
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	if len(s.uri.ID) > 0 {
		k, err := s.Key(ctx, string(s.uri.ID))
		if err != nil {
			return nil, err
		}
		if s.uri.Object != "" && k.Label() != s.uri.Object {
			return nil, roamsign.E(roamsign.ErrInvalidInput, op, "the URI's object and id name different keys")
		}
		return k, nil
	}
	if s.uri.Object == "" {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "the URI names no key (id or object)")
	}
	keys, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var match []KeyInfo
	for _, ki := range keys {
		if ki.Label == s.uri.Object {
			match = append(match, ki)
		}
	}
	switch len(match) {
	case 0:
		return nil, roamsign.E(roamsign.ErrNotFound, op, "no key with the URI's object label")
	case 1:
		return s.Key(ctx, match[0].ID)
	}
	return nil, roamsign.E(roamsign.ErrConflict, op, "%d keys share the URI's object label; give id", len(match))
}

// Generate creates a key pair in the token: CKA_TOKEN, CKA_PRIVATE,
// CKA_SENSITIVE and CKA_SIGN true; CKA_EXTRACTABLE, CKA_DECRYPT,
// CKA_UNWRAP and CKA_DERIVE false.
func (s *PKCS11Store) Generate(ctx context.Context, req GenerateRequest) (Key, error) {
	const op = "hsm.PKCS11Store.Generate"
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	req, err := req.normalise(op, randRead)
	if err != nil {
		return nil, err
	}
	id := []byte(req.ID)
	pubT := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, req.Label),
	}
	privT := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, req.Label),
	}
	var mech []*pkcs11.Mechanism
	if bits := rsaBits(req.Algorithm); bits > 0 {
		mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}
		pubT = append(pubT,
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA),
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, bits),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}))
		privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_RSA))
	} else {
		params, err := asn1.Marshal(curveOID(curveOf(req.Algorithm)))
		if err != nil {
			return nil, roamsign.Wrap(roamsign.ErrInternal, op, err, "encoding curve")
		}
		mech = []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)}
		pubT = append(pubT,
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params))
		privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC))
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	var k *p11Key
	err = s.withSession(ctx, op, func(ss *p11Session) error {
		if found, err := s.existsByID(ss, req.ID, pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY); err != nil {
			return err
		} else if found {
			return roamsign.E(roamsign.ErrConflict, op, "a key with id %q exists", req.ID)
		}
		if _, _, err := s.mod.ctx.GenerateKeyPair(ss.h, mech, pubT, privT); err != nil {
			return err
		}
		k, err = s.loadKey(op, ss, req.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	s.keys[req.ID] = k
	s.keysMu.Unlock()
	s.log.Info("key generated", "id", req.ID, "algorithm", string(req.Algorithm))
	return k, nil
}

// List describes the token's private keys whose CKA_ID is a valid key ID
// (see [GenerateRequest]); keys with other IDs are not listed.
func (s *PKCS11Store) List(ctx context.Context) ([]KeyInfo, error) {
	const op = "hsm.PKCS11Store.List"
	if err := s.checkOpen(op); err != nil {
		return nil, err
	}
	var out []KeyInfo
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		out = out[:0]
		hs, err := s.findObjects(ss, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)}, 100000)
		if err != nil {
			return err
		}
		for _, h := range hs {
			attrs, err := s.mod.ctx.GetAttributeValue(ss.h, h, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
				pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil),
			})
			if err != nil {
				return err
			}
			id := string(attrs[0].Value)
			if validID(op, id) != nil {
				continue
			}
			ki := KeyInfo{ID: id, Label: string(attrs[1].Value)}
			pub, err := s.readPublic(op, ss, id, attrUint(attrs[2].Value), h)
			if err == nil {
				ki.Algorithm = algorithmOf(pub)
			} else if _, ok := err.(pkcs11.Error); ok {
				return err
			}
			out = append(out, ki)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Delete destroys the key pair and every certificate with its CKA_ID (MAC
// keys with the same ID are left alone).
func (s *PKCS11Store) Delete(ctx context.Context, id string) error {
	const op = "hsm.PKCS11Store.Delete"
	if err := s.checkID(op, id); err != nil {
		return err
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	err := s.withSession(ctx, op, func(ss *p11Session) error {
		return s.destroyByID(op, ss, id, "no key with id %q",
			pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY, pkcs11.CKO_CERTIFICATE)
	})
	s.keysMu.Lock()
	if k := s.keys[id]; k != nil && err == nil {
		k.deleted.Store(true)
		s.lastKey.CompareAndSwap(k, nil)
	}
	delete(s.keys, id)
	s.keysMu.Unlock()
	return err
}

func randRead(b []byte) error {
	_, err := rand.Read(b)
	return err
}
