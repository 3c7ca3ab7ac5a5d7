package bench_test

import (
	"bufio"
	"crypto/sha256"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/bench"
	"github.com/roamsign/roamsign/internal/proctime"
)

// burnEnv makes the test binary a helper that burns burnFor of CPU (by
// its own clock) and exits (see TestMain): the child process of
// TestTreeCPUCountsReapedChildren.
const burnEnv = "BENCH_TREECPU_BURN"

// burnFor is how much CPU the helper burns.
const burnFor = 300 * time.Millisecond

func burnCPU() {
	buf := make([]byte, 1<<16)
	for proctime.CPU() < burnFor {
		s := sha256.Sum256(buf)
		buf[0] = s[0]
	}
}

// TestTreeCPUCountsReapedChildren: a shell runs a child that burns CPU and
// exits; the shell has used almost nothing itself, so its tree's CPU is
// what it reaped from the child (cutime), as a postmaster reaps backends.
func TestTreeCPUCountsReapedChildren(t *testing.T) {
	sh := exec.Command("sh", "-c", `"$0" >/dev/null 2>&1; echo done; exec sleep 60`, os.Args[0])
	sh.Env = append(os.Environ(), burnEnv+"=1")
	out, err := sh.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, sh.Start())
	t.Cleanup(func() { _ = sh.Process.Kill(); _ = sh.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "done\n", line)
	got, err := bench.TreeCPU(sh.Process.Pid)
	require.NoError(t, err)
	// /proc counts in 10 ms ticks, sampled differently from the child's
	// own clock: allow a few ticks.
	assert.GreaterOrEqual(t, got, burnFor-50*time.Millisecond)
}

// TestTreeCPUCountsTheLiveProcess: the test process's own tree holds at
// least the CPU its own clock reports.
func TestTreeCPUCountsTheLiveProcess(t *testing.T) {
	own := proctime.CPU()
	got, err := bench.TreeCPU(os.Getpid())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, got, own-50*time.Millisecond)
	_, err = bench.TreeCPU(-1)
	assert.Error(t, err, "a process that does not exist")
}
