package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVoucherPDFIsWellFormed(t *testing.T) {
	qpdf, err := exec.LookPath("qpdf")
	if err != nil {
		t.Fatal("qpdf not found: run `make deps`")
	}
	for _, v := range sampleVouchers {
		p := filepath.Join(t.TempDir(), v.ID+".pdf")
		require.NoError(t, os.WriteFile(p, v.PDF(), 0o600))
		if out, err := exec.Command(qpdf, "--check", p).CombinedOutput(); err != nil {
			t.Fatalf("qpdf --check %s: %v\n%s", v.ID, err, out)
		}
	}
}
