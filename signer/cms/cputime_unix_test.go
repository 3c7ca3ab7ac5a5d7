//go:build unix

package cms_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user + system) used by this process so far.
// Benchmarks report CPU-time ratios next to wall-clock ones: on a shared,
// overloaded machine the CPU time spent per signature is the stable measure
// of overhead.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
