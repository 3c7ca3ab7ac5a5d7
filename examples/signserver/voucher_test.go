package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestVoucherPDFIsWellFormed(t *testing.T) {
	qpdf, err := exec.LookPath("qpdf")
	if err != nil {
		t.Fatal("qpdf not found: run `make deps`")
	}
	for _, v := range sampleVouchers {
		p := filepath.Join(t.TempDir(), v.ID+".pdf")
		if err := os.WriteFile(p, v.PDF(), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(qpdf, "--check", p).CombinedOutput(); err != nil {
			t.Fatalf("qpdf --check %s: %v\n%s", v.ID, err, out)
		}
	}
}
