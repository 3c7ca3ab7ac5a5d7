package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/stretchr/testify/require"
)

// uploadRequest builds the JSON request the demo page sends to upload doc.
func uploadRequest(t *testing.T, doc []byte) *http.Request {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"signer": demoUsers[0].ID, "level": "Perakuan 1",
		"upload": map[string]string{"name": "hostile.pdf", "data": base64.StdEncoding.EncodeToString(doc)},
	})
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodPost, "/demo/api/prepare", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// TestUploadAdversarialBounded sends each hostile document through the
// demo's upload path (the JSON request read with its size limits, then
// the PDF prepared for signing): a typed error or a prepared document,
// within max(64 MiB, 8 × file size) of heap and two seconds of CPU, with
// the JSON and base64 decoding counted.
func TestUploadAdversarialBounded(t *testing.T) {
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf, err := root.IssueLeaf("ALIYA BINTI AHMAD", string(demoUsers[0].ID), key.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	chain := []*x509.Certificate{leaf, root.Cert}
	d := newHostDemo(nil, nil, slog.New(slog.DiscardHandler), t.TempDir())

	// The path works on an honest upload.
	_, docs, err := d.readPrepare(httptest.NewRecorder(), uploadRequest(t, pdfxtest.Generate(pdfxtest.Options{})))
	require.NoError(t, err)
	hashes, err := prepareDocs(context.Background(), docs, chain, demoUsers[0].ID, "Perakuan 1", nil)
	require.NoError(t, err)
	require.Len(t, hashes, 1)

	for _, c := range pdfxtest.Adversarial() {
		t.Run(c.Name, func(t *testing.T) {
			req := uploadRequest(t, c.Data)
			pdfxtest.RequireBounded(t, c, func() error {
				_, docs, err := d.readPrepare(httptest.NewRecorder(), req)
				if err != nil {
					return err
				}
				_, err = prepareDocs(context.Background(), docs, chain, demoUsers[0].ID, "Perakuan 1", nil)
				return err
			})
		})
	}
	// An upload beyond the limit is refused as too large.
	_, _, err = d.readPrepare(httptest.NewRecorder(), uploadRequest(t, make([]byte, demoMaxUpload+1)))
	require.ErrorIs(t, err, roamsign.ErrTooLarge)
}
