package proctime

import (
	"time"

	"golang.org/x/sys/unix"
)

func cpu() time.Duration    { return clock(unix.CLOCK_PROCESS_CPUTIME_ID) }
func thread() time.Duration { return clock(unix.CLOCK_THREAD_CPUTIME_ID) }

// clock reads a CPU-time clock in nanoseconds; 0 if it cannot be read.
func clock(id int32) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
