package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/ltvtest"
	"github.com/roamsign/roamsign/internal/testpki"
)

// TestExtendFolder: `hostclient extend DIR` makes a B-T document B-LTA,
// leaves a B-LTA document that needs nothing untouched, and a second run
// changes nothing.
func TestExtendFolder(t *testing.T) {
	f := ltvtest.New(t)
	dir := t.TempDir()
	bt := f.BT(t, ltvtest.Document())
	blta := f.BLTA(t, f.BT(t, ltvtest.Document()))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a-bt.pdf"), bt, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b-blta.pdf"), blta, 0o600))
	anchors := filepath.Join(t.TempDir(), "anchors.pem")
	require.NoError(t, os.WriteFile(anchors, testpki.PEM(f.Root.Cert), 0o600))
	args := []string{"extend", "-anchors", anchors, "-ca", "", "-tsa-url", f.TSAServer.URL, dir}

	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), args, strings.NewReader(""), &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "a-bt.pdf: extended (no document time-stamp yet")
	require.Contains(t, out.String(), "b-blta.pdf: up to date")
	got, err := os.ReadFile(filepath.Join(dir, "b-blta.pdf"))
	require.NoError(t, err)
	require.Equal(t, blta, got)
	extended, err := os.ReadFile(filepath.Join(dir, "a-bt.pdf"))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(extended, bt), "the update is incremental")
	require.Contains(t, string(extended), "/DocTimeStamp")

	out.Reset()
	require.NoError(t, run(context.Background(), args, strings.NewReader(""), &out, &errOut), errOut.String())
	require.Equal(t, "a-bt.pdf: up to date\nb-blta.pdf: up to date\n", out.String())
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, left, 2, "temporary files left behind")

	// A document whose signer does not validate fails, and stays as it was.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a-bt.pdf"), bt, 0o600))
	other, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(anchors, testpki.PEM(other.Cert), 0o600))
	out.Reset()
	require.Error(t, run(context.Background(), args, strings.NewReader(""), &out, &errOut))
	require.Contains(t, out.String(), "a-bt.pdf: failed")
	got, err = os.ReadFile(filepath.Join(dir, "a-bt.pdf"))
	require.NoError(t, err)
	require.Equal(t, bt, got)
}
