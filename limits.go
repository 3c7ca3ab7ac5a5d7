package roamsign

import "time"

// IssueLimits are the OTP issuance rate limits: at most PerUser challenges
// for one user from all hosts together, PerUserHost for one user from one
// host and PerHost from one host, created within the last Window. Limiting
// each (user, host) pair below the user's total keeps one host from
// spending the quota of the others. Zero or negative: no limit in that
// scope.
type IssueLimits struct {
	Window      time.Duration
	PerUser     int
	PerUserHost int
	PerHost     int
}

// Any reports whether any scope is limited.
func (l IssueLimits) Any() bool { return l.PerUser > 0 || l.PerUserHost > 0 || l.PerHost > 0 }
