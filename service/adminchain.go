package service

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// ImportChain stores the chain the CA issued for the user's key (leaf
// first, DER). It is a gate of named steps, each of which refuses with
// ErrInvalidInput and changes nothing:
//
//   - keyMatch: the leaf certifies the user's key in the key store;
//   - namesUser: the leaf's subject carries the user id (SERIALNUMBER or
//     SURNAME, as [roamsign.RoamingSubject] writes it);
//   - chainsToAnchors: with [Config.UserAnchors], the chain verifies to one
//     of them at the service's current time (the stored chain is then the
//     verified path, leaf to anchor); without, each certificate is signed
//     by the next.
//
// Every import and every refusal of a user that exists is recorded in the
// audit log, with the administrator when the context names one.
func (s *Service) ImportChain(ctx context.Context, req roamsign.ImportChainRequest) (err error) {
	const op = "service.ImportChain"
	defer s.observe("import_chain", time.Now(), &err)
	if !req.User.Valid() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "user id must be a 12-digit MyKad number")
	}
	chain, err := parseChain(op, req.Chain)
	if err != nil {
		return err
	}
	u, err := s.store.GetUser(ctx, req.User)
	if err != nil {
		return wrapStore(op, err)
	}
	now := s.now().UTC()
	rec := roamsign.AuditRecord{Time: now, User: req.User, CertSerial: serialHex(chain[0])}
	ders, err := s.checkChain(ctx, op, u, chain, now)
	if err != nil {
		s.audit(ctx, rec, roamsign.AuditChainImport, kindOr(err, roamsign.ErrInternal).Code(), adminDetail(ctx, errMsg(err)))
		return err
	}
	err = s.store.UpdateUser(ctx, req.User, func(u *roamsign.UserRecord) error {
		u.Chain, u.UpdatedAt = ders, now
		return nil
	})
	if err != nil {
		return wrapStore(op, err)
	}
	s.audit(ctx, rec, roamsign.AuditChainImport, "ok", adminDetail(ctx, "issuer="+truncate(chain[0].Issuer.String(), 128)))
	s.log.InfoContext(ctx, "chain imported", "user", req.User.Masked(), "serial", rec.CertSerial)
	return nil
}

// checkChain runs ImportChain's steps and returns the chain to store.
func (s *Service) checkChain(ctx context.Context, op string, u *roamsign.UserRecord, chain []*x509.Certificate, now time.Time) ([][]byte, error) {
	if err := s.keyMatch(ctx, op, u, chain[0]); err != nil {
		return nil, err
	}
	if !subjectHasID(chain[0].Subject, u.ID) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "leaf certificate subject does not carry the user id")
	}
	path, err := s.chainsToAnchors(op, chain, now)
	if err != nil {
		return nil, err
	}
	ders := make([][]byte, len(path))
	for i, c := range path {
		ders[i] = c.Raw
	}
	return ders, nil
}

// keyMatch checks that leaf certifies the user's key.
func (s *Service) keyMatch(ctx context.Context, op string, u *roamsign.UserRecord, leaf *x509.Certificate) error {
	if u.KeyRef == "" {
		return roamsign.E(roamsign.ErrConflict, op, "user has no key")
	}
	key, err := s.keys.Signer(ctx, u.KeyRef)
	if err != nil {
		return roamsign.Wrap(kindOr(err, roamsign.ErrUnavailable), op, err, "user key unavailable")
	}
	if !samePublicKey(key.Public(), leaf.PublicKey) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "leaf certificate does not certify the user's key")
	}
	return nil
}

// chainsToAnchors returns the path from the leaf to one of the configured
// user anchors, or, with none configured, chain itself once each
// certificate is found signed by the next.
func (s *Service) chainsToAnchors(op string, chain []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	if len(s.cfg.UserAnchors) == 0 {
		for i := 0; i+1 < len(chain); i++ {
			if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
				return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "chain is not in order leaf first")
			}
		}
		return chain, nil
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, a := range s.cfg.UserAnchors {
		roots.AddCert(a)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	paths, err := chain[0].Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "certificate chain does not verify to the configured user CAs")
	}
	return paths[0], nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

func subjectHasID(n pkix.Name, id roamsign.UserID) bool {
	for _, a := range n.Names {
		if a.Type.Equal(oidSerialNumber) || a.Type.Equal(oidSurname) {
			if v, ok := a.Value.(string); ok && v == string(id) {
				return true
			}
		}
	}
	return false
}

// adminDetail prefixes an audit record's detail with the administrator
// the context names ("by=NAME"; the admin transport puts the
// authenticated administrator where the API transport puts the host, see
// roamsign.WithHost).
func adminDetail(ctx context.Context, detail string) string {
	h, ok := roamsign.HostFromContext(ctx)
	if !ok {
		return detail
	}
	by := "by=" + truncate(string(h), 128)
	if detail == "" {
		return by
	}
	return by + " " + detail
}

// errMsg returns the message of the outermost roamsign error in err,
// without operation names; it never holds a secret.
func errMsg(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if re, ok := e.(*roamsign.Error); ok && re.Msg != "" {
			return strings.TrimSpace(re.Msg)
		}
	}
	return roamsign.KindOf(err).Code()
}

// deviceTag is the audit log's form of a push device id: the first 12 hex
// digits of its SHA-256.
func deviceTag(id string) string {
	d := sha256.Sum256([]byte(id))
	return hex.EncodeToString(d[:6])
}
