package bench_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pgtest"
)

// pgctl runs pg_ctl on cluster c as the owner of its directory (the
// unprivileged user pgtest runs PostgreSQL as when the test runs as root).
func pgctl(t *testing.T, c *pgtest.Cluster, args ...string) {
	t.Helper()
	bin := os.Getenv("PGTEST_BIN")
	if bin == "" {
		bin = pgtest.DefaultBin
	}
	path := filepath.Join(bin, "pg_ctl")
	cmd := exec.Command(path, args...)
	if os.Geteuid() == 0 {
		fi, err := os.Stat(c.Dir)
		require.NoError(t, err)
		u, err := user.LookupId(strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)))
		require.NoError(t, err)
		cmd = exec.Command("runuser", append([]string{"-u", u.Username, "--", path}, args...)...)
	}
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.Dir, "log"))
		t.Fatalf("pg_ctl %v: %v: %s\n%s", args, err, out, log)
	}
}

// TestPostgresRestartUnderLoad stops PostgreSQL (pg_ctl stop -m fast,
// which ends every connection) while hosts sign, keeps it down, and starts
// it again on the same port. Meanwhile calls fail only with
// roamsign.ErrUnavailable (HTTP 503); no wrong signature is returned;
// signing resumes; the audit chain is intact.
func TestPostgresRestartUnderLoad(t *testing.T) {
	c, err := pgtest.StartCluster(context.Background())
	require.NoError(t, err, "PostgreSQL")
	t.Cleanup(func() { _ = c.Stop() })
	d := newDeployment(t, deployOpts{Store: "postgres", DSN: c.DSN})
	users := d.enrol(t, roamsign.ECP256, 4)
	l, stop := startLoad(d, users, 4, 1)
	t.Cleanup(stop)
	recoveredWithin(t, "warm-up", l, time.Now(), 10*time.Second)

	data := filepath.Join(c.Dir, "data")
	pgctl(t, c, "-D", data, "-m", "fast", "-w", "stop")
	time.Sleep(1500 * time.Millisecond)
	l.mu.Lock()
	failedWhileDown := 0
	for _, n := range l.errs {
		failedWhileDown += n
	}
	l.mu.Unlock()
	opts := fmt.Sprintf("-p %d -k %s -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", c.Port, c.Dir)
	pgctl(t, c, "-D", data, "-l", filepath.Join(c.Dir, "log"), "-w", "-t", "60", "-o", opts, "start")
	rec := recoveredWithin(t, "after PostgreSQL restarted", l, time.Now(), 20*time.Second)
	time.Sleep(300 * time.Millisecond)
	stop()
	checkLoad(t, l, roamsign.ErrUnavailable)
	if failedWhileDown == 0 {
		t.Fatalf("no call failed while PostgreSQL was down (ok %d): the fault did not reach the service", l.ok)
	}
	// Calls the load abandoned at stop still finish inside the server (the
	// service completes an activated signature without its caller); let
	// them land before reading the log and its head.
	time.Sleep(time.Second)
	d.auditIntact(t)
	t.Logf("flows ok %d, errors %v; recovery after restart %s", l.ok, l.errs, rec.Round(time.Millisecond))
}
