//go:build cgo

package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"math/big"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
)

// privAttrs are the private key attributes read and checked on lookup.
type privAttrs struct {
	keyType uint
	label   string
}

// findObjects returns the handles of objects matching tmpl (at most max).
func (s *PKCS11Store) findObjects(ss *p11Session, tmpl []*pkcs11.Attribute, max int) ([]pkcs11.ObjectHandle, error) {
	p := s.mod.ctx
	if err := p.FindObjectsInit(ss.h, tmpl); err != nil {
		return nil, err
	}
	var out []pkcs11.ObjectHandle
	var ferr error
	for len(out) < max {
		hs, _, err := p.FindObjects(ss.h, min(64, max-len(out)))
		if err != nil {
			ferr = err
			break
		}
		if len(hs) == 0 {
			break
		}
		out = append(out, hs...)
	}
	if err := p.FindObjectsFinal(ss.h); err != nil && ferr == nil {
		ferr = err
	}
	return out, ferr
}

// findByID returns the handles of objects of class with CKA_ID id (at most
// max).
func (s *PKCS11Store) findByID(ss *p11Session, class uint, id string, max int) ([]pkcs11.ObjectHandle, error) {
	return s.findObjects(ss, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
		pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
	}, max)
}

// existsByID reports whether an object of any of classes has CKA_ID id.
func (s *PKCS11Store) existsByID(ss *p11Session, id string, classes ...uint) (bool, error) {
	for _, class := range classes {
		hs, err := s.findByID(ss, class, id, 1)
		if err != nil || len(hs) > 0 {
			return len(hs) > 0, err
		}
	}
	return false, nil
}

// destroyByID destroys every object with CKA_ID id whose class is first or
// one of rest. It returns roamsign.ErrNotFound with missing (formatted with
// id) and destroys nothing when no object of class first exists.
func (s *PKCS11Store) destroyByID(op string, ss *p11Session, id, missing string, first uint, rest ...uint) error {
	all, err := s.findByID(ss, first, id, 16)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return roamsign.E(roamsign.ErrNotFound, op, missing, id)
	}
	for _, class := range rest {
		hs, err := s.findByID(ss, class, id, 1000)
		if err != nil {
			return err
		}
		all = append(all, hs...)
	}
	for _, h := range all {
		if err := s.mod.ctx.DestroyObject(ss.h, h); err != nil {
			return err
		}
	}
	return nil
}

// findPrivate finds the private key with CKA_ID id and checks that it may
// be used: CKA_SIGN, CKA_SENSITIVE, !CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE
// and CKA_NEVER_EXTRACTABLE.
func (s *PKCS11Store) findPrivate(op string, ss *p11Session, id string) (pkcs11.ObjectHandle, privAttrs, error) {
	return s.findKeyObject(op, ss, pkcs11.CKO_PRIVATE_KEY, id)
}

// findKeyObject finds the key of class (private or secret) with CKA_ID id
// and checks its attributes as findPrivate describes.
func (s *PKCS11Store) findKeyObject(op string, ss *p11Session, class uint, id string) (pkcs11.ObjectHandle, privAttrs, error) {
	hs, err := s.findByID(ss, class, id, 2)
	if err != nil {
		return 0, privAttrs{}, err
	}
	switch len(hs) {
	case 0:
		// A session that lost its login sees no private objects: report
		// the lost login (a fault) rather than a missing key.
		if si, err := s.mod.ctx.GetSessionInfo(ss.h); err != nil {
			return 0, privAttrs{}, err
		} else if si.State == pkcs11.CKS_RO_PUBLIC_SESSION || si.State == pkcs11.CKS_RW_PUBLIC_SESSION {
			return 0, privAttrs{}, pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN)
		}
		// A token that went away (SoftHSM2 when its directory is taken
		// away) shows no objects either: report it lost (a fault), so that
		// the module is initialised again and the key found again.
		if !s.tokenPresent() {
			return 0, privAttrs{}, roamsign.Wrap(roamsign.ErrUnavailable, op, pkcs11.Error(pkcs11.CKR_TOKEN_NOT_PRESENT), "the token no longer answers on its slot")
		}
		return 0, privAttrs{}, roamsign.E(roamsign.ErrNotFound, op, "no key with id %q", id)
	case 1:
	default:
		return 0, privAttrs{}, roamsign.E(roamsign.ErrConflict, op, "several keys with id %q", id)
	}
	attrs, err := s.mod.ctx.GetAttributeValue(ss.h, hs[0], []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, nil),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_ALWAYS_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_NEVER_EXTRACTABLE, nil),
	})
	if err != nil {
		return 0, privAttrs{}, err
	}
	a := privAttrs{keyType: attrUint(attrs[0].Value), label: string(attrs[1].Value)}
	sign, sens, extr, always, never := attrBool(attrs[2].Value), attrBool(attrs[3].Value), attrBool(attrs[4].Value), attrBool(attrs[5].Value), attrBool(attrs[6].Value)
	if !sens || extr || !always || !never {
		return 0, a, roamsign.E(roamsign.ErrForbidden, op,
			"key %q is not sensitive and non-extractable since generation (ALWAYS_SENSITIVE=%t NEVER_EXTRACTABLE=%t SENSITIVE=%t EXTRACTABLE=%t); refusing to use it",
			id, always, never, sens, extr)
	}
	if !sign {
		return 0, a, roamsign.E(roamsign.ErrForbidden, op, "key %q may not sign (CKA_SIGN false)", id)
	}
	return hs[0], a, nil
}

func attrBool(v []byte) bool { return len(v) == 1 && v[0] != 0 }

func attrUint(v []byte) uint {
	var n uint
	switch len(v) {
	case 4, 8:
		// CK_ULONG in host byte order (little-endian on supported hosts).
		for i := len(v) - 1; i >= 0; i-- {
			n = n<<8 | uint(v[i])
		}
	}
	return n
}

func (s *PKCS11Store) readPublic(op string, ss *p11Session, id string, keyType uint, priv pkcs11.ObjectHandle) (crypto.PublicKey, error) {
	p := s.mod.ctx
	hs, err := s.findObjects(ss, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
	}, 1)
	if err != nil {
		return nil, err
	}
	switch keyType {
	case pkcs11.CKK_RSA:
		obj := priv
		if len(hs) == 1 {
			obj = hs[0]
		}
		attrs, err := p.GetAttributeValue(ss.h, obj, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS, nil),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, nil),
		})
		if err != nil {
			return nil, err
		}
		e := new(big.Int).SetBytes(attrs[1].Value)
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return nil, roamsign.E(roamsign.ErrUnsupported, op, "key %q has an unsupported RSA exponent", id)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(attrs[0].Value), E: int(e.Int64())}, nil
	case pkcs11.CKK_EC:
		if len(hs) == 0 {
			return nil, roamsign.E(roamsign.ErrNotFound, op, "no public key object for EC key %q", id)
		}
		attrs, err := p.GetAttributeValue(ss.h, hs[0], []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil),
			pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil),
		})
		if err != nil {
			return nil, err
		}
		return parseECPublic(op, attrs[0].Value, attrs[1].Value)
	}
	return nil, roamsign.E(roamsign.ErrUnsupported, op, "key %q has an unsupported key type %#x", id, keyType)
}

var (
	oidP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521 = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

func curveOID(c elliptic.Curve) asn1.ObjectIdentifier {
	switch c {
	case elliptic.P256():
		return oidP256
	case elliptic.P384():
		return oidP384
	case elliptic.P521():
		return oidP521
	}
	return nil
}

func parseECPublic(op string, params, point []byte) (crypto.PublicKey, error) {
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(params, &oid); err != nil || len(rest) != 0 {
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "EC parameters are not a named curve")
	}
	var curve elliptic.Curve
	switch {
	case oid.Equal(oidP256):
		curve = elliptic.P256()
	case oid.Equal(oidP384):
		curve = elliptic.P384()
	case oid.Equal(oidP521):
		curve = elliptic.P521()
	default:
		return nil, roamsign.E(roamsign.ErrUnsupported, op, "unsupported curve %v", oid)
	}
	// CKA_EC_POINT is a DER OCTET STRING holding the point; some tokens
	// return the bare point.
	var raw []byte
	if rest, err := asn1.Unmarshal(point, &raw); err != nil || len(rest) != 0 {
		raw = point
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, raw)
	if err != nil {
		return nil, roamsign.E(roamsign.ErrInternal, op, "the token returned an invalid EC point")
	}
	return pub, nil
}

// tokenPresent reports whether the token the store logged in to still
// answers on its slot with the label and serial found at open. A failed
// C_GetTokenInfo is asked again twice, 10 and 20 ms later: SoftHSM2 fails
// it for a moment while another process rewrites the token's file (on a
// login, for one), whereas a token that went away keeps failing. The
// module's calls are held.
func (s *PKCS11Store) tokenPresent() bool {
	for wait := 10 * time.Millisecond; ; wait *= 2 {
		ti, err := s.mod.ctx.GetTokenInfo(s.slot)
		if err == nil {
			return trimPad(ti.Label) == s.tokLabel && trimPad(ti.SerialNumber) == s.tokSerial
		}
		if wait > 20*time.Millisecond {
			return false
		}
		time.Sleep(wait)
	}
}
