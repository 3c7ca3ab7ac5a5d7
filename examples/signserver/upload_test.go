package main

import (
	"testing"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/stretchr/testify/require"
)

// TestUploadAdversarialBounded sends each hostile document through the
// demo's upload path as the page does (streamed to /demo/api/upload, then
// a prepare request naming it, the PDF prepared for signing): a typed
// error or a prepared document, within max(64 MiB, 8 × file size) of heap
// and two seconds of CPU.
func TestUploadAdversarialBounded(t *testing.T) {
	f := newDemoFixture(t)

	// The path works on an honest upload.
	docs, err := f.prepare(f.upload(pdfxtest.Generate(pdfxtest.Options{})), false)
	require.NoError(t, err)
	require.Len(t, docs, 1)
	require.NotNil(t, docs[0].prep)
	releaseAll(docs)

	for _, c := range pdfxtest.Adversarial() {
		t.Run(c.Name, func(t *testing.T) {
			var docs []*demoDoc
			pdfxtest.RequireBounded(t, c, func() error {
				var err error
				docs, err = f.prepare(f.upload(c.Data), false)
				return err
			})
			releaseAll(docs)
		})
	}
}
