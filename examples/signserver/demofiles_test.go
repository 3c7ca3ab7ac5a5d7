package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/stretchr/testify/require"
)

// demoFixture is the host demo without a signing service, on its own
// data directory, with a signer's key and chain from a test PKI: the
// upload and prepare requests go through its handlers as the page sends
// them, and the test signs the prepared hashes itself.
type demoFixture struct {
	t     testing.TB
	d     *hostDemo
	mux   *http.ServeMux
	key   crypto.Signer
	chain []*x509.Certificate
}

func newDemoFixture(t testing.TB) *demoFixture {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf, err := root.IssueLeaf("ALIYA BINTI AHMAD", string(demoUsers[0].ID), key.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	d := newHostDemo(nil, nil, slog.New(slog.DiscardHandler), t.TempDir())
	mux := http.NewServeMux()
	d.routes(mux)
	return &demoFixture{t: t, d: d, mux: mux, key: key, chain: []*x509.Certificate{leaf, root.Cert}}
}

// send posts body to /demo/api/upload as the page does (the file as the
// raw request body); size is its Content-Length, -1 when unknown (sent
// in chunks).
func (f *demoFixture) send(body io.Reader, size int64) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/demo/api/upload", body)
	r.Header.Set("Content-Type", "application/pdf")
	r.ContentLength = size
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, r)
	return rec
}

// upload stores doc through /demo/api/upload and returns its id.
func (f *demoFixture) upload(doc []byte) string {
	f.t.Helper()
	rec := f.send(bytes.NewReader(doc), int64(len(doc)))
	require.Equal(f.t, http.StatusOK, rec.Code, rec.Body.String())
	var out struct{ Upload string }
	require.NoError(f.t, json.Unmarshal(rec.Body.Bytes(), &out))
	require.NotEmpty(f.t, out.Upload)
	return out.Upload
}

// prepare reads a prepare request naming upload id and prepares its
// documents.
func (f *demoFixture) prepare(id string, repair bool) ([]*demoDoc, error) {
	body, err := json.Marshal(map[string]any{"signer": demoUsers[0].ID, "level": "Perakuan 1", "uploadId": id, "uploadName": "scan.pdf", "repair": repair})
	require.NoError(f.t, err)
	r := httptest.NewRequest(http.MethodPost, "/demo/api/prepare", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	_, docs, err := f.d.readPrepare(httptest.NewRecorder(), r)
	if err != nil {
		return docs, err
	}
	_, err = prepareDocs(context.Background(), docs, f.chain, demoUsers[0].ID, "Perakuan 1", nil)
	return docs, err
}

// TestStreamedUploadAndRepair: a PDF sent as the body of /demo/api/upload
// is stored on disk and prepared from there; a damaged one is refused with
// the reason and the advice to tick the repair box unless the prepare
// request asks for a repair, which then prepares the repaired copy and
// says what it changed.
func TestStreamedUploadAndRepair(t *testing.T) {
	f := newDemoFixture(t)

	good := pdfxtest.Generate(pdfxtest.Options{Pages: 2})
	docs, err := f.prepare(f.upload(good), false)
	require.NoError(t, err)
	require.Len(t, docs, 1)
	stored, err := os.ReadFile(docs[0].path)
	require.NoError(t, err)
	require.Equal(t, good, stored, "the upload is stored as sent")
	require.Nil(t, docs[0].repaired)
	releaseAll(docs)
	require.NoFileExists(t, docs[0].path, "released documents are removed")

	broken := bytes.TrimSuffix(good, []byte("%%EOF\n"))
	_, err = f.prepare(f.upload(broken), false)
	require.ErrorIs(t, err, pdf.ErrRepairable)
	err = whyUnsigned(err)
	var p *demoProblem
	require.ErrorAs(t, err, &p)
	require.Equal(t, reasonDamaged, p.reason)
	require.Contains(t, err.Error(), `Tick "Repair damaged PDF"`)

	docs, err = f.prepare(f.upload(broken), true)
	require.NoError(t, err)
	require.NotNil(t, docs[0].repaired, "what the repair did is kept")
	require.NotEmpty(t, docs[0].repaired.Fixes)
	require.Contains(t, docs[0].DataHeader, "repaired copy", "the signing screen and the audit say the copy is signed")
	fixed, err := os.ReadFile(docs[0].path)
	require.NoError(t, err)
	_, err = pdfx.Open(bytes.NewReader(fixed), int64(len(fixed)), pdfx.Limits{})
	require.NoError(t, err, "the repaired copy is what is prepared")
	releaseAll(docs)

	_, err = f.prepare("no-such-upload", false)
	require.ErrorIs(t, err, roamsign.ErrNotFound)
}

// TestDemoFilesLeftovers: the first document the demo stores removes the
// files a crash left in its work directory, and keeps recent ones.
func TestDemoFilesLeftovers(t *testing.T) {
	dir := t.TempDir()
	old, recent := filepath.Join(dir, "doc-old.pdf"), filepath.Join(dir, "doc-recent.pdf")
	require.NoError(t, os.WriteFile(old, []byte("%PDF"), 0o600))
	require.NoError(t, os.WriteFile(recent, []byte("%PDF"), 0o600))
	then := time.Now().Add(-demoLeftover - time.Minute)
	require.NoError(t, os.Chtimes(old, then, then))

	f := &demoFiles{dir: dir}
	p, err := f.create(func(w io.Writer) error { _, err := w.Write([]byte("%PDF-1.7")); return err })
	require.NoError(t, err)
	require.FileExists(t, p)
	require.NoFileExists(t, old, "a crash's leftover")
	require.FileExists(t, recent)

	_, err = f.create(func(io.Writer) error { return roamsign.E(roamsign.ErrInvalidInput, "test", "cut short") })
	require.ErrorIs(t, err, roamsign.ErrInvalidInput)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "a failed write leaves nothing behind")
}

// mediumRefused is a signing service whose Medium call fails; the demo's
// other calls are not reached.
type mediumRefused struct{ roamsign.API }

func (mediumRefused) Medium(context.Context, roamsign.MediumRequest) (*roamsign.MediumResponse, error) {
	return nil, roamsign.E(roamsign.ErrNotFound, "test", "no such user")
}

// TestDemoPrepareFailureReleasesUpload: when a prepare request fails
// before its session is stored (here the service does not know the
// signer), the uploaded file is removed from the work directory instead
// of staying there until the next start.
func TestDemoPrepareFailureReleasesUpload(t *testing.T) {
	f := newDemoFixture(t)
	f.d.api = mediumRefused{}
	id := f.upload(pdfxtest.Generate(pdfxtest.Options{Pages: 1}))
	entries, err := os.ReadDir(f.d.files.dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the upload is on disk")

	body, err := json.Marshal(map[string]any{"signer": demoUsers[0].ID, "level": "Perakuan 1", "uploadId": id, "uploadName": "scan.pdf"})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/demo/api/prepare", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, r)
	require.Equal(t, http.StatusNotFound, rec.Code, rec.Body.String())
	entries, err = os.ReadDir(f.d.files.dir)
	require.NoError(t, err)
	require.Empty(t, entries, "the upload is released")
}
