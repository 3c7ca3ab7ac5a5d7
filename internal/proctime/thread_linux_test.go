package proctime_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/proctime"
)

// TestThreadCountsOnlyItsThread expects the thread clock to grow with work
// on the calling thread and to stay still while the thread waits and
// another goroutine works.
func TestThreadCountsOnlyItsThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if !burnUntil(proctime.Thread, 50*time.Millisecond, 10*time.Second) {
		t.Fatal("thread CPU time did not grow by 50 ms within 10 s of hashing")
	}
	c1 := proctime.Thread()
	done := make(chan bool)
	go func() { done <- burnUntil(proctime.CPU, 200*time.Millisecond, 10*time.Second) }()
	if !<-done {
		t.Fatal("process CPU time did not grow by 200 ms within 10 s of hashing")
	}
	if d := proctime.Thread() - c1; d > 50*time.Millisecond {
		t.Fatalf("thread CPU time grew by %v while another goroutine used 200 ms", d)
	}
}
