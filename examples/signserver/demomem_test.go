package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
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

// TestDemoServerLargeBounded: through the running server's demo endpoints
// (dev mode: PAdES B-LTA, so the signed file also gets a /DSS and a
// document time-stamp), a 100 MiB PDF is uploaded, prepared and signed
// with PIN and OTP, each request within demoHeapLimit of peak heap of the
// whole process (client and server, in one process here), and the
// signed file downloaded in chunks passes pdfsig and qpdf --check.
func TestDemoServerLargeBounded(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	path, size := pdfxtest.LargeFile(t, pdfxtest.LargeOptions{Pages: 1000, Size: 100 << 20})
	step := func(name string, fn func()) {
		t.Helper()
		u := pdfxtest.Measure(fn)
		t.Logf("%s (%d bytes): peak heap %.1f MiB, allocated %.1f MiB", name, size, float64(u.Peak)/(1<<20), float64(u.Alloc)/(1<<20))
		require.LessOrEqual(t, u.Peak, uint64(demoHeapLimit), "%s: peak heap", name)
	}

	var up struct{ Upload string }
	step("upload", func() {
		body, err := os.Open(path)
		require.NoError(t, err)
		defer body.Close()
		resp, err := s.hc.Post(s.base+"/demo/api/upload", "application/pdf", body)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&up))
	})
	var p demoPrepared
	step("prepare", func() {
		code := s.postJSON("/demo/api/prepare", map[string]any{"signer": demoUser1, "level": "Perakuan 1", "uploadId": up.Upload, "uploadName": "besar.pdf"}, &p)
		require.Equal(t, http.StatusOK, code)
	})
	otp := readOTP(t, s.hc, s.base, demoEmail(t, demoUser1), p.Challenge.VerificationCode)
	var r demoSignResult
	step("sign (complete, B-LTA, verify, archive)", func() {
		code := s.postJSON("/demo/api/sign", map[string]string{"session": p.Session, "pin": demoPIN1, "otp": otp}, &r)
		require.Equal(t, http.StatusOK, code)
	})
	require.Len(t, r.Items, 1)
	require.Equal(t, "signed", r.Items[0].Status)
	require.Equal(t, "valid", r.Items[0].Verification.Verdict)

	signed := filepath.Join(t.TempDir(), "besar-signed.pdf")
	step("download", func() {
		resp, err := s.hc.Get(s.base + r.Items[0].Download)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		out, err := os.Create(signed)
		require.NoError(t, err)
		_, err = io.Copy(out, resp.Body)
		require.NoError(t, errors.Join(err, out.Close()))
	})
	st, err := os.Stat(signed)
	require.NoError(t, err)
	require.Greater(t, st.Size(), size)
	checkPDF(t, signed, 1)
}
