package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/stretchr/testify/require"
)

// TestStreamedUploadAndRepair: a PDF sent as the body of /demo/api/upload
// is stored on disk and prepared from there; a damaged one is refused with
// the reason and the advice unless the prepare request asks for a repair,
// which then prepares the repaired copy and says what it changed.
func TestStreamedUploadAndRepair(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf, err := root.IssueLeaf("ALIYA BINTI AHMAD", string(demoUsers[0].ID), key.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	chain := []*x509.Certificate{leaf, root.Cert}
	d := newHostDemo(nil, nil, slog.New(slog.DiscardHandler), t.TempDir())
	mux := http.NewServeMux()
	d.routes(mux)
	ctx := context.Background()

	upload := func(doc []byte) string {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/demo/api/upload", bytes.NewReader(doc)))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var out struct{ Upload string }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
		require.NotEmpty(t, out.Upload)
		return out.Upload
	}
	prepare := func(id string, repair bool) ([]*demoDoc, error) {
		body, err := json.Marshal(map[string]any{"signer": demoUsers[0].ID, "level": "Perakuan 1", "uploadId": id, "uploadName": "scan.pdf", "repair": repair})
		require.NoError(t, err)
		r := httptest.NewRequest(http.MethodPost, "/demo/api/prepare", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		_, docs, err := d.readPrepare(httptest.NewRecorder(), r)
		if err != nil {
			return nil, err
		}
		_, err = prepareDocs(ctx, docs, chain, demoUsers[0].ID, "Perakuan 1", nil)
		return docs, err
	}

	good := pdfxtest.Generate(pdfxtest.Options{Pages: 2})
	docs, err := prepare(upload(good), false)
	require.NoError(t, err)
	require.Len(t, docs, 1)
	stored, err := os.ReadFile(docs[0].path)
	require.NoError(t, err)
	require.Equal(t, good, stored, "the upload is stored as sent")
	require.Empty(t, docs[0].Repaired)
	releaseAll(docs)
	require.NoFileExists(t, docs[0].path, "released documents are removed")

	broken := bytes.TrimSuffix(good, []byte("%%EOF\n"))
	_, err = prepare(upload(broken), false)
	require.ErrorIs(t, err, pdf.ErrRepairable)
	require.Contains(t, err.Error(), "-repair")

	docs, err = prepare(upload(broken), true)
	require.NoError(t, err)
	require.NotEmpty(t, docs[0].Repaired, "what the repair did is kept")
	require.Contains(t, docs[0].DataHeader, "repaired copy", "the signing screen and the audit say the copy is signed")
	fixed, err := os.ReadFile(docs[0].path)
	require.NoError(t, err)
	_, err = pdfx.Open(bytes.NewReader(fixed), int64(len(fixed)), pdfx.Limits{})
	require.NoError(t, err, "the repaired copy is what is prepared")
	releaseAll(docs)

	_, err = prepare("no-such-upload", false)
	require.ErrorIs(t, err, roamsign.ErrNotFound)
}
