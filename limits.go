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

// OTPBackoff is the back-off of OTP failures, counted per (user, host):
// the first After−1 consecutive wrong OTPs of one host for one user cost
// nothing; from the After-th on, that host must wait before its next
// attempt (and before a new OTP for the user), Base at first and twice as
// long after each further failure, at most Max. Waits expire on their own,
// failures older than Forget are forgotten, and a right OTP from the host
// clears its count; an administrator may clear it early. A back-off never
// locks and never reaches other hosts: the permanent lock is the PIN's
// alone, and a PIN is only tried with the right OTP.
type OTPBackoff struct {
	After  int           // failures before the first wait; default 5
	Base   time.Duration // first wait; default 1 minute
	Max    time.Duration // longest wait; default 1 hour
	Forget time.Duration // failures older than this are forgotten; default 24 hours
}

// WithDefaults returns b with its zero fields set to the defaults.
func (b OTPBackoff) WithDefaults() OTPBackoff {
	if b.After == 0 {
		b.After = 5
	}
	if b.Base == 0 {
		b.Base = time.Minute
	}
	if b.Max == 0 {
		b.Max = time.Hour
	}
	if b.Forget == 0 {
		b.Forget = 24 * time.Hour
	}
	return b
}

// Valid reports whether b is usable as it is: After at least 1, Base
// positive, Max at least Base, Forget positive.
func (b OTPBackoff) Valid() bool {
	return b.After >= 1 && b.Base > 0 && b.Max >= b.Base && b.Forget > 0
}

// Delay returns the wait after the failures-th consecutive failure: none
// before After, then Base doubled for each failure beyond After, at most
// Max.
func (b OTPBackoff) Delay(failures int) time.Duration {
	if failures < b.After {
		return 0
	}
	d := b.Base
	for i := b.After; i < failures && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Count counts one OTP attempt at now against rec, the pair's record (the
// zero record when it has none). Attempts are counted before they are
// checked, as failures; a right OTP then clears the record. When rec is
// backing off (now before Until) nothing is counted: Count returns the
// wait and ok false. Otherwise it returns the record with one more failure
// (after forgetting failures older than Forget), UpdatedAt now and Until
// now plus the [OTPBackoff.Delay] of the new count.
func (b OTPBackoff) Count(rec OTPBackoffRecord, now time.Time) (next OTPBackoffRecord, wait time.Duration, ok bool) {
	if now.Before(rec.Until) {
		return rec, rec.Until.Sub(now), false
	}
	if !rec.UpdatedAt.IsZero() && now.Sub(rec.UpdatedAt) >= b.Forget {
		rec.Failures = 0
	}
	rec.Failures++
	rec.UpdatedAt, rec.Until = now, time.Time{}
	if d := b.Delay(rec.Failures); d > 0 {
		rec.Until = now.Add(d)
	}
	return rec, 0, true
}
