package proctime_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/proctime"
)

// TestThreadCountsOnlyItsThread expects the thread clock to grow with work
// on the calling thread and to stay still while the thread sleeps and
// another goroutine works.
func TestThreadCountsOnlyItsThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := proctime.Thread()
	burn(200 * time.Millisecond)
	if d := proctime.Thread() - c0; d < 50*time.Millisecond {
		t.Fatalf("thread CPU time grew by %v over 200 ms of hashing", d)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		burn(200 * time.Millisecond)
	}()
	c1 := proctime.Thread()
	<-done
	if d := proctime.Thread() - c1; d > 50*time.Millisecond {
		t.Fatalf("thread CPU time grew by %v while another goroutine worked", d)
	}
}
