package pdfxtest

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/proctime"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CPULimit is the CPU time a reader may spend on one input of at most
// 1 MiB. The race detector makes code several times slower; under it the
// limit is scaled by RaceSlowdown.
const CPULimit = 2 * time.Second

// HeapLimit is the heap a reader may allocate for a file of size bytes:
// 64 MiB or eight times the file, whichever is larger.
func HeapLimit(size int) uint64 { return max(64<<20, 8*uint64(size)) }

// Usage is what one call cost.
type Usage struct {
	// Alloc is every heap byte allocated during the call (an upper bound
	// of its peak heap, counted exactly by the runtime, not sampled).
	Alloc uint64
	// Peak is the largest heap in use seen by sampling every millisecond,
	// above the heap in use before the call (for reports only).
	Peak uint64
	// CPU is the CPU time of the whole process during the call: other
	// processes on a busy machine do not add to it.
	CPU time.Duration
}

var samples = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}

func read() (alloc, inUse uint64) {
	s := make([]metrics.Sample, len(samples))
	copy(s, samples)
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// Measure runs fn once and reports its cost. Nothing else should run in
// the process meanwhile (tests that call it are not parallel).
func Measure(fn func()) Usage {
	runtime.GC()
	a0, base := read()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				if _, u := read(); u > peak {
					peak = u
				}
			}
		}
	}()
	c0 := proctime.CPU()
	fn()
	cpu := proctime.CPU() - c0
	close(stop)
	wg.Wait()
	a1, u := read()
	peak = max(peak, u)
	var p uint64
	if peak > base {
		p = peak - base
	}
	return Usage{Alloc: a1 - a0, Peak: p, CPU: cpu}
}

// Allocated runs fn and returns the heap bytes allocated meanwhile,
// without the collection Measure starts with (cheap enough for a fuzz
// target).
func Allocated(fn func()) uint64 {
	a0, _ := read()
	fn()
	a1, _ := read()
	return a1 - a0
}

// RequireBounded runs fn (which reads c.Data) once, logs what it cost and
// fails t unless fn returned nil or a typed roamsign error and stayed
// within HeapLimit and CPULimit. It returns the measured usage.
func RequireBounded(t testing.TB, c Case, fn func() error) Usage {
	t.Helper()
	require.LessOrEqual(t, len(c.Data), 1<<20, "adversarial inputs are at most 1 MiB")
	var err error
	u := Measure(func() { err = fn() })
	t.Logf("%s: %d bytes: allocated %.1f MiB, peak heap %.1f MiB, CPU %v; %v",
		c.Name, len(c.Data), float64(u.Alloc)/(1<<20), float64(u.Peak)/(1<<20), u.CPU.Round(time.Millisecond), err)
	if err != nil {
		assert.NotEqual(t, roamsign.KindUnknown, roamsign.KindOf(err), "untyped error: %v", err)
	}
	assert.LessOrEqual(t, u.Alloc, HeapLimit(len(c.Data)), "heap allocated")
	assert.LessOrEqual(t, u.CPU, CPULimit*RaceSlowdown, "CPU time")
	return u
}
