package service

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"time"

	"github.com/roamsign/roamsign"
)

// Medium reports the user's signing media and the one to use with the
// calling host.
func (s *Service) Medium(ctx context.Context, req roamsign.MediumRequest) (resp *roamsign.MediumResponse, err error) {
	const op = "service.Medium"
	defer s.observe("medium", time.Now(), &err)
	host, err := hostOf(ctx, op)
	if err != nil {
		return nil, err
	}
	if !req.User.Valid() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "user id must be a 12-digit MyKad number")
	}
	u, err := s.userForHost(ctx, op, req.User, host)
	if errors.Is(err, roamsign.ErrNotFound) && s.dir != nil {
		d, derr := s.dir.Lookup(ctx, req.User, host)
		if derr != nil {
			if errors.Is(derr, roamsign.ErrNotFound) {
				return nil, err
			}
			return nil, roamsign.Wrap(kindOr(derr, roamsign.ErrUnavailable), op, derr, "directory lookup failed")
		}
		// Directory users hold no server-side medium here.
		out := &roamsign.MediumResponse{User: req.User, Certificate: d.Certificate}
		for _, m := range d.Media {
			if !m.ServerSide() {
				out.Media = append(out.Media, m)
			}
		}
		if len(out.Media) == 0 {
			return nil, err
		}
		out.Use = out.Media[0]
		for _, m := range out.Media {
			if m == d.Use {
				out.Use = m
			}
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	resp = &roamsign.MediumResponse{User: u.ID, Media: append([]roamsign.MediumKind(nil), u.Media...)}
	resp.Use = pickMedium(u)
	if len(u.Chain) > 0 {
		if c, perr := x509.ParseCertificate(u.Chain[0]); perr == nil {
			resp.Certificate = &roamsign.CertificateSummary{
				Subject:      roamsign.FormatDN(c.RawSubject),
				Issuer:       roamsign.FormatDN(c.RawIssuer),
				SerialNumber: serialHex(c),
				NotBefore:    c.NotBefore.UTC(),
				NotAfter:     c.NotAfter.UTC(),
			}
			resp.Chain = cloneChain(u.Chain)
		}
	}
	return resp, nil
}

// pickMedium prefers roaming+OTP when it is usable, then the first
// client-side medium.
func pickMedium(u *roamsign.UserRecord) roamsign.MediumKind {
	usable := !u.Disabled && u.KeyRef != "" && len(u.Chain) > 0
	for _, m := range u.Media {
		if m == roamsign.MediumRoamingOTP && usable {
			return m
		}
	}
	for _, m := range u.Media {
		if !m.ServerSide() {
			return m
		}
	}
	// No usable medium: roaming is disabled or not yet certified.
	return ""
}

// RequestOTP creates a challenge over the hashes and delivers the OTP.
func (s *Service) RequestOTP(ctx context.Context, req roamsign.OTPRequest) (resp *roamsign.OTPResponse, err error) {
	const op = "service.RequestOTP"
	defer s.observe("request_otp", time.Now(), &err)
	if err := roamsign.ValidateHashes(req.Hashes, s.cfg.MaxHashes); err != nil {
		return nil, err
	}
	return s.requestOTP(ctx, op, req, false)
}

// requestOTP checks and issues a challenge over req.Hashes, or a
// late-bound one.
func (s *Service) requestOTP(ctx context.Context, op string, req roamsign.OTPRequest, late bool) (*roamsign.OTPResponse, error) {
	host, err := hostOf(ctx, op)
	if err != nil {
		return nil, err
	}
	if !req.User.Valid() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "user id must be a 12-digit MyKad number")
	}
	if err := s.checkDataHeader(op, req.DataHeader); err != nil {
		return nil, err
	}
	if req.Channel != "" && !req.Channel.Valid() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "unknown channel %q", truncate(string(req.Channel), 16))
	}
	u, err := s.userForHost(ctx, op, req.User, host)
	if err != nil {
		return nil, err
	}
	if err := usable(op, u); err != nil {
		return nil, err
	}
	hashes := req.Hashes
	if late {
		hashes = []roamsign.Hash{lateBindingHash(u.ID)}
	}
	resp, err := s.chal.Issue(ctx, ChallengeSpec{User: u, Host: host, Hashes: hashes, DataHeader: req.DataHeader, Channel: req.Channel, HashesLater: late})
	if err != nil {
		s.log.With(reqAttrs(ctx, host, "")...).WarnContext(ctx, "otp request failed", "user", u.ID.Masked(), "kind", roamsign.KindOf(err).Code())
		return nil, roamsign.Wrap(kindOr(err, roamsign.ErrUnavailable), op, err, "")
	}
	s.log.With(reqAttrs(ctx, host, "")...).InfoContext(ctx, "otp requested", "user", u.ID.Masked(), "challenge", resp.ChallengeID,
		"hashes", len(req.Hashes), "late_bound", late, "channel", string(resp.Channel))
	return resp, nil
}

func (s *Service) checkDataHeader(op, h string) error {
	if len(h) > s.cfg.MaxDataHeader {
		return roamsign.E(roamsign.ErrTooLarge, op, "data header of %d bytes exceeds %d", len(h), s.cfg.MaxDataHeader)
	}
	return roamsign.CheckDataHeader(h)
}

// usable reports whether a user can sign at all: not disabled, not locked,
// a roaming key with a certificate, a PIN set.
func usable(op string, u *roamsign.UserRecord) error {
	switch {
	case u.Disabled:
		return roamsign.E(roamsign.ErrForbidden, op, "roaming signing is disabled for this user")
	case u.Locked:
		return roamsign.E(roamsign.ErrLocked, op, msgLocked)
	case u.KeyRef == "" || len(u.Chain) == 0:
		return roamsign.E(roamsign.ErrForbidden, op, "user has no roaming certificate yet")
	case len(u.PINVerifier) == 0:
		return roamsign.E(roamsign.ErrForbidden, op, "user has no PIN set")
	}
	return nil
}

// Status reports a transaction of the calling host.
func (s *Service) Status(ctx context.Context, req roamsign.StatusRequest) (resp *roamsign.StatusResponse, err error) {
	const op = "service.Status"
	defer s.observe("status", time.Now(), &err)
	host, err := hostOf(ctx, op)
	if err != nil {
		return nil, err
	}
	if !validID(req.TransactionID) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "malformed transaction id")
	}
	tx, err := s.store.GetTransaction(ctx, req.TransactionID)
	if err != nil {
		if errors.Is(err, roamsign.ErrNotFound) {
			return nil, roamsign.E(roamsign.ErrNotFound, op, "no such transaction")
		}
		return nil, wrapStore(op, err)
	}
	if tx.Host != host {
		return nil, roamsign.E(roamsign.ErrNotFound, op, "no such transaction")
	}
	state := tx.State
	if state == roamsign.TxPending && s.now().Sub(tx.CreatedAt) > s.cfg.PendingTimeout {
		state = roamsign.TxExpired
	}
	return &roamsign.StatusResponse{
		TransactionID: tx.ID,
		State:         state,
		User:          tx.User,
		Items:         tx.Items,
		CreatedAt:     tx.CreatedAt,
		UpdatedAt:     tx.UpdatedAt,
	}, nil
}

// validID accepts the ids the service and otp hand out: 1..128 characters
// of URL-safe text.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// reqAttrs are the request-scoped log attributes: host, the Sign request
// id (when given) and the transport's correlation id.
func reqAttrs(ctx context.Context, host roamsign.HostID, requestID string) []any {
	a := []any{slog.String("host", string(host))}
	if requestID != "" {
		a = append(a, slog.String("request_id", requestID))
	}
	if c := roamsign.CorrelationID(ctx); c != "" {
		a = append(a, slog.String("correlation_id", c))
	}
	return a
}

func cloneChain(chain [][]byte) [][]byte {
	out := make([][]byte, len(chain))
	for i, c := range chain {
		out[i] = append([]byte(nil), c...)
	}
	return out
}
