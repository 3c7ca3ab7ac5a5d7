package store

import (
	"slices"
	"strings"
	"time"

	"github.com/roamsign/roamsign"
)

// CheckOTPPair checks the user and host an OTP failure operation names;
// the host may be empty only where anyHost allows it (every host).
func CheckOTPPair(op string, user roamsign.UserID, host roamsign.HostID, anyHost bool) error {
	if err := checkID(op, "user", string(user)); err != nil {
		return err
	}
	if host == "" && anyHost {
		return nil
	}
	return checkID(op, "host", string(host))
}

// CountOTPFailure is the rule of AddOTPFailure: it checks the arguments
// and counts one attempt of user from host at now against prev, the
// pair's stored record (nil for none), with [roamsign.OTPBackoff.Count].
// It returns the record to store, or, when the pair is backing off,
// [roamsign.ErrRateLimited] carrying the wait and nothing to store.
func CountOTPFailure(op string, prev *roamsign.OTPBackoffRecord, user roamsign.UserID, host roamsign.HostID, now time.Time, policy roamsign.OTPBackoff) (*roamsign.OTPBackoffRecord, error) {
	if err := CheckOTPPair(op, user, host, false); err != nil {
		return nil, err
	}
	if !policy.Valid() {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "invalid OTP back-off policy")
	}
	rec := roamsign.OTPBackoffRecord{User: user, Host: host}
	if prev != nil {
		rec = *prev
	}
	next, wait, ok := policy.Count(rec, NormTime(now))
	if !ok {
		return nil, roamsign.RetryAfter(roamsign.E(roamsign.ErrRateLimited, op, "too many failed attempts from this host; wait before trying again"), wait)
	}
	NormOTPBackoff(&next)
	return &next, nil
}

// NormOTPBackoff normalises the times of r in place (see [NormTime]).
func NormOTPBackoff(r *roamsign.OTPBackoffRecord) {
	r.Until, r.UpdatedAt = NormTime(r.Until), NormTime(r.UpdatedAt)
}

// SortOTPBackoff sorts records by host, the order ResetOTPFailures returns.
func SortOTPBackoff(rs []roamsign.OTPBackoffRecord) []roamsign.OTPBackoffRecord {
	slices.SortFunc(rs, func(a, b roamsign.OTPBackoffRecord) int { return strings.Compare(string(a.Host), string(b.Host)) })
	return rs
}
