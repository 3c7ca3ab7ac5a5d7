// Package apitest is the conformance suite of [roamsign.API] and
// [roamsign.Admin]: one set of tests, written against the interfaces only,
// run against the in-process service and against every transport's client.
// It also holds in-memory test doubles for runs without the real parts.
//
// It is test support: production code never imports it.
package apitest

import (
	"sync"
	"testing"

	"github.com/roamsign/roamsign"
)

// suite is one run of the conformance tests: the deployment and the
// secrets the tests used, which the last test looks for in the logs.
type suite struct {
	*Env
	secrets secretLog
}

// Run runs the conformance suite against e. The tests share the
// deployment, each with fresh users; NoSecretsInLogs runs last, over what
// every test before it logged.
func Run(t *testing.T, e *Env) {
	if e.MaxPINFailures == 0 {
		e.MaxPINFailures = 5
	}
	s := &suite{Env: e}
	tests := []struct {
		name string
		fn   func(*testing.T, *suite)
	}{
		{"FullFlow", testFullFlow},
		{"Unauthenticated", testUnauthenticated},
		{"SignWithoutChallenge", testSignWithoutChallenge},
		{"AnotherUsersChallenge", testAnotherUsersChallenge},
		{"AnotherHostsCredentials", testAnotherHostsCredentials},
		{"HashesNotInChallenge", testHashesNotInChallenge},
		{"WrongPINLocks", testWrongPINLocks},
		{"FailuresLookAlike", testFailuresLookAlike},
		{"ReplayRequestID", testReplayRequestID},
		{"ParallelSameOTP", testParallelSameOTP},
		{"ParallelWrongPINs", testParallelWrongPINs},
		{"ParallelSameRequestID", testParallelSameRequestID},
		{"BadInput", testBadInput},
		{"Disabled", testDisabled},
		{"AuditChain", testAuditChain},
		{"NoSecretsInLogs", testNoSecretsInLogs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, s) })
	}
}

// approval is a user of host A with a challenge for fresh hashes: the
// set-up most tests start from.
type approval struct {
	user   User
	hashes []roamsign.Hash
	ch     *roamsign.OTPResponse
	otp    roamsign.Secret
}

// newApproval enrols a user for host A and requests an OTP for n fresh
// hashes; the OTP joins the secrets looked for in the logs.
func (s *suite) newApproval(t *testing.T, n int) approval {
	t.Helper()
	a := approval{user: s.Enrol(t, HostA), hashes: Hashes(n)}
	a.ch, a.otp = s.Challenge(t, HostA, a.user.ID, a.hashes)
	s.secrets.add(a.otp)
	return a
}

// req is a Sign request of the approval with pin and a fresh request id.
func (a approval) req(pin roamsign.Secret) roamsign.SignRequest {
	return signReq(a.ch, a.otp, pin, a.hashes)
}

// secretLog collects the PINs and OTPs the tests used.
type secretLog struct {
	mu sync.Mutex
	s  []string
}

func (l *secretLog) add(ss ...roamsign.Secret) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range ss {
		l.s = append(l.s, s.Reveal())
	}
}

func (l *secretLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.s...)
}
