package store

import (
	"time"

	"github.com/roamsign/roamsign"
)

// IssueScope is one scope of [roamsign.IssueLimits]: the challenges of the
// new challenge's user (ByUser), of its host (ByHost) or of both.
type IssueScope struct {
	Name   string // for the refusal: "user", "user and host", "host"
	Limit  int
	ByUser bool
	ByHost bool
}

// IssueScopes returns the scopes of l that limit anything.
func IssueScopes(l roamsign.IssueLimits) []IssueScope {
	var out []IssueScope
	for _, s := range []IssueScope{
		{Name: "user and host", Limit: l.PerUserHost, ByUser: true, ByHost: true},
		{Name: "user", Limit: l.PerUser, ByUser: true},
		{Name: "host", Limit: l.PerHost, ByHost: true},
	} {
		if s.Limit > 0 {
			out = append(out, s)
		}
	}
	return out
}

// NthNewest returns the creation time of the n-th newest challenge of a
// scope created at or after since (n counts from 1), or ok false when the
// scope has fewer. A backend implements it with one query per scope.
type NthNewest func(s IssueScope, n int, since time.Time) (t time.Time, ok bool, err error)

// CheckIssue is the issuance rule of IssueChallenge: c may be created at
// c.CreatedAt unless a scope of l already holds its limit of challenges
// created within the window. A full scope's next slot frees when the
// Limit-th newest of its challenges leaves the window; the refusal is
// [roamsign.ErrRateLimited] carrying the wait until the last full scope
// frees a slot ([roamsign.RetryAfter]). nth reads the backend inside the
// same atomic step as the insert that follows.
func CheckIssue(op string, c *roamsign.ChallengeRecord, l roamsign.IssueLimits, nth NthNewest) error {
	now := NormTime(c.CreatedAt)
	since := now.Add(-l.Window)
	var (
		wait time.Duration
		full string
	)
	for _, s := range IssueScopes(l) {
		t, ok, err := nth(s, s.Limit, since)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if w := t.Add(l.Window).Sub(now); full == "" || w > wait {
			wait, full = w, s.Name
		}
	}
	if full == "" {
		return nil
	}
	return roamsign.RetryAfter(roamsign.E(roamsign.ErrRateLimited, op, "too many OTP requests for this %s; retry later", full), max(wait, time.Microsecond))
}

// CheckIssueArgs checks the arguments of IssueChallenge: a valid challenge
// and, when anything is limited, a window and a creation time to count
// from.
func CheckIssueArgs(op string, c *roamsign.ChallengeRecord, l roamsign.IssueLimits) error {
	if err := ValidateChallenge(c); err != nil {
		return err
	}
	if l.Any() && (l.Window <= 0 || c.CreatedAt.IsZero()) {
		return roamsign.E(roamsign.ErrInvalidInput, op, "issuance limits need a window and the challenge's creation time")
	}
	return nil
}
