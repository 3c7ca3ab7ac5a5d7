package pdf

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/stretchr/testify/require"
)

func TestStateRoundTrip(t *testing.T) {
	in := docs(t)["classic"]
	d, err := newDocument(context.Background(), bytes.NewReader(in), int64(len(in)), sigParams{hash: roamsign.SHA256, contentsSize: 4000, when: time.Now()}, DefaultMaxSize)
	require.NoError(t, err)
	st := d.marshal([]byte("cms"))
	d2, cs, err := unmarshalDocument(st)
	require.NoError(t, err)
	d2.ra = bytes.NewReader(in)
	if string(cs) != "cms" || d2.byteRange != d.byteRange || !bytes.Equal(d2.update, d.update) || !bytes.Equal(d2.digest, d.digest) {
		t.Fatal("state differs after a round trip")
	}
	// Every truncation and many single-byte changes are refused or give a
	// consistent document; none panics.
	for i := 0; i < len(st); i += 7 {
		_, _, _ = unmarshalDocument(st[:i])
		bad := bytes.Clone(st)
		bad[i] ^= 0x55
		_, _, _ = unmarshalDocument(bad)
	}
}

func FuzzState(f *testing.F) {
	in := pdfxtest.Generate(pdfxtest.Options{})
	d, err := newDocument(context.Background(), bytes.NewReader(in), int64(len(in)), sigParams{hash: roamsign.SHA256, contentsSize: 100, when: time.Now()}, DefaultMaxSize)
	require.NoError(f, err)
	f.Add(d.marshal([]byte("cms")))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = unmarshalDocument(b)
	})
}
