//go:build !linux

package verify

import "time"

var start = time.Now()

// threadCPU falls back to wall-clock time where thread CPU time is not read.
func threadCPU() time.Duration { return time.Since(start) }
