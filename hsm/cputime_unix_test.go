//go:build unix

package hsm_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the process has used,
// which, unlike wall time, does not grow while the machine runs other work.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
