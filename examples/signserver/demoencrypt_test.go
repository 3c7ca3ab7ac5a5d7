package main

import (
	"os"
	"testing"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/signer/pdf"
	"github.com/stretchr/testify/require"
)

// TestEncryptedUploadRepair: an upload encrypted with permissions only is
// refused with the advice to tick the repair box, and with the repair its
// decrypted copy is prepared; one that needs a password to open is
// refused even with the repair, with the advice to decrypt it first.
func TestEncryptedUploadRepair(t *testing.T) {
	f := newDemoFixture(t)
	good := pdfxtest.Generate(pdfxtest.Options{Pages: 2})

	owner := pdfxtest.QPDF(t, good, pdfxtest.OwnerOnlyEncryptions["aes-128"]...)
	_, err := f.prepare(f.upload(owner), false)
	require.ErrorIs(t, err, pdf.ErrOwnerEncrypted)
	err = whyUnsigned(err)
	var p *demoProblem
	require.ErrorAs(t, err, &p)
	require.Equal(t, reasonOwnerEncrypted, p.reason, "the page words it apart from an encryption it cannot remove")
	require.Contains(t, err.Error(), `Tick "Repair damaged PDF" and sign again: a decrypted copy is then signed.`)

	docs, err := f.prepare(f.upload(owner), true)
	require.NoError(t, err)
	require.NotNil(t, docs[0].repaired)
	require.Equal(t, "the document is encrypted with permissions only", docs[0].repaired.Damage)
	require.Contains(t, docs[0].repaired.Fixes, "removed the encryption (no password is needed to open the document; the owner password's restrictions are removed)")
	fixed, err := os.ReadFile(docs[0].path)
	require.NoError(t, err)
	require.NotContains(t, string(fixed), "/Encrypt", "the decrypted copy is what is prepared")
	releaseAll(docs)

	_, err = f.prepare(f.upload(pdfxtest.QPDF(t, good, pdfxtest.UserPasswordEncryption...)), true)
	require.ErrorIs(t, err, pdf.ErrPasswordRequired)
	require.Contains(t, whyUnsigned(err).Error(), "needs a password to open: decrypt it with the password")
}
