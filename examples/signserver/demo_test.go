package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
)

// TestDemoNamesAndHeaders: an uploaded file's name is cut on a character
// boundary and a batch of the demo's 20 documents has a data header
// within the service's limit, however long the names.
func TestDemoNamesAndHeaders(t *testing.T) {
	name := "a" + strings.Repeat("é", 40) // byte 64 falls inside an "é"
	cut := truncate(name, 64)
	assert.True(t, utf8.ValidString(cut))
	assert.Equal(t, 63, len(cut))
	assert.Equal(t, "ab", cleanName("a\u202eb\x00", 64), "format and control characters are dropped")
	assert.Equal(t, "a", cleanName("a\xff", 64), "invalid UTF-8 is dropped")

	for _, n := range []int{1, 2, 18, demoMaxDocs} {
		for _, nameLen := range []int{13, 64} {
			names := make([]string, n)
			for i := range names {
				names[i] = truncate(strings.Repeat("é", nameLen), nameLen)
			}
			h := batchHeader(names, demoUsers[0].ID, strings.Repeat("Perakuan ", 8)[:64])
			assert.LessOrEqual(t, len(h), demoMaxHeader, "%d names of %d bytes", n, nameLen)
			assert.NoError(t, roamsign.CheckDataHeader(h))
			assert.Contains(t, h, string(demoUsers[0].ID))
			if n > 1 {
				assert.True(t, strings.HasPrefix(h, strconv.Itoa(n)+" dokumen: "), h)
			}
		}
	}
}

// TestDemoOversizeOneMessage: an upload over the limit gets one refusal,
// whether its size is announced (Content-Length) or found while it is
// read, and it is the wording the page shows from /demo/api/config: the
// limit in MB, in plain words.
func TestDemoOversizeOneMessage(t *testing.T) {
	f := newDemoFixture(t)
	f.d.maxUpload = 3 * demoMB
	over := bytes.Repeat([]byte("%PDF-1.7\n"), 3*demoMB/9+1)
	var details []string
	for _, size := range []int64{int64(len(over)), -1} {
		rec := f.send(bytes.NewReader(over), size)
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, "Content-Length %d", size)
		assert.Equal(t, reasonTooLarge, rec.Header().Get(reasonHeader))
		var p struct{ Detail string }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
		details = append(details, p.Detail)
	}
	assert.Equal(t, details[0], details[1], "two ways of sending, two messages")
	assert.Equal(t, "The PDF is larger than 3 MB, the largest this demo accepts. Choose a smaller file.", details[0])

	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/demo/api/config", nil))
	var cfg struct {
		MaxUploadBytes int64     `json:"maxUploadBytes"`
		TooLarge       [2]string `json:"tooLarge"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &cfg))
	assert.Equal(t, int64(3*demoMB), cfg.MaxUploadBytes)
	assert.Equal(t, details[0], cfg.TooLarge[1], "the page shows the server's words")
	assert.Contains(t, cfg.TooLarge[0], "3 MB")

	// A file of exactly the limit is accepted.
	rec = f.send(bytes.NewReader(over[:3*demoMB]), 3*demoMB)
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// demoPost posts v to a demo endpoint and returns the status, the
// refusal's reason and the decoded answer.
func demoPost(t *testing.T, s *testServer, path string, v any) (int, string, map[string]any) {
	t.Helper()
	body, err := json.Marshal(v)
	require.NoError(t, err)
	resp, err := s.hc.Post(s.base+path, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), "%s: %.200s", path, b)
	return resp.StatusCode, resp.Header.Get(reasonHeader), out
}

// TestDemoServer: through the demo's endpoints, a batch of 20 documents
// and an upload with a long non-ASCII name are prepared; an encrypted
// upload and a forgotten signing screen are refused with their reasons;
// the banner prints the demo PINs only on the start that set them, and
// the signed PDFs (download and next approval level) survive a restart.
func TestDemoServer(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	require.Eventually(t, func() bool { return strings.Contains(s.stdout.String(), "Demo signers") }, 30*time.Second, 20*time.Millisecond)
	assert.Contains(t, s.stdout.String(), "PIN "+demoPIN1, "the first start prints the demo PIN it set")

	batch := make([]string, demoMaxDocs)
	for i := range batch {
		batch[i] = sampleVouchers[i%len(sampleVouchers)].ID
	}
	code, reason, out := demoPost(t, s, "/demo/api/prepare", map[string]any{"signer": demoUser1, "level": "Perakuan 1", "docs": batch})
	require.Equal(t, http.StatusOK, code, "batch of %d: %s %v", demoMaxDocs, reason, out)
	assert.Len(t, out["items"], demoMaxDocs)

	upload := func(name string, doc []byte) (int, string, map[string]any) {
		return demoPost(t, s, "/demo/api/prepare", map[string]any{"signer": demoUser2, "level": "Perakuan 1",
			"uploadId": s.uploadDoc(doc), "uploadName": name})
	}
	plain := pdfxtest.Generate(pdfxtest.Options{})
	code, _, out = upload("a"+strings.Repeat("é", 40)+".pdf", plain)
	require.Equal(t, http.StatusOK, code, "long non-ASCII name: %v", out)
	header := out["items"].([]any)[0].(map[string]any)["dataHeader"].(string)
	assert.True(t, strings.HasPrefix(header, "aé"), header)

	in := writeTemp(t, "plain.pdf", plain)
	enc := filepath.Join(t.TempDir(), "encrypted.pdf")
	cmd := exec.Command(checkTool(t, "qpdf"), "--encrypt", "", "owner-secret", "256", "--", in, enc)
	outb, err := cmd.CombinedOutput()
	require.NoError(t, err, "qpdf --encrypt: %s", outb)
	encrypted, err := os.ReadFile(enc)
	require.NoError(t, err)
	code, reason, out = upload("rahsia.pdf", encrypted)
	assert.Equal(t, http.StatusBadRequest, code, "%v", out)
	assert.Equal(t, reasonOwnerEncrypted, reason)
	assert.Contains(t, out["detail"], `Tick "Repair damaged PDF"`)
	code, reason, out = upload("kata-laluan.pdf", pdfxtest.QPDF(t, plain, pdfxtest.UserPasswordEncryption...))
	assert.Equal(t, http.StatusBadRequest, code, "%v", out)
	assert.Equal(t, reasonEncrypted, reason)
	assert.Contains(t, out["detail"], "needs a password to open")

	code, reason, _ = demoPost(t, s, "/demo/api/sign", map[string]string{"session": "forgotten", "pin": demoPIN1, "otp": "123456"})
	assert.Equal(t, http.StatusGone, code)
	assert.Equal(t, reasonScreenExpired, reason)

	signed, link, tx := signDemo(t, s, demoUser1, demoPIN1)
	require.NoError(t, s.stop())

	s = startServer(t, dir)
	require.Eventually(t, func() bool { return strings.Contains(s.stdout.String(), "Demo signers") }, 30*time.Second, 20*time.Millisecond)
	assert.NotContains(t, s.stdout.String(), demoPIN1, "a later start prints a PIN that may have been changed")
	assert.NotContains(t, s.stdout.String(), demoPIN2)
	assert.Equal(t, signed, s.get(link), "the download link does not survive a restart")
	code, _, out = demoPost(t, s, "/demo/api/prepare", map[string]any{"signer": demoUser2, "level": "Perakuan 2", "from": tx})
	assert.Equal(t, http.StatusOK, code, "next approval level after a restart: %v", out)
}

// TestDemoArchiveRefusesPaths: a transaction id from a download URL is a
// plain name; one that climbs out of the archive directory reads nothing.
func TestDemoArchiveRefusesPaths(t *testing.T) {
	base := t.TempDir()
	a := &demoArchive{dir: filepath.Join(base, "demo-signed"), keep: demoRetention, now: time.Now}
	require.NoError(t, a.store("tx1", []*demoDoc{{Name: "PV2026/000123", path: writeTemp(t, "signed.pdf", []byte("%PDF-1.7 signed"))}}))
	f, name, err := a.open("tx1", 0, false)
	require.NoError(t, err)
	f.Close()
	assert.Equal(t, "PV2026/000123", name)

	// Another directory beside the archive, laid out as a transaction.
	outside := filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(outside, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(outside, archiveMetaFile), []byte(`{"docs":[{"name":"x","file":"0.pdf"}]}`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "0.pdf"), []byte("secret"), 0o600))
	for _, tx := range []string{"../outside", "..", "/etc", "tx1/../../outside", ""} {
		_, _, err := a.open(tx, 0, false)
		assert.ErrorIs(t, err, roamsign.ErrNotFound, "%q", tx)
		_, err = a.load(tx, &demoFiles{dir: t.TempDir()})
		assert.ErrorIs(t, err, roamsign.ErrNotFound, "%q", tx)
	}
}

// TestDemoArchiveRetention: kept transactions older than the retention
// period are deleted when new ones are kept.
func TestDemoArchiveRetention(t *testing.T) {
	now := time.Now()
	a := &demoArchive{dir: t.TempDir(), keep: demoRetention, now: func() time.Time { return now }}
	require.NoError(t, a.store("old", []*demoDoc{{Name: "a", path: writeTemp(t, "a.pdf", []byte("%PDF"))}}))
	now = now.Add(demoRetention + time.Hour)
	require.NoError(t, a.store("new", []*demoDoc{{Name: "b", path: writeTemp(t, "b.pdf", []byte("%PDF"))}}))
	files := &demoFiles{dir: t.TempDir()}
	_, err := a.load("old", files)
	assert.ErrorIs(t, err, roamsign.ErrNotFound, "kept beyond the retention period")
	docs, err := a.load("new", files)
	require.NoError(t, err)
	require.Len(t, docs, 1)
	releaseAll(docs)
	docs, err = a.load("new", files)
	require.NoError(t, err, "the archive keeps its file when a copy loaded from it is released")
	releaseAll(docs)
}
