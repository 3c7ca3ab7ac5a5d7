package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/verify"
	"github.com/stretchr/testify/require"
)

// demoHeapLimit is the peak heap each step of the demo may take for a
// large document, whatever its size.
const demoHeapLimit = 64 << 20

// TestDemoLargeUploadBounded: a 100 MiB PDF (1,000 pages, generated at
// test time) goes through the demo's steps within demoHeapLimit of peak
// heap each, measured by pdfxtest.Measure (the heap in use, sampled every
// millisecond, above what was in use before): streamed to disk by the
// upload handler (stored whole, sent without a Content-Length, as in
// chunks), prepared from its file, and completed with its signature into
// a file, and verified from it; the signed file passes pdfsig and qpdf
// --check.
func TestDemoLargeUploadBounded(t *testing.T) {
	f := newDemoFixture(t)
	f.d.maxUpload = 200 * demoMB
	path, size := pdfxtest.LargeFile(t, pdfxtest.LargeOptions{Pages: 1000, Size: 100 << 20})
	body, err := os.Open(path)
	require.NoError(t, err)
	defer body.Close()

	step := func(name string, fn func()) {
		t.Helper()
		u := pdfxtest.Measure(fn)
		t.Logf("%s of %d bytes: peak heap %.1f MiB, allocated %.1f MiB, CPU %v", name, size,
			float64(u.Peak)/(1<<20), float64(u.Alloc)/(1<<20), u.CPU.Round(time.Millisecond))
		require.LessOrEqual(t, u.Peak, uint64(demoHeapLimit), "%s: peak heap", name)
	}

	var code int
	var answer []byte
	step("upload", func() {
		rec := f.send(body, -1)
		code, answer = rec.Code, rec.Body.Bytes()
	})
	require.Equal(t, http.StatusOK, code, "%s", answer)
	var up struct{ Upload string }
	require.NoError(t, json.Unmarshal(answer, &up))

	var docs []*demoDoc
	step("prepare", func() { docs, err = f.prepare(up.Upload, false) })
	require.NoError(t, err)
	defer releaseAll(docs)
	st, err := os.Stat(docs[0].path)
	require.NoError(t, err)
	require.Equal(t, size, st.Size(), "the upload is stored whole")

	sig, err := f.key.Sign(nil, docs[0].prep.Digest(), docs[0].prep.SignerOpts())
	require.NoError(t, err)
	var signed string
	step("complete", func() { signed, err = f.d.complete(context.Background(), docs[0], sig) })
	require.NoError(t, err)
	defer os.Remove(signed)

	f.d.verifier, err = verify.New(verify.Config{Anchors: f.chain[len(f.chain)-1:], Offline: true})
	require.NoError(t, err)
	var v *verification
	step("verify", func() { v = f.d.verify(context.Background(), signed) })
	require.Len(t, v.Signatures, 1, "%+v", v)
	require.NotEqual(t, verify.Invalid, v.Verdict, "%v", v.Signatures) // no CRL offline: indeterminate at best
	checkPDF(t, signed, 1)
}
