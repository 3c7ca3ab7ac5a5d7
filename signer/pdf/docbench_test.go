package pdf

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/stretchr/testify/require"
)

// BenchmarkDocumentLayer5K measures the PDF work alone (read, build the
// update, hash the ByteRange, embed a 3 KB container, write) on a 5 KB file.
func BenchmarkDocumentLayer5K(b *testing.B) {
	doc := pdfxtest.Generate(pdfxtest.Options{Pages: 2, Padding: 4000})
	der := make([]byte, 3000)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		d, err := newDocument(context.Background(), bytes.NewReader(doc), int64(len(doc)),
			sigParams{hash: roamsign.SHA256, contentsSize: 8192, when: time.Unix(1700000000, 0), name: "bench"}, DefaultMaxSize)
		require.NoError(b, err)
		require.NoError(b, d.write(context.Background(), der, io.Discard))
	}
}

// BenchmarkOpen5K measures reading the structure of a 5 KB file.
func BenchmarkOpen5K(b *testing.B) {
	doc := pdfxtest.Generate(pdfxtest.Options{Pages: 2, Padding: 4000})
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := buildUpdate(bytes.NewReader(doc), int64(len(doc)), sigParams{hash: roamsign.SHA256, contentsSize: 8192, when: time.Unix(1700000000, 0), name: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}
