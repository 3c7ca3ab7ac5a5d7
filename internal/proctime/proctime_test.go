//go:build unix

package proctime_test

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/proctime"
)

// TestCPUGrowsWithWork burns CPU for a while and expects the process CPU
// time to grow by a comparable amount. It builds where CPU is measured
// (the same constraint as proctime_unix.go).
func TestCPUGrowsWithWork(t *testing.T) {
	c0 := proctime.CPU()
	burn(200 * time.Millisecond)
	if d := proctime.CPU() - c0; d < 50*time.Millisecond {
		t.Fatalf("CPU time grew by %v over 200 ms of hashing", d)
	}
}

// burn hashes for d of wall time.
func burn(d time.Duration) {
	t0 := time.Now()
	buf := make([]byte, 1<<16)
	for time.Since(t0) < d {
		s := sha256.Sum256(buf)
		buf[0] = s[0]
	}
}
