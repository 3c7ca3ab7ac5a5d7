package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/internal/testpki"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/roamsign/roamsign/transport/httpapi"
	"github.com/stretchr/testify/require"
)

// TestFolderBatchRepair: a damaged PDF stops a folder batch with the
// reason and the advice, unless -repair asked for a repaired copy, which
// is then written beside the batch and is what is signed.
func TestFolderBatchRepair(t *testing.T) {
	key, chain := signerChain(t)

	dir := t.TempDir()
	good := pdfxtest.Generate(pdfxtest.Options{Pages: 2})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.pdf"), good, 0o600))
	broken := bytes.TrimSuffix(good, []byte("%%EOF\n"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.pdf"), broken, 0o600))
	encrypted := pdfxtest.QPDF(t, good, pdfxtest.OwnerOnlyEncryptions["aes-256"]...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c.pdf"), encrypted, 0o600))
	ctx := context.Background()
	var progress bytes.Buffer

	_, err := preparePDFs(ctx, dir, chain, "Perakuan 1", false, &progress)
	require.ErrorIs(t, err, pdf.ErrRepairable)
	require.Contains(t, httpapi.Describe(err), "b.pdf: ")
	require.Contains(t, httpapi.Describe(err), "-repair")
	require.NoDirExists(t, filepath.Join(dir, "repaired"), "nothing is repaired without -repair")

	batch, err := preparePDFs(ctx, dir, chain, "Perakuan 1", true, &progress)
	require.NoError(t, err)
	require.Len(t, batch.hashes, 3)
	require.Contains(t, progress.String(), "repaired b.pdf")
	require.Contains(t, progress.String(), "repaired c.pdf (the document is encrypted with permissions only): removed the encryption")
	repaired := filepath.Join(dir, "repaired", "b.pdf")
	require.Equal(t, repaired, batch.paths[1])
	require.Equal(t, filepath.Join(dir, "repaired", "c.pdf"), batch.paths[2])

	resp := &roamsign.SignResponse{TransactionID: "tx"}
	for _, h := range batch.hashes {
		sig, err := key.Sign(rand.Reader, h.Value, h.Algorithm.CryptoHash())
		require.NoError(t, err)
		resp.Items = append(resp.Items, roamsign.SignedItem{Status: roamsign.ItemSigned, Signature: sig})
	}
	require.NoError(t, batch.complete(ctx, resp, &progress))
	signed, err := os.ReadFile(filepath.Join(dir, "signed", "b.pdf"))
	require.NoError(t, err)
	copyBytes, err := os.ReadFile(repaired)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(signed, copyBytes), "the signed file is the repaired copy plus the signature")
	pdfxtest.Check(t, signed)
	signed, err = os.ReadFile(filepath.Join(dir, "signed", "c.pdf"))
	require.NoError(t, err)
	pdfxtest.Check(t, signed)
	require.NotContains(t, string(signed), "/Encrypt", "the decrypted copy is what is signed")
	left, err := filepath.Glob(filepath.Join(dir, "*", ".writing-*"))
	require.NoError(t, err)
	require.Empty(t, left, "no temporary files left")
}

// TestFolderBatchEncrypted: a PDF encrypted with permissions only stops
// the batch without -repair, with the advice to use it; one that needs a
// password to open stops it even with -repair, with the advice to decrypt
// it with the password; nothing is written for it.
func TestFolderBatchEncrypted(t *testing.T) {
	_, chain := signerChain(t)

	good := pdfxtest.Generate(pdfxtest.Options{})
	dir := t.TempDir()
	owner := pdfxtest.QPDF(t, good, pdfxtest.OwnerOnlyEncryptions["rc4-128"]...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "terhad.pdf"), owner, 0o600))
	var progress bytes.Buffer
	_, err := preparePDFs(context.Background(), dir, chain, "Perakuan 1", false, &progress)
	require.ErrorIs(t, err, pdf.ErrOwnerEncrypted)
	require.Contains(t, httpapi.Describe(err), "terhad.pdf: the document is encrypted with permissions only (it opens without a password): to sign it, repair it with removal of the encryption (pdf.Repair with RemoveEncryption, hostclient -repair")
	require.NoDirExists(t, filepath.Join(dir, "repaired"))

	dir = t.TempDir()
	doc := pdfxtest.QPDF(t, good, pdfxtest.UserPasswordEncryption...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rahsia.pdf"), doc, 0o600))
	_, err = preparePDFs(context.Background(), dir, chain, "Perakuan 1", true, &progress)
	require.ErrorIs(t, err, pdf.ErrPasswordRequired)
	said := httpapi.Describe(err) // what a person reads
	require.Contains(t, said, "rahsia.pdf: the document needs a password to open: roamsign cannot remove that: decrypt it with the password first (for example qpdf --decrypt --password=")
	require.NoFileExists(t, filepath.Join(dir, "repaired", "rahsia.pdf"))
}

// signerChain returns a signer's key and its chain from a new test root.
func signerChain(t *testing.T) (*rsa.PrivateKey, []*x509.Certificate) {
	t.Helper()
	root, err := testpki.NewRoot(testpki.Options{})
	require.NoError(t, err)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	leaf, err := root.IssueLeaf("AHMAD BIN ALI", "800101145678", key.Public(), testpki.LeafOptions{})
	require.NoError(t, err)
	return key, append([]*x509.Certificate{leaf}, root.Chain()...)
}
