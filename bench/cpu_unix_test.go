//go:build unix

package bench_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used,
// SoftHSM2's and SQLite's included; unlike wall time it does not grow
// while the machine runs other work.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
