//go:build cgo

package hsm

import (
	"context"
	"crypto/x509"
	"encoding/asn1"

	"github.com/miekg/pkcs11"

	"github.com/roamsign/roamsign"
)

// ImportChain stores the chain as CKO_CERTIFICATE objects (CKC_X_509,
// public token objects) with the key's CKA_ID and CKA_LABEL, replacing the
// certificates stored before. New certificates are written before old ones
// are destroyed, so a failure never leaves the key without a chain.
func (s *PKCS11Store) ImportChain(ctx context.Context, id string, chain []*x509.Certificate) error {
	const op = "hsm.PKCS11Store.ImportChain"
	k, err := s.Key(ctx, id)
	if err != nil {
		return err
	}
	if err := checkChain(op, k.Public(), chain); err != nil {
		return err
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	p := s.mod.ctx
	return s.withSession(ctx, op, func(ss *p11Session) error {
		old, err := s.findByID(ss, pkcs11.CKO_CERTIFICATE, id, 1000)
		if err != nil {
			return err
		}
		var made []pkcs11.ObjectHandle
		for _, c := range chain {
			serial, err := asn1.Marshal(c.SerialNumber)
			if err != nil {
				return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "certificate serial number")
			}
			h, err := p.CreateObject(ss.h, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
				pkcs11.NewAttribute(pkcs11.CKA_CERTIFICATE_TYPE, pkcs11.CKC_X_509),
				pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
				pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
				pkcs11.NewAttribute(pkcs11.CKA_ID, []byte(id)),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, k.Label()),
				pkcs11.NewAttribute(pkcs11.CKA_SUBJECT, c.RawSubject),
				pkcs11.NewAttribute(pkcs11.CKA_ISSUER, c.RawIssuer),
				pkcs11.NewAttribute(pkcs11.CKA_SERIAL_NUMBER, serial),
				pkcs11.NewAttribute(pkcs11.CKA_VALUE, c.Raw),
			})
			if err != nil {
				for _, m := range made {
					_ = p.DestroyObject(ss.h, m)
				}
				return err
			}
			made = append(made, h)
		}
		for _, h := range old {
			if err := p.DestroyObject(ss.h, h); err != nil {
				return err
			}
		}
		return nil
	})
}

// Chain reads the certificates with the key's CKA_ID, leaf first.
func (s *PKCS11Store) Chain(ctx context.Context, id string) ([]*x509.Certificate, error) {
	const op = "hsm.PKCS11Store.Chain"
	k, err := s.Key(ctx, id)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	err = s.withSession(ctx, op, func(ss *p11Session) error {
		certs = certs[:0]
		hs, err := s.findByID(ss, pkcs11.CKO_CERTIFICATE, id, maxChainLen*4)
		if err != nil {
			return err
		}
		for _, h := range hs {
			attrs, err := s.mod.ctx.GetAttributeValue(ss.h, h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
			if err != nil {
				return err
			}
			c, err := x509.ParseCertificate(attrs[0].Value)
			if err != nil {
				return roamsign.Wrap(roamsign.ErrInternal, op, err, "a stored certificate does not parse")
			}
			certs = append(certs, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return orderChain(k.Public(), certs), nil
}
