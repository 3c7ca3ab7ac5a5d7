package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
)

// TestProgressInAPipe: away from a terminal, progress is plain lines (no
// carriage returns), at most one per tenth of the batch and the last one
// at the end.
func TestProgressInAPipe(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "prepared", 1000)
	assert.False(t, p.tty, "a buffer is not a terminal")
	for i := 1; i <= 1000; i++ {
		p.Step(i)
	}
	p.Done()
	out := b.String()
	assert.NotContains(t, out, "\r")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	assert.LessOrEqual(t, len(lines), 11)
	assert.Equal(t, "prepared 1000/1000", lines[len(lines)-1])
}

// TestProgressBarOnATerminal: on a terminal the line is redrawn as a bar,
// and Done ends it so the next message starts on its own line.
func TestProgressBarOnATerminal(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "prepared", 4)
	p.tty = true
	p.Step(1)
	p.Step(2)
	p.Done()
	b.WriteString("hostclient: failed\n")
	assert.Equal(t, "\rprepared [#######.......................] 1/4\rprepared [###############...............] 2/4\nhostclient: failed\n", b.String())
	p.Done()
	assert.True(t, strings.HasSuffix(b.String(), "failed\n"), "a second Done adds nothing")
}

// TestPrepareFailureEndsTheProgressLine: when a folder batch stops at a
// bad file, the progress so far does not run into the error message.
func TestPrepareFailureEndsTheProgressLine(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.pdf"), pdfxtest.Generate(pdfxtest.Options{}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.pdf"), []byte("not a PDF"), 0o600))
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf, err := root.IssueLeaf("ALIYA BINTI AHMAD", "850715015123", key.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	var out bytes.Buffer
	_, err = preparePDFs(context.Background(), dir, []*x509.Certificate{leaf, root.Cert}, "Perakuan 1", false, &out)
	require.Error(t, err)
	assert.Equal(t, "prepared 1/2\n", out.String())
}
