package bench_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/bench"
)

// smallFS mounts a tmpfs of size bytes on a fresh directory and unmounts
// it at cleanup. Mounting needs root (CI runs as root).
func smallFS(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("the disk-full test mounts a size-limited tmpfs and must run as root (CI does); run it with sudo -E go test -run DiskFull ./bench/")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size)+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	// Squeeze out the last partial block too.
	for {
		if _, err := f.Write(buf[:512]); err != nil {
			return
		}
	}
}

// TestSQLiteDiskFull runs the service on a SQLite database in a 4 MiB
// tmpfs, fills the file system, and checks that signing is refused with a
// typed error (nothing returned that is not recorded), then resumes once
// space is freed, with the audit chain intact.
func TestSQLiteDiskFull(t *testing.T) {
	dir := smallFS(t, 4<<20)
	d := newDeployment(t, deployOpts{SQLitePath: filepath.Join(dir, "roamsign.db")})
	users := d.enrol(t, roamsign.ECP256, 2)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, _, err := bench.Flow(ctx, d.client, d.mail, users[0], bench.RandomHashes(10), roamsign.FormRaw); err != nil {
			t.Fatalf("flow before the disk filled: %v", err)
		}
	}
	filler := filepath.Join(dir, "filler")
	fill(t, filler)

	refused, kinds := 0, map[string]int{}
	for i := 0; i < 40; i++ {
		hs := bench.RandomHashes(50)
		out, _, err := bench.Flow(ctx, d.client, d.mail, users[i%2], hs, roamsign.FormRaw)
		if err == nil {
			if cerr := bench.CheckRaw(out, hs); cerr != nil {
				t.Fatalf("wrong signature on a full disk: %v", cerr)
			}
			st, serr := d.client.Status(ctx, roamsign.StatusRequest{TransactionID: out.TransactionID})
			if serr != nil || st.State != roamsign.TxSigned {
				t.Fatalf("signature returned on a full disk but not recorded: %v %+v", serr, st)
			}
			continue
		}
		refused++
		kinds[roamsign.KindOf(err).Code()]++
		if !errors.Is(err, roamsign.ErrUnavailable) {
			t.Fatalf("full disk: want roamsign.ErrUnavailable (HTTP 503), got %v", err)
		}
	}
	if refused == 0 {
		t.Fatal("no call was refused on a full file system: the fault did not reach the store")
	}
	require.NoError(t, os.Remove(filler))
	deadline := time.Now().Add(10 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		hs := bench.RandomHashes(10)
		var out *roamsign.SignResponse
		if out, _, err = bench.Flow(ctx, d.client, d.mail, users[0], hs, roamsign.FormRaw); err == nil {
			require.NoError(t, bench.CheckRaw(out, hs))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err, "no recovery within 10 s after space was freed")
	d.auditIntact(t)
	t.Logf("refused on a full disk: %d of 40 %v; recovered after space was freed", refused, kinds)
}
