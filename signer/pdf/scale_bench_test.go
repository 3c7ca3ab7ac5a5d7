package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"

	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/verify"
	"github.com/stretchr/testify/require"
)

// BenchmarkLargeFile signs and verifies documents of 10 MB, 100 MB and
// 1 GB with 1,000 pages, generated into the temporary directory when the
// benchmark starts and removed after it, and reports for each step its
// throughput beside the raw hashing rate of the same file in the same run:
//
//   - sha256: Go's SHA-256 over the file (what the digest step costs at
//     least); sha256sum: the coreutils command over the same file.
//   - prepare, complete, sign (both, one file read each): signing with the
//     output written to a file in the temporary directory.
//   - verify: every check of verify.VerifyPDF on the signed file.
//
// Each reports MB/s, peak-heap-MiB (the largest Go heap seen, sampled
// every 100 µs, of the whole process) and peak-rss-MiB (the process's
// resident set high-water mark, reset before the step). Run it with
//
//	go test -run '^$' -bench LargeFile -benchtime 1x ./signer/pdf
//
// and LARGEFILE_SIZES=10MB,100MB to skip the 1 GB case.
func BenchmarkLargeFile(b *testing.B) {
	sizes := map[string]int64{"10MB": 10e6, "100MB": 100e6, "1GB": 1e9}
	names := []string{"10MB", "100MB", "1GB"}
	if s := os.Getenv("LARGEFILE_SIZES"); s != "" {
		names = strings.Split(s, ",")
	}
	p := newPKI(b)
	v := offlineVerifier(b, p)
	for _, name := range names {
		b.Run(name, func(b *testing.B) { benchLarge(b, p, v, sizes[name]) })
	}
}

func benchLarge(b *testing.B, p *testPKI, v *verify.Verifier, size int64) {
	require.Positive(b, size, "unknown size")
	path, n := pdfxtest.LargeFile(b, pdfxtest.LargeOptions{Pages: 1000, Size: size})
	out := path + ".signed.pdf"
	defer os.Remove(out)
	ctx := context.Background()
	opts := Options{MaxSize: 2 << 30}
	step := func(name string, bytes int64, fn func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			runtime.GC()
			resetPeakRSS()
			var d time.Duration
			peak := peakHeap(func() {
				for b.Loop() {
					t0 := time.Now()
					fn(b)
					d += time.Since(t0)
				}
			})
			b.SetBytes(bytes)
			b.ReportMetric(float64(bytes)/1e6/(d.Seconds()/float64(b.N)), "MB/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(peakRSS())/(1<<20), "peak-rss-MiB")
		})
	}
	step("sha256", n, func(b *testing.B) {
		f := open(b, path)
		defer f.Close()
		h := sha256.New()
		_, err := io.Copy(h, f)
		require.NoError(b, err)
	})
	if sum, err := exec.LookPath("sha256sum"); err == nil {
		step("sha256sum", n, func(b *testing.B) {
			require.NoError(b, exec.Command(sum, path).Run())
		})
	}
	var prep *Prepared
	var sig []byte
	step("prepare", n, func(b *testing.B) {
		f := open(b, path)
		defer f.Close()
		var err error
		prep, err = Prepare(ctx, f, n, p.chain, opts)
		require.NoError(b, err)
	})
	sig, err := p.key.Sign(nil, prep.Digest(), prep.SignerOpts())
	require.NoError(b, err)
	step("complete", n, func(b *testing.B) {
		f := open(b, path)
		defer f.Close()
		prep.doc.ra = f
		w, err := os.Create(out)
		require.NoError(b, err)
		require.NoError(b, prep.Complete(ctx, sig, w))
		require.NoError(b, w.Close())
	})
	step("sign", n, func(b *testing.B) {
		f := open(b, path)
		defer f.Close()
		w, err := os.Create(out)
		require.NoError(b, err)
		require.NoError(b, Sign(ctx, f, n, w, p.key, p.chain, opts))
		require.NoError(b, w.Close())
	})
	st, err := os.Stat(out)
	require.NoError(b, err)
	step("verify", st.Size(), func(b *testing.B) {
		f := open(b, out)
		defer f.Close()
		res, err := v.VerifyPDF(ctx, verify.PDFRequest{Document: f, Size: st.Size()})
		require.NoError(b, err)
		require.Len(b, res.Signatures, 1)
		require.Equal(b, verify.Valid, res.Verdict, "%+v", res.Signatures[0].Checks)
	})
}

func open(b *testing.B, name string) *os.File {
	f, err := os.Open(name)
	require.NoError(b, err)
	return f
}

// resetPeakRSS resets the process's resident set high-water mark (Linux).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns the resident set high-water mark in bytes (Linux; 0
// elsewhere).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := strings.Fields(string(line)); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
