//go:build unix

package proctime_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/proctime"
)

// TestCPUGrowsWithWork hashes until the process CPU clock has grown by
// 50 ms; a clock that does not move fails after 10 s. It builds where the
// process clock is read (Unix).
func TestCPUGrowsWithWork(t *testing.T) {
	if !burnUntil(proctime.CPU, 50*time.Millisecond, 10*time.Second) {
		t.Fatal("process CPU time did not grow by 50 ms within 10 s of hashing")
	}
}

// burnUntil hashes until clock has grown by want or limit of wall time has
// passed, and reports whether clock grew by want. Waiting on the clock
// rather than on wall time keeps a busy machine from failing the tests.
func burnUntil(clock func() time.Duration, want, limit time.Duration) bool {
	c0, t0 := clock(), time.Now()
	buf := make([]byte, 1<<16)
	for clock()-c0 < want {
		if time.Since(t0) > limit {
			return false
		}
		s := sha256.Sum256(buf)
		buf[0] = s[0]
	}
	return true
}
