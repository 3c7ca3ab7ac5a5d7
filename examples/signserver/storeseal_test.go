package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/store/sqlite"
	"github.com/roamsign/roamsign/store/storetest"
)

// A database written before rows were sealed: the server refuses its rows
// until `store seal`, the explicit upgrade step, seals them.
func TestStoreSealUpgrade(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "roamsign.db"), sqlite.Options{})
	require.NoError(t, err)
	require.NoError(t, st.CreateUser(ctx, storetest.NewUser(storetest.Victim)))
	require.NoError(t, st.Close())

	_, errOut, err := runCmdInput(t, "Kl8#mPq2\n", "pin", "reset", "-user", string(storetest.Victim), "-data-dir", dir)
	require.ErrorIs(t, err, roamsign.ErrUnavailable, "a row without a seal was used")
	require.Contains(t, errOut, "ALARM")

	out, errOut, err := runCmd(t, "store", "seal", "-data-dir", dir)
	require.NoError(t, err, "store seal: %s", errOut)
	require.Contains(t, out, "sealed 1 users")

	out, errOut, err = runCmdInput(t, "Kl8#mPq2\n", "pin", "reset", "-user", string(storetest.Victim), "-data-dir", dir)
	require.NoError(t, err, "pin reset after sealing: %s", errOut)
	require.True(t, strings.Contains(out, "reset"), out)
}
