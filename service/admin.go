package service

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roamsign/roamsign"
)

// OIDs of the name attributes that carry the user id in the roaming
// subject ([roamsign.RoamingSubject]).
var (
	oidSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
)

// Enrol creates a user for the named hosts, generates the key in the key
// store and returns a CSR in the roaming subject form. Enrolling an existing
// user adds the hosts and media, updates the e-mail and returns a CSR for
// the existing key.
func (s *Service) Enrol(ctx context.Context, req roamsign.EnrolRequest) (resp *roamsign.EnrolResponse, err error) {
	const op = "service.Enrol"
	defer s.observe("enrol", time.Now(), &err)
	if err := checkEnrol(op, &req); err != nil {
		return nil, err
	}
	if req.Algorithm == "" {
		req.Algorithm = s.cfg.DefaultAlgorithm
	}
	now := s.now().UTC()
	var key crypto.Signer
	existing, err := s.store.GetUser(ctx, req.User)
	switch {
	case err == nil:
		err = s.store.UpdateUser(ctx, req.User, func(u *roamsign.UserRecord) error {
			u.Name = req.Name
			u.Hosts = mergeHosts(u.Hosts, req.Hosts)
			u.Media = mergeMedia(u.Media, req.Media)
			if req.Email != "" {
				u.Email = req.Email
			}
			u.UpdatedAt = now
			return nil
		})
		if err != nil {
			return nil, wrapStore(op, err)
		}
		if existing.KeyRef == "" {
			return nil, roamsign.E(roamsign.ErrConflict, op, "user exists without a key")
		}
		key, err = s.keys.Signer(ctx, existing.KeyRef)
		if err != nil {
			return nil, roamsign.Wrap(kindOr(err, roamsign.ErrUnavailable), op, err, "user key unavailable")
		}
		resp = &roamsign.EnrolResponse{User: req.User, KeyID: existing.KeyRef}
	case errors.Is(err, roamsign.ErrNotFound):
		ref, k, gerr := s.keys.GenerateKey(ctx, req.Algorithm, "roamsign:"+string(req.User))
		if gerr != nil {
			return nil, roamsign.Wrap(kindOr(gerr, roamsign.ErrUnavailable), op, gerr, "key generation failed")
		}
		key = k
		u := &roamsign.UserRecord{
			ID: req.User, Name: req.Name, Hosts: mergeHosts(nil, req.Hosts), Media: mergeMedia(nil, req.Media),
			Email: req.Email, KeyRef: ref, CreatedAt: now, UpdatedAt: now,
		}
		if err := s.store.CreateUser(ctx, u); err != nil {
			return nil, wrapStore(op, err)
		}
		resp = &roamsign.EnrolResponse{User: req.User, KeyID: ref}
	default:
		return nil, wrapStore(op, err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: roamsign.RoamingSubject(req.Name, req.User)}, key)
	if err != nil {
		return nil, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "building the CSR with the user's key failed")
	}
	resp.CSR = csr
	s.audit(ctx, roamsign.AuditRecord{Time: now, User: req.User}, roamsign.AuditEnrolled, "ok", adminDetail(ctx, "hosts="+joinHosts(req.Hosts)))
	s.log.InfoContext(ctx, "user enrolled", "user", req.User.Masked(), "key", resp.KeyID)
	return resp, nil
}

func checkEnrol(op string, req *roamsign.EnrolRequest) error {
	if !req.User.Valid() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "user id must be a 12-digit MyKad number")
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > 64 || !utf8.ValidString(req.Name) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "name must be 1 to 64 bytes of UTF-8")
	}
	if len(req.Hosts) == 0 || len(req.Hosts) > 64 {
		return roamsign.E(roamsign.ErrInvalidInput, op, "name 1 to 64 host systems")
	}
	for _, h := range req.Hosts {
		if !validID(string(h)) {
			return roamsign.E(roamsign.ErrInvalidInput, op, "malformed host id")
		}
	}
	for _, m := range req.Media {
		if !m.Valid() {
			return roamsign.E(roamsign.ErrInvalidInput, op, "unknown medium %q", truncate(string(m), 16))
		}
	}
	if len(req.Email) > 254 || (req.Email != "" && !strings.Contains(req.Email, "@")) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "malformed e-mail address")
	}
	if req.Algorithm != "" && !req.Algorithm.Valid() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "unknown key algorithm %q", truncate(string(req.Algorithm), 16))
	}
	return nil
}

func mergeHosts(a, b []roamsign.HostID) []roamsign.HostID {
	out := append([]roamsign.HostID(nil), a...)
	for _, h := range b {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func mergeMedia(a, b []roamsign.MediumKind) []roamsign.MediumKind {
	out := append([]roamsign.MediumKind(nil), a...)
	if len(a) == 0 && len(b) == 0 {
		return []roamsign.MediumKind{roamsign.MediumRoamingOTP}
	}
next:
	for _, m := range b {
		for _, x := range out {
			if x == m {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func joinHosts(hs []roamsign.HostID) string {
	ss := make([]string, len(hs))
	for i, h := range hs {
		ss[i] = string(h)
	}
	return strings.Join(ss, ",")
}

// SetPIN sets the first PIN, or changes it given the old one. A wrong old
// PIN counts as a PIN failure.
func (s *Service) SetPIN(ctx context.Context, req roamsign.SetPINRequest) (err error) {
	const op = "service.SetPIN"
	defer s.observe("set_pin", time.Now(), &err)
	if !req.User.Valid() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "user id must be a 12-digit MyKad number")
	}
	if len(req.Old) > maxSecretLen || len(req.New) > maxSecretLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "PIN too long")
	}
	if err := CheckPINRules(req.User, req.New.Reveal()); err != nil {
		return err
	}
	u, err := s.store.GetUser(ctx, req.User)
	if err != nil {
		return wrapStore(op, err)
	}
	if u.Locked {
		return roamsign.E(roamsign.ErrLocked, op, "PIN locked; an administrator must reset it")
	}
	if len(u.PINVerifier) > 0 {
		if req.Old.Empty() {
			return roamsign.E(roamsign.ErrInvalidInput, op, "the current PIN is required to change it")
		}
		ok, err := s.verifyPIN(ctx, u.PINVerifier, req.Old.Reveal())
		if err != nil {
			return err
		}
		if !ok {
			_, locked, ferr := s.store.AddPINFailure(ctx, u.ID, s.cfg.MaxPINFailures, s.now())
			if ferr != nil {
				return wrapStore(op, ferr)
			}
			if locked {
				s.audit(ctx, roamsign.AuditRecord{Time: s.now().UTC(), User: u.ID}, roamsign.AuditLocked, roamsign.ErrLocked.Code(), "change PIN")
				return roamsign.E(roamsign.ErrLocked, op, "PIN locked; an administrator must reset it")
			}
			return roamsign.E(roamsign.ErrAuthorization, op, "current PIN does not match")
		}
	}
	v, err := s.makeVerifier(ctx, req.New.Reveal())
	if err != nil {
		return err
	}
	old := u.PINVerifier
	now := s.now().UTC()
	err = s.store.UpdateUser(ctx, req.User, func(u *roamsign.UserRecord) error {
		if u.Locked {
			return roamsign.E(roamsign.ErrLocked, op, "PIN locked; an administrator must reset it")
		}
		if string(u.PINVerifier) != string(old) {
			return roamsign.E(roamsign.ErrConflict, op, "PIN changed concurrently")
		}
		u.PINVerifier, u.PINFailures, u.UpdatedAt = v, 0, now
		return nil
	})
	if err != nil {
		return wrapStore(op, err)
	}
	s.audit(ctx, roamsign.AuditRecord{Time: now, User: req.User}, roamsign.AuditPINSet, "ok", adminDetail(ctx, ""))
	return nil
}

// ResetPIN is the administrator's reset: it clears the lock and the PIN
// failure count and sets a new PIN. OTP back-offs are cleared apart, by
// [Service.ClearOTPBackoff].
func (s *Service) ResetPIN(ctx context.Context, req roamsign.ResetPINRequest) (err error) {
	const op = "service.ResetPIN"
	defer s.observe("reset_pin", time.Now(), &err)
	if !req.User.Valid() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "user id must be a 12-digit MyKad number")
	}
	if len(req.New) > maxSecretLen {
		return roamsign.E(roamsign.ErrInvalidInput, op, "PIN too long")
	}
	if err := CheckPINRules(req.User, req.New.Reveal()); err != nil {
		return err
	}
	v, err := s.makeVerifier(ctx, req.New.Reveal())
	if err != nil {
		return err
	}
	now := s.now().UTC()
	err = s.store.UpdateUser(ctx, req.User, func(u *roamsign.UserRecord) error {
		u.PINVerifier, u.PINFailures = v, 0
		u.Locked, u.LockedAt, u.UpdatedAt = false, time.Time{}, now
		return nil
	})
	if err != nil {
		return wrapStore(op, err)
	}
	s.audit(ctx, roamsign.AuditRecord{Time: now, User: req.User}, roamsign.AuditPINReset, "ok", adminDetail(ctx, ""))
	s.log.InfoContext(ctx, "PIN reset", "user", req.User.Masked())
	return nil
}

// ClearOTPBackoff is the administrator's clearing of a user's OTP failure
// counts, and so of any wait they imposed, for one host or every host. It
// leaves the PIN, its failure count and its lock alone. Every cleared
// count is recorded in the audit log (one record per host; one record
// without a host when there was nothing to clear).
func (s *Service) ClearOTPBackoff(ctx context.Context, req roamsign.ClearOTPBackoffRequest) (err error) {
	const op = "service.ClearOTPBackoff"
	defer s.observe("clear_otp_backoff", time.Now(), &err)
	if !req.User.Valid() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "user id must be a 12-digit MyKad number")
	}
	if req.Host != "" && !validID(string(req.Host)) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "malformed host id")
	}
	if _, err := s.store.GetUser(ctx, req.User); err != nil {
		return wrapStore(op, err)
	}
	cleared, err := s.store.ResetOTPFailures(ctx, req.User, req.Host)
	if err != nil {
		return wrapStore(op, err)
	}
	now := s.now().UTC()
	for _, c := range cleared {
		s.audit(ctx, roamsign.AuditRecord{Time: now, User: req.User, Host: c.Host}, roamsign.AuditOTPCleared, "ok",
			adminDetail(ctx, fmt.Sprintf("failures=%d", c.Failures)))
	}
	if len(cleared) == 0 {
		s.audit(ctx, roamsign.AuditRecord{Time: now, User: req.User, Host: req.Host}, roamsign.AuditOTPCleared, "ok", adminDetail(ctx, "failures=0"))
	}
	s.log.InfoContext(ctx, "OTP back-off cleared", "user", req.User.Masked(), "host", string(req.Host), "hosts", len(cleared))
	return nil
}

// RegisterDevice adds a push device for OTP delivery. Registering a
// device the user already has changes nothing and records nothing; a new
// one is recorded in the audit log by a digest prefix of its id (the id is
// a push address, not a secret, but the log need not spread it).
func (s *Service) RegisterDevice(ctx context.Context, req roamsign.RegisterDeviceRequest) (err error) {
	const op = "service.RegisterDevice"
	defer s.observe("register_device", time.Now(), &err)
	if !req.User.Valid() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "user id must be a 12-digit MyKad number")
	}
	if !validDeviceID(req.DeviceID) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "device id must be 1 to 256 bytes")
	}
	now := s.now().UTC()
	added := false
	err = s.store.UpdateUser(ctx, req.User, func(u *roamsign.UserRecord) error {
		added = false
		for _, d := range u.Devices {
			if d == req.DeviceID {
				return nil
			}
		}
		if len(u.Devices) >= maxDevices {
			return roamsign.E(roamsign.ErrTooLarge, op, "at most %d devices per user", maxDevices)
		}
		u.Devices = append(u.Devices, req.DeviceID)
		u.UpdatedAt, added = now, true
		return nil
	})
	if err != nil {
		return wrapStore(op, err)
	}
	if added {
		s.audit(ctx, roamsign.AuditRecord{Time: now, User: req.User}, roamsign.AuditDeviceAdded, "ok", adminDetail(ctx, "device="+deviceTag(req.DeviceID)))
	}
	return nil
}

// maxDevices is the number of push devices a user may have.
const maxDevices = 16

// validDeviceID reports whether id may name a push device: 1 to 256 bytes
// of UTF-8.
func validDeviceID(id string) bool {
	return len(id) > 0 && len(id) <= 256 && utf8.ValidString(id)
}

// Disable revokes the user's roaming signing; Sign and RequestOTP refuse
// from then on.
func (s *Service) Disable(ctx context.Context, req roamsign.DisableRequest) (err error) {
	const op = "service.Disable"
	defer s.observe("disable", time.Now(), &err)
	if !req.User.Valid() {
		return roamsign.E(roamsign.ErrInvalidInput, op, "user id must be a 12-digit MyKad number")
	}
	if len(req.Reason) > 256 || !utf8.ValidString(req.Reason) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "reason must be at most 256 bytes of UTF-8")
	}
	now := s.now().UTC()
	err = s.store.UpdateUser(ctx, req.User, func(u *roamsign.UserRecord) error {
		u.Disabled, u.UpdatedAt = true, now
		return nil
	})
	if err != nil {
		return wrapStore(op, err)
	}
	s.audit(ctx, roamsign.AuditRecord{Time: now, User: req.User}, roamsign.AuditDisabled, "ok", adminDetail(ctx, req.Reason))
	s.log.InfoContext(ctx, "user disabled", "user", req.User.Masked())
	return nil
}
