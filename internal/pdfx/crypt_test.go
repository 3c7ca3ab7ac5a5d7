package pdfx_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/stretchr/testify/require"
)

// plainDoc is the document the encryption tests encrypt: three pages, an
// information dictionary, a form field with text and XMP metadata.
func plainDoc() []byte {
	return pdfxtest.Generate(pdfxtest.Options{Pages: 3, Info: true, AcroForm: true, Metadata: true})
}

// TestDecrypt: every owner-password-only encryption opens with the empty
// user password; the decrypting reader gives the original strings (the
// information dictionary's title, the form field's name and value) and
// page contents, and WriteFull writes a file without /Encrypt that
// qpdf --check accepts and that holds the same. Metadata left in clear
// stays readable, and encrypted metadata is decrypted.
func TestDecrypt(t *testing.T) {
	plain := plainDoc()
	want := pageContents(t, plain)
	for name, doc := range pdfxtest.EncryptedDocs(t, plain) {
		t.Run(name, func(t *testing.T) {
			r, err := pdfx.Open(bytes.NewReader(doc), int64(len(doc)), pdfx.Limits{})
			require.NoError(t, err)
			require.True(t, r.Encrypted())
			require.NoError(t, r.Decryptable())
			require.NoError(t, r.Decrypt())
			requireOriginal(t, r, want)

			var out bytes.Buffer
			require.NoError(t, r.WriteFull(context.Background(), &out))
			pdfxtest.Check(t, out.Bytes())
			c, err := pdfx.Open(bytes.NewReader(out.Bytes()), int64(out.Len()), pdfx.Limits{})
			require.NoError(t, err)
			require.False(t, c.Encrypted(), "the copy has no /Encrypt")
			require.Equal(t, r.Trailer()["ID"], c.Trailer()["ID"], "the copy keeps the /ID")
			requireOriginal(t, c, want)
		})
	}
}

// requireOriginal requires r to present the strings and page contents of
// plainDoc.
func requireOriginal(t *testing.T, r *pdfx.Reader, pages [][]byte) {
	t.Helper()
	info, err := r.ResolveDict(r.Trailer()["Info"], "info")
	require.NoError(t, err)
	require.Equal(t, pdfx.String("roamsign test"), info["Title"])
	cat, err := r.Catalog()
	require.NoError(t, err)
	form, err := r.ResolveDict(cat["AcroForm"], "form")
	require.NoError(t, err)
	fields, ok := form["Fields"].(pdfx.Array)
	require.True(t, ok)
	field, err := r.ResolveDict(fields[0], "field")
	require.NoError(t, err)
	require.Equal(t, pdfx.String("name"), field["T"])
	require.Equal(t, pdfx.String("Ali"), field["V"])
	require.Equal(t, pages, pageContents(t, r))
	mo, err := r.Resolve(cat["Metadata"])
	require.NoError(t, err)
	ms, ok := mo.(*pdfx.Stream)
	require.True(t, ok)
	xmp, err := r.StreamData(ms)
	require.NoError(t, err)
	require.Contains(t, string(xmp), pdfxtest.XMPTitle)
}

// pageContents returns the decoded content stream of every page of a
// document (bytes or a reader).
func pageContents(t *testing.T, doc any) [][]byte {
	t.Helper()
	r, ok := doc.(*pdfx.Reader)
	if !ok {
		b := doc.([]byte)
		var err error
		r, err = pdfx.Open(bytes.NewReader(b), int64(len(b)), pdfx.Limits{})
		require.NoError(t, err)
	}
	cat, err := r.Catalog()
	require.NoError(t, err)
	pages, err := r.ResolveDict(cat["Pages"], "pages")
	require.NoError(t, err)
	var out [][]byte
	for _, k := range pages["Kids"].(pdfx.Array) {
		page, err := r.ResolveDict(k, "page")
		require.NoError(t, err)
		co, err := r.Resolve(page["Contents"])
		require.NoError(t, err)
		s, ok := co.(*pdfx.Stream)
		require.True(t, ok)
		data, err := r.StreamData(s)
		require.NoError(t, err)
		out = append(out, bytes.TrimSpace(data))
	}
	return out
}

// TestDecryptUserPassword: a file that needs a password to open is
// refused with ErrPasswordRequired, and the reader is left as it was.
func TestDecryptUserPassword(t *testing.T) {
	plain := plainDoc()
	for name, args := range map[string][]string{
		"aes-256": pdfxtest.UserPasswordEncryption,
		"aes-128": {"--encrypt", "user", "owner", "128", "--use-aes=y", "--"},
		"rc4-40":  {"--allow-weak-crypto", "--encrypt", "user", "owner", "40", "--"},
	} {
		t.Run(name, func(t *testing.T) {
			doc := pdfxtest.QPDF(t, plain, args...)
			r, err := pdfx.Open(bytes.NewReader(doc), int64(len(doc)), pdfx.Limits{})
			require.NoError(t, err)
			require.ErrorIs(t, r.Decryptable(), pdfx.ErrPasswordRequired)
			err = r.Decrypt()
			require.ErrorIs(t, err, pdfx.ErrPasswordRequired)
			require.ErrorIs(t, err, roamsign.ErrUnsupported)
			require.Error(t, r.WriteFull(context.Background(), &bytes.Buffer{}), "nothing is written encrypted")
		})
	}
}

// TestDecryptUnsupported: other security handlers, versions and crypt
// filters are refused with ErrUnsupportedEncryption; a malformed
// encryption dictionary with roamsign.ErrInvalidInput.
func TestDecryptUnsupported(t *testing.T) {
	aes := pdfxtest.QPDF(t, plainDoc(), pdfxtest.OwnerOnlyEncryptions["aes-128"]...)
	for name, c := range map[string]struct {
		from, to string
		want     error
	}{
		"public-key handler": {"/Filter /Standard", "/Filter /PubSecXX", pdfx.ErrUnsupportedEncryption},
		"version 3":          {"/V 4", "/V 3", pdfx.ErrUnsupportedEncryption},
		"unknown method":     {"/CFM /AESV2", "/CFM /AESV9", pdfx.ErrUnsupportedEncryption},
		"no method":          {"/CFM /AESV2", "/CFM /None ", pdfx.ErrUnsupportedEncryption},
		"undefined filter":   {"/StmF /StdCF", "/StmF /XxxCF", roamsign.ErrInvalidInput},
		"no /P":              {"/P -", "/X -", roamsign.ErrInvalidInput},
	} {
		t.Run(name, func(t *testing.T) {
			doc := qdfEdit(t, aes, c.from, c.to)
			r, err := pdfx.Open(bytes.NewReader(doc), int64(len(doc)), pdfx.Limits{})
			require.NoError(t, err)
			require.ErrorIs(t, r.Decrypt(), c.want)
		})
	}
}

// qdfEdit replaces from with to (as long, so that no offset moves) in
// doc, where it occurs once: the encryption dictionary of a file written
// by qpdf.
func qdfEdit(t *testing.T, doc []byte, from, to string) []byte {
	t.Helper()
	require.Len(t, to, len(from))
	require.Equal(t, 1, bytes.Count(doc, []byte(from)), "%q in the document", from)
	i := bytes.Index(doc, []byte(from))
	out := bytes.Clone(doc[:i])
	out = append(out, to...)
	return append(out, doc[i+len(from):]...)
}

// FuzzDecrypt: any input, decrypted and written whole, gives a copy or a
// typed error, never a panic, within the memory bound of a reader.
func FuzzDecrypt(f *testing.F) {
	plain := plainDoc()
	for _, doc := range pdfxtest.EncryptedDocs(f, plain) {
		f.Add(doc)
	}
	f.Add(pdfxtest.QPDF(f, plain, pdfxtest.UserPasswordEncryption...))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, data, func(r *pdfx.Reader) error {
			if err := r.Decrypt(); err != nil {
				return err
			}
			walk(r)
			return r.WriteFull(context.Background(), io.Discard)
		})
	})
}
