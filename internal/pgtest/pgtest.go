// Package pgtest starts a real PostgreSQL server for tests.
//
// # Overview
//
// [Start] runs initdb and pg_ctl from the PostgreSQL 15 server binaries
// (/usr/lib/postgresql/15/bin, or the directory named by $PGTEST_BIN) into a
// fresh temporary directory, listening on a free loopback port with its
// Unix socket inside that directory, and returns a DSN for the superuser
// "postgres" (trust authentication on 127.0.0.1 only). [NewDatabase] creates
// a fresh database on that server for one test and returns its DSN.
//
// # Sharing one cluster
//
// Call [Main] from TestMain to share one cluster across the test binary; it
// stops the cluster (pg_ctl stop -m fast) after the tests. Without Main,
// every [Start] starts its own cluster and stops it in the test's Cleanup.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		dsn := pgtest.NewDatabase(t) // fresh database on the shared cluster
//		...
//	}
//
// # Running as root
//
// PostgreSQL refuses to run as root. When the test runs with euid 0 (as CI
// does), the binaries run through runuser as the unprivileged user
// "roamsign-pg", created with useradd when missing (falling back to
// "nobody"), and the temporary directory is handed to that user.
//
// # Limitations
//
// The cluster runs with fsync off: it is for tests only. Missing binaries
// fail the test with a message saying how to install them; they never skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultBin is where Debian installs the PostgreSQL 15 server binaries.
const DefaultBin = "/usr/lib/postgresql/15/bin"

// Cluster is a running PostgreSQL server.
type Cluster struct {
	Dir  string // temporary directory holding data, socket and log
	Port int
	DSN  string // superuser DSN for the "postgres" database

	bin    string
	runAs  string // "" when not root
	mu     sync.Mutex
	closed bool
}

var shared struct {
	enabled bool
	once    sync.Once
	c       *Cluster
	err     error
}

// Main runs the tests of a package with one shared cluster, started on
// first use, and stops it afterwards. Call it from TestMain.
func Main(m *testing.M) {
	shared.enabled = true
	code := m.Run()
	if shared.c != nil {
		if err := shared.c.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// Start returns the superuser DSN of a running cluster: the shared one
// when [Main] is in use, else a new one stopped at the end of tb.
func Start(tb testing.TB) string {
	tb.Helper()
	if shared.enabled {
		shared.once.Do(func() { shared.c, shared.err = StartCluster(context.Background()) })
		if shared.err != nil {
			tb.Fatalf("pgtest: %v", shared.err)
		}
		return shared.c.DSN
	}
	c, err := StartCluster(context.Background())
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return c.DSN
}

// NewDatabase creates an empty database on the cluster from [Start] and
// returns its DSN. The database is dropped at the end of tb.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := Start(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "t_" + hex.EncodeToString(rnd[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return // the cluster is already gone
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return strings.Replace(admin, "/postgres?", "/"+name+"?", 1)
}

// StartCluster initialises and starts a new cluster. The caller stops it.
func StartCluster(ctx context.Context) (*Cluster, error) {
	bin := os.Getenv("PGTEST_BIN")
	if bin == "" {
		bin = DefaultBin
	}
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, fmt.Errorf("PostgreSQL server binary %s not found in %s: install the postgresql-15 package (make deps) or set PGTEST_BIN", b, bin)
		}
	}
	c := &Cluster{bin: bin}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	c.Dir = dir
	if os.Geteuid() == 0 {
		uid, gid, name, err := unprivilegedUser()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.runAs = name
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run(ctx, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		c.Port = port
		opts := fmt.Sprintf("-p %d -k %s -h 127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300", port, dir)
		out, err := c.run(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "-o", opts, "start")
		if err == nil {
			c.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
			return c, nil
		}
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		lastErr = fmt.Errorf("pg_ctl start: %v: %s\n%s", err, out, tail(string(log), 2000))
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// Stop stops the cluster (pg_ctl stop -m fast) and removes its directory.
// It is idempotent.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := c.run(ctx, "pg_ctl", "-D", filepath.Join(c.Dir, "data"), "-m", "fast", "-w", "stop")
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, out)
	}
	return os.RemoveAll(c.Dir)
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd.CombinedOutput()
}

const pgUser = "roamsign-pg"

func unprivilegedUser() (uid, gid int, name string, err error) {
	u, err := user.Lookup(pgUser)
	if err != nil {
		// A system user without a home or login shell.
		out, aerr := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", pgUser).CombinedOutput()
		if aerr == nil {
			u, err = user.Lookup(pgUser)
		} else {
			err = fmt.Errorf("useradd: %v: %s", aerr, out)
		}
	}
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			return 0, 0, "", errors.New("no unprivileged user to run PostgreSQL as (useradd failed and nobody is missing)")
		}
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, u.Username, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
