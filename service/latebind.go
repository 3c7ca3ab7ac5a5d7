package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"time"

	"github.com/roamsign/roamsign"
)

// Late binding: an OTP approves signing with the user's key before the
// hashes are known, and the one Sign of the challenge binds the hashes it
// names. It exists for signature applications that ask for the OTP before
// they name the data (the CSC API's credentials/getChallenge and v1
// credentials/sendOTP, which carry no hashes). It is weaker than the
// normal flow, where the OTP message carries the verification code of the
// exact hashes: here the signer's OTP approves "a signature by this host
// with this credential within the OTP's life", and the host alone decides
// what is signed. Everything else holds: the OTP is single-use, short-lived
// and limited in tries, bound to the user, the host and the nonce; the PIN
// is checked; the transaction, once authorised, is bound to the exact
// hashes and their count; and the audit records of the authorisation and
// of the signatures say that the hashes were bound at Sign
// ([DetailLateBound]). It is off unless Config.LateBinding is set.

// DetailLateBound is the audit Detail of the authorisation and signature
// records of a late-bound challenge.
const DetailLateBound = "late binding: the OTP did not carry these hashes; they were bound at Sign"

// lateBindingHash is what a late-bound challenge binds in place of the
// hashes: a digest of the user id under a label of its own, which nobody
// can present as a document hash.
func lateBindingHash(user roamsign.UserID) roamsign.Hash {
	d := sha256.Sum256([]byte("roamsign late-bound challenge\x00" + string(user)))
	return roamsign.Hash{Algorithm: roamsign.SHA256, Value: d[:]}
}

// RequestOTPLateBound creates a challenge whose OTP binds the user, the
// host, the data header and a fresh nonce but no hashes, and delivers the
// OTP; the challenge's Sign binds the hashes it names (see the section on
// late binding in the package doc). req.Hashes must be empty. It is
// refused with ErrForbidden unless Config.LateBinding is set.
func (s *Service) RequestOTPLateBound(ctx context.Context, req roamsign.OTPRequest) (resp *roamsign.OTPResponse, err error) {
	const op = "service.RequestOTPLateBound"
	defer s.observe("request_otp", time.Now(), &err)
	if !s.cfg.LateBinding {
		return nil, roamsign.E(roamsign.ErrForbidden, op, "late binding is not allowed by this service's policy")
	}
	if len(req.Hashes) != 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "a late-bound challenge names no hashes")
	}
	return s.requestOTP(ctx, op, req, true)
}

// lateBound reports whether ch is a late-bound challenge that this
// service accepts as one.
func (s *Service) lateBound(ch *roamsign.ChallengeRecord) bool {
	if !s.cfg.LateBinding || ch.Count != 1 {
		return false
	}
	d := roamsign.HashListDigest([]roamsign.Hash{lateBindingHash(ch.User)})
	return subtle.ConstantTimeCompare(d[:], ch.HashList[:]) == 1
}

// binding reports, in constant time, whether the attempt's nonce and
// hashes are the challenge's: for a late-bound challenge the nonce alone,
// the hashes being bound by this Sign.
func (a *signAttempt) binding() bool {
	if a.late {
		return subtle.ConstantTimeCompare(a.ch.Nonce, a.req.Nonce) == 1
	}
	return validBinding(a.ch, a.req, a.digest)
}

// otpHashes are the hashes the challenge's OTP MAC covers.
func (a *signAttempt) otpHashes() []roamsign.Hash {
	if a.late {
		return []roamsign.Hash{lateBindingHash(a.ch.User)}
	}
	return a.req.Hashes
}
