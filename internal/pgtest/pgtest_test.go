package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestNewDatabase(t *testing.T) {
	ctx := context.Background()
	a, b := NewDatabase(t), NewDatabase(t)
	if a == b {
		t.Fatal("NewDatabase returned the same database twice")
	}
	for _, dsn := range []string{a, b} {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect %s: %v", dsn, err)
		}
		var v string
		if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v[:3] != "15." {
			t.Fatalf("server version %s, want 15.x", v)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE x (id int)"); err != nil {
			t.Fatalf("fresh database: %v", err)
		}
		conn.Close(ctx)
	}
}

func TestOwnCluster(t *testing.T) {
	c, err := StartCluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(context.Background(), c.DSN)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(context.Background())
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := pgx.Connect(context.Background(), c.DSN); err == nil {
		t.Fatal("cluster still accepts connections after Stop")
	}
}

func TestMissingBinaries(t *testing.T) {
	t.Setenv("PGTEST_BIN", t.TempDir())
	if _, err := StartCluster(context.Background()); err == nil {
		t.Fatal("StartCluster succeeded without binaries")
	}
}
