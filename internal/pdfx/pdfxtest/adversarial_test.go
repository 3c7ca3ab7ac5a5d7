package pdfxtest

import (
	"bytes"
	"compress/zlib"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// The bombs are valid zlib streams: they inflate to what they claim, with
// a correct checksum.
func TestDeflateRepeat(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 1 << 20, 3<<20 + 17} {
		z := deflateRepeat([]byte("prefix"), "ab ", n, []byte("suffix"))
		zr, err := zlib.NewReader(bytes.NewReader(z))
		require.NoError(t, err)
		out, err := io.ReadAll(zr)
		require.NoError(t, err, "n=%d", n)
		want := append([]byte("prefix"), bytes.Repeat([]byte("ab "), n)...)
		require.Equal(t, append(want, "suffix"...), out, "n=%d", n)
	}
}
