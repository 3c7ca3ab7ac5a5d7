// Package proctime reads the CPU time the current process, or the calling
// OS thread, has used, for benchmarks that compare CPU per operation rather
// than wall time: CPU time does not grow while the machine runs other work.
package proctime

import "time"

// CPU returns the user plus system CPU time the process has used so far,
// cgo libraries (such as a PKCS#11 module) included. It returns 0 where the
// platform does not report it.
func CPU() time.Duration { return cpu() }

// Thread returns the CPU time the calling OS thread has used so far; lock
// the goroutine to its thread (runtime.LockOSThread) around a measurement.
// It returns 0 where the platform does not report it.
func Thread() time.Duration { return thread() }
