package tsa

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// limiter keeps one authority within its quota and in back-off after it
// refused for load. It is safe for concurrent use.
type limiter struct {
	mu       sync.Mutex
	quota    Quota
	sent     []time.Time // send times within the window, oldest first
	until    time.Time   // end of the back-off
	refusals int         // consecutive refusals
	base     time.Duration
	max      time.Duration
}

func newLimiter(q Quota, base, max time.Duration) *limiter {
	return &limiter{quota: q, base: base, max: max}
}

// take reserves a request at now. It returns false and the time until a
// request may be sent when the authority is in back-off or its quota is
// spent: a request sent at t counts until t + Quota.Per, so no window of
// that length ever holds more than Quota.Requests sends.
func (l *limiter) take(now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.until) {
		return l.until.Sub(now), false
	}
	if l.quota.Requests == 0 {
		return 0, true
	}
	cut := now.Add(-l.quota.Per)
	i := 0
	for i < len(l.sent) && !l.sent[i].After(cut) {
		i++
	}
	l.sent = append(l.sent[:0], l.sent[i:]...)
	if len(l.sent) >= l.quota.Requests {
		return l.sent[0].Add(l.quota.Per).Sub(now), false
	}
	l.sent = append(l.sent, now)
	return 0, true
}

// refused starts or extends the back-off after a refusal at now: the
// authority's Retry-After when it gave one, else the base wait doubled for
// each consecutive refusal, at most the maximum. It returns the wait.
func (l *limiter) refused(now time.Time, retryAfter time.Duration) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refusals++
	wait := retryAfter
	if wait <= 0 {
		wait = l.base
		for i := 1; i < l.refusals && wait < l.max; i++ {
			wait *= 2
		}
		wait = min(wait, l.max)
	}
	wait = min(wait, MaxRetryAfter)
	if until := now.Add(wait); until.After(l.until) {
		l.until = until
	}
	return l.until.Sub(now)
}

// succeeded ends the run of refusals.
func (l *limiter) succeeded() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refusals = 0
}

// retryAfter reads an HTTP Retry-After header (RFC 9110 section 10.2.3):
// delay-seconds or an HTTP-date. Absent or malformed gives 0.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}
