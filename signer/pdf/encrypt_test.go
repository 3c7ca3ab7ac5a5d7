package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/roamsign/roamsign/verify"
	"github.com/stretchr/testify/require"
)

// encryptedSource is the document the encryption tests encrypt: pages
// with text, an information dictionary, a form field and XMP metadata.
func encryptedSource() []byte {
	return pdfxtest.Generate(pdfxtest.Options{Pages: 2, Info: true, AcroForm: true, Metadata: true})
}

// TestRepairRemovesEncryption: a document encrypted with permissions only
// (every qpdf encryption, with and without object streams, metadata
// encrypted or in clear) is refused by verify as encrypted, by Prepare
// with ErrOwnerEncrypted and
// by Repair without RemoveEncryption (nothing written); with it, Repair
// writes a copy without encryption that passes qpdf --check, renders the
// same pages as the encrypted document (poppler opens it without a
// password), has the same information dictionary and XMP metadata for
// poppler as qpdf's decryption of it, and signs
// into a document that pdfsig and verify accept.
func TestRepairRemovesEncryption(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	v := offlineVerifier(t, p)
	ctx := context.Background()
	for name, in := range pdfxtest.EncryptedDocs(t, encryptedSource()) {
		t.Run(name, func(t *testing.T) {
			_, err := Prepare(ctx, bytes.NewReader(in), int64(len(in)), p.chain, Options{})
			require.ErrorIs(t, err, ErrOwnerEncrypted)
			require.ErrorIs(t, err, ErrEncrypted)
			require.ErrorIs(t, err, roamsign.ErrUnsupported)
			require.NotErrorIs(t, err, ErrPasswordRequired)
			require.Contains(t, err.Error(), "the document is encrypted with permissions only (it opens without a password)")
			_, err = v.VerifyPDF(ctx, verify.PDFRequest{Document: bytes.NewReader(in), Size: int64(len(in))})
			require.ErrorIs(t, err, roamsign.ErrUnsupported, "verify refuses encrypted documents")
			require.Contains(t, err.Error(), "encrypted")

			var out bytes.Buffer
			_, err = Repair(ctx, bytes.NewReader(in), int64(len(in)), &out, RepairOptions{})
			require.ErrorIs(t, err, ErrOwnerEncrypted)
			require.Zero(t, out.Len(), "nothing written without RemoveEncryption")

			rep, err := Repair(ctx, bytes.NewReader(in), int64(len(in)), &out, RepairOptions{RemoveEncryption: true})
			require.NoError(t, err)
			require.Equal(t, "the document is encrypted with permissions only", rep.Damage)
			require.Contains(t, rep.Fixes, "removed the encryption (no password is needed to open the document; the owner password's restrictions are removed)")
			fixed := out.Bytes()
			require.NotContains(t, string(fixed), "/Encrypt")
			pdfxtest.Check(t, fixed)
			requireSamePages(t, in, fixed)
			// qpdf's decryption is the reference for the strings and the
			// metadata (poppler decrypts metadata left in clear).
			ref := pdfxtest.QPDF(t, in, "--decrypt")
			require.Equal(t, pdfInfo(t, ref), pdfInfo(t, fixed))
			require.Regexp(t, `(?m)^Title: +roamsign test$`, pdfInfo(t, fixed))
			require.Equal(t, pdfInfo(t, ref, "-meta"), pdfInfo(t, fixed, "-meta"))
			require.Contains(t, pdfInfo(t, fixed, "-meta"), pdfxtest.XMPTitle)

			signed := signDoc(t, fixed, p.key, p.chain, Options{})
			requireValid(t, signed, 1, nss)
			res, err := v.VerifyPDF(ctx, verify.PDFRequest{Document: bytes.NewReader(signed), Size: int64(len(signed))})
			require.NoError(t, err)
			require.Equal(t, verify.Valid, res.Verdict)
		})
	}
}

// TestPasswordRequired: a document that needs a password to open is
// refused by Prepare and by Repair even with RemoveEncryption, with
// ErrPasswordRequired and nothing written; verify refuses it as
// encrypted.
func TestPasswordRequired(t *testing.T) {
	p := newPKI(t)
	ctx := context.Background()
	src := encryptedSource()
	for name, in := range map[string][]byte{
		"aes-256":        pdfxtest.QPDF(t, src, pdfxtest.UserPasswordEncryption...),
		"aes-256-objstm": pdfxtest.QPDF(t, src, append([]string{"--object-streams=generate"}, pdfxtest.UserPasswordEncryption...)...),
		"rc4-128":        pdfxtest.QPDF(t, src, "--allow-weak-crypto", "--encrypt", "user", "owner", "128", "--use-aes=n", "--"),
		"aes-128":        pdfxtest.QPDF(t, src, "--encrypt", "user", "owner", "128", "--use-aes=y", "--"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Prepare(ctx, bytes.NewReader(in), int64(len(in)), p.chain, Options{})
			requirePasswordRequired(t, err)

			var out bytes.Buffer
			_, err = Repair(ctx, bytes.NewReader(in), int64(len(in)), &out, RepairOptions{RemoveEncryption: true})
			requirePasswordRequired(t, err)
			require.Zero(t, out.Len(), "nothing written")

			_, err = offlineVerifier(t, p).VerifyPDF(ctx, verify.PDFRequest{Document: bytes.NewReader(in), Size: int64(len(in))})
			require.ErrorIs(t, err, roamsign.ErrUnsupported)
			require.Contains(t, err.Error(), "encrypted")

			// Long-term validation refuses it in the same words.
			_, err = AddLTV(ctx, bytes.NewReader(in), int64(len(in)), &out, LTVOptions{Validator: uncalled{t}})
			requirePasswordRequired(t, err)
			_, err = AddDocumentTimestamp(ctx, bytes.NewReader(in), int64(len(in)), &out, TimestampOptions{Validator: uncalled{t}, Timestamper: uncalled{t}})
			requirePasswordRequired(t, err)
			require.Zero(t, out.Len(), "nothing written")
		})
	}
}

// uncalled is a validator and a time-stamper for refusals that come
// before any validation or time-stamping.
type uncalled struct{ t *testing.T }

func (u uncalled) ValidateChain(context.Context, ChainRequest) (*ValidationData, error) {
	u.t.Error("the validator was called")
	return nil, roamsign.E(roamsign.ErrUnavailable, "uncalled", "not to be called")
}

func (u uncalled) TimestampDigest(context.Context, roamsign.HashAlgorithm, []byte) ([]byte, error) {
	u.t.Error("the time-stamper was called")
	return nil, roamsign.E(roamsign.ErrUnavailable, "uncalled", "not to be called")
}

func requirePasswordRequired(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, ErrPasswordRequired)
	require.ErrorIs(t, err, ErrEncrypted)
	require.NotErrorIs(t, err, ErrOwnerEncrypted)
	require.Contains(t, err.Error(), "the document needs a password to open: roamsign cannot remove that: decrypt it with the password first")
}

// TestEncryptionNotRemovable: encryption roamsign does not implement is
// refused with ErrEncrypted itself, saying what it is; nothing written.
func TestEncryptionNotRemovable(t *testing.T) {
	in := pdfxtest.QPDF(t, encryptedSource(), pdfxtest.OwnerOnlyEncryptions["aes-128"]...)
	in = bytes.Replace(in, []byte("/Filter /Standard"), []byte("/Filter /PubSecXX"), 1)
	var out bytes.Buffer
	_, err := Repair(context.Background(), bytes.NewReader(in), int64(len(in)), &out, RepairOptions{RemoveEncryption: true})
	require.ErrorIs(t, err, ErrEncrypted)
	require.ErrorIs(t, err, roamsign.ErrUnsupported)
	require.NotErrorIs(t, err, ErrOwnerEncrypted)
	require.NotErrorIs(t, err, ErrPasswordRequired)
	require.Contains(t, err.Error(), "the security handler /PubSecXX is not supported")
	require.Zero(t, out.Len())
}

// pdfInfo runs poppler's pdfinfo on doc with args.
func pdfInfo(t *testing.T, doc []byte, args ...string) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.pdf")
	require.NoError(t, os.WriteFile(in, doc, 0o600))
	out, err := exec.Command(pdfxtest.Tool(t, "pdfinfo"), append(args, in)...).Output()
	require.NoError(t, err)
	if len(args) == 0 {
		// Without the lines that describe the file rather than the
		// document.
		var keep [][]byte
		for _, l := range bytes.SplitAfter(out, []byte("\n")) {
			if !bytes.HasPrefix(l, []byte("Encrypted:")) && !bytes.HasPrefix(l, []byte("File size:")) && !bytes.HasPrefix(l, []byte("Optimized:")) && !bytes.HasPrefix(l, []byte("PDF version:")) {
				keep = append(keep, l)
			}
		}
		out = bytes.Join(keep, nil)
	}
	return string(out)
}

// TestRepairKeepsSignatureContents: the /Contents of a signature
// dictionary is not encrypted (ISO 32000-2, 7.6.2), so removing the
// encryption leaves it as it was while the dictionary's other strings are
// decrypted.
func TestRepairKeepsSignatureContents(t *testing.T) {
	p := newPKI(t)
	signed := signDoc(t, encryptedSource(), p.key, p.chain, Options{Reason: "Perakuan 1"})
	want := signatureDicts(t, signed)[0]
	for _, name := range []string{"rc4-128", "aes-128", "aes-256"} {
		t.Run(name, func(t *testing.T) {
			in := pdfxtest.QPDF(t, signed, pdfxtest.OwnerOnlyEncryptions[name]...)
			var out bytes.Buffer
			_, err := Repair(context.Background(), bytes.NewReader(in), int64(len(in)), &out, RepairOptions{RemoveEncryption: true})
			require.NoError(t, err)
			got := signatureDicts(t, out.Bytes())[0]
			require.Equal(t, pdfx.String("Perakuan 1"), got["Reason"])
			require.Equal(t, want["Contents"], got["Contents"])
		})
	}
}

// TestRepairEncryptedStreamsData: removing the encryption of a large
// document streams its data through one buffer: what Repair allocates
// stays a small fraction of the file (a 16 MiB stream encrypted with
// AES-256 and with RC4: under 4 MiB), and the copy holds the data
// decrypted.
func TestRepairEncryptedStreamsData(t *testing.T) {
	const pad = 16 << 20
	src := pdfxtest.Generate(pdfxtest.Options{Padding: pad})
	for _, name := range []string{"aes-256", "rc4-128"} {
		t.Run(name, func(t *testing.T) {
			in := pdfxtest.QPDF(t, src, append([]string{"--preserve-unreferenced", "--stream-data=uncompress"}, pdfxtest.OwnerOnlyEncryptions[name]...)...)
			require.Greater(t, len(in), pad)
			var err error
			h := sha256.New()
			use := pdfxtest.Measure(func() {
				_, err = Repair(context.Background(), bytes.NewReader(in), int64(len(in)), h, RepairOptions{RemoveEncryption: true})
			})
			require.NoError(t, err)
			t.Logf("%s: %d bytes, Repair allocated %d bytes", name, len(in), use.Alloc)
			require.Less(t, use.Alloc, uint64(4<<20), "heap allocated while decrypting")

			var out bytes.Buffer
			_, err = Repair(context.Background(), bytes.NewReader(in), int64(len(in)), &out, RepairOptions{RemoveEncryption: true})
			require.NoError(t, err)
			i := bytes.Index(src, []byte("/BBox [0 0 1 1]")) // the padding's dictionary
			require.Greater(t, i, 0)
			i += bytes.Index(src[i:], []byte("stream\n"))
			require.True(t, bytes.Contains(out.Bytes(), src[i+7:i+7+4096]), "the padding is in the copy, decrypted")
		})
	}
}

// TestRepairDamagedEncrypted: a damaged document encrypted with
// permissions only (its objects in encrypted object streams) is refused
// by Prepare as damaged, by Repair without RemoveEncryption as encrypted,
// and with it repaired into a decrypted copy that renders the same pages
// as the document before the damage and signs.
func TestRepairDamagedEncrypted(t *testing.T) {
	p := newPKI(t)
	nss := p.nss(t)
	ctx := context.Background()
	for _, name := range []string{"rc4-128", "aes-128", "aes-256"} {
		t.Run(name, func(t *testing.T) {
			good := pdfxtest.QPDF(t, encryptedSource(), append([]string{"--object-streams=generate"}, pdfxtest.OwnerOnlyEncryptions[name]...)...)
			in := bytes.TrimSuffix(good, []byte("%%EOF\n"))
			_, err := Prepare(ctx, bytes.NewReader(in), int64(len(in)), p.chain, Options{})
			require.ErrorIs(t, err, ErrRepairable)

			var out bytes.Buffer
			_, err = Repair(ctx, bytes.NewReader(in), int64(len(in)), &out, RepairOptions{})
			require.ErrorIs(t, err, ErrOwnerEncrypted)
			require.Zero(t, out.Len())

			rep, err := Repair(ctx, bytes.NewReader(in), int64(len(in)), &out, RepairOptions{RemoveEncryption: true})
			require.NoError(t, err)
			require.Contains(t, rep.Damage, "end-of-file marker")
			require.Contains(t, rep.Fixes, "removed the encryption (no password is needed to open the document; the owner password's restrictions are removed)")
			fixed := out.Bytes()
			pdfxtest.Check(t, fixed)
			requireSamePages(t, good, fixed)
			require.Equal(t, pdfInfo(t, pdfxtest.QPDF(t, good, "--decrypt")), pdfInfo(t, fixed))
			requireValid(t, signDoc(t, fixed, p.key, p.chain, Options{}), 1, nss)
		})
	}
}
