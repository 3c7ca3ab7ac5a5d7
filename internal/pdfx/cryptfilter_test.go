package pdfx

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
	"github.com/stretchr/testify/require"
)

// TestCryptFilterStreams: a stream whose /Filter starts with /Crypt is
// decrypted with the crypt filter it names (/Identity: not at all), in a
// file whose default methods are /Identity; the copy WriteFull writes
// has no /Crypt filter left, and a crypt filter that is not defined is
// refused with ErrUnsupportedEncryption.
func TestCryptFilterStreams(t *testing.T) {
	plain1, plain2 := []byte("BT /F1 12 Tf 10 10 Td (one) Tj ET"), []byte("BT /F1 12 Tf 10 50 Td (two) Tj ET")
	packed := pdfxtest.Deflate(plain2)
	padded := len(packed) + aes.BlockSize - len(packed)%aes.BlockSize
	// The first pass finds the file key with a placeholder of the
	// encrypted stream's length; the second writes the stream encrypted.
	doc := cryptFilterDoc(t, plain1, make([]byte, aes.BlockSize+padded), "Identity")
	r, err := Open(bytes.NewReader(doc), int64(len(doc)), Limits{})
	require.NoError(t, err)
	require.NoError(t, r.Decrypt())
	data := append(bytes.Clone(packed), bytes.Repeat([]byte{byte(padded - len(packed))}, padded-len(packed))...)
	block, err := aes.NewCipher(r.sec.objectKey(Ref{Num: 5}, cryptAESV2))
	require.NoError(t, err)
	iv := []byte("0123456789abcdef")
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(data, data)
	enc := append(iv, data...)
	doc = cryptFilterDoc(t, plain1, enc, "Nope")

	r, err = Open(bytes.NewReader(doc), int64(len(doc)), Limits{})
	require.NoError(t, err)
	require.NoError(t, r.Decrypt())
	requireStream(t, r, 4, plain1)
	requireStream(t, r, 5, plain2)
	_, err = r.Get(Ref{Num: 8})
	require.ErrorIs(t, err, ErrUnsupportedEncryption)

	var out bytes.Buffer
	r, err = Open(bytes.NewReader(doc), int64(len(doc)), Limits{})
	require.NoError(t, err)
	require.NoError(t, r.Decrypt())
	require.Error(t, r.WriteFull(context.Background(), &out), "the undefined crypt filter stops the copy")

	doc = cryptFilterDoc(t, plain1, enc, "Identity")
	r, err = Open(bytes.NewReader(doc), int64(len(doc)), Limits{})
	require.NoError(t, err)
	require.NoError(t, r.Decrypt())
	out.Reset()
	require.NoError(t, r.WriteFull(context.Background(), &out))
	pdfxtest.Check(t, out.Bytes())
	require.NotContains(t, out.String(), "/Crypt")
	c, err := Open(bytes.NewReader(out.Bytes()), int64(out.Len()), Limits{})
	require.NoError(t, err)
	requireStream(t, c, 4, plain1)
	requireStream(t, c, 5, plain2)
	info, err := c.ResolveDict(c.Trailer()["Info"], "info")
	require.NoError(t, err)
	require.Equal(t, String("plain title"), info["Title"], "strings under /StrF /Identity stay as they are")
}

// cryptFilterDoc writes a file encrypted as qpdf's AES-128 (its /O, /U,
// /P and /ID) but with /Identity as the default methods: page content
// stream 4 (plain1) names the /Identity crypt filter, stream 5 (enc, the
// encrypted compressed data) names /StdCF before /FlateDecode, and
// object 8 names crypt filter filter8.
func cryptFilterDoc(t *testing.T, plain1, enc []byte, filter8 string) []byte {
	src := pdfxtest.QPDF(t, pdfxtest.Generate(pdfxtest.Options{}), pdfxtest.OwnerOnlyEncryptions["aes-128"]...)
	r, err := Open(bytes.NewReader(src), int64(len(src)), Limits{})
	require.NoError(t, err)
	ed, err := r.ResolveDict(r.Trailer()["Encrypt"], "encrypt")
	require.NoError(t, err)
	ids := r.Trailer()["ID"].(Array)
	hex := func(o Object) string { return fmt.Sprintf("<%x>", o.(String)) }

	w := pdfxtest.NewRaw()
	w.Obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.Obj(2, "<< /Type /Pages /Count 1 /Kids [3 0 R] >>")
	w.Obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents [4 0 R 5 0 R] >>")
	w.Stream(4, "/Filter /Crypt /DecodeParms << /Type /CryptFilterDecodeParms /Name /Identity >>", plain1)
	w.Stream(5, "/Filter [/Crypt /FlateDecode] /DecodeParms [<< /Name /StdCF >> null]", enc)
	w.Obj(6, fmt.Sprintf("<< /Filter /Standard /V 4 /R 4 /Length 128 /CF << /StdCF << /CFM /AESV2 /AuthEvent /DocOpen /Length 16 >> >> /StmF /Identity /StrF /Identity /O %s /U %s /P %d >>",
		hex(ed["O"]), hex(ed["U"]), ed["P"]))
	w.Obj(7, "<< /Title (plain title) >>")
	w.Stream(8, "/Filter /Crypt /DecodeParms << /Name /"+filter8+" >>", []byte("x"))
	w.Table(9, fmt.Sprintf("/Root 1 0 R /Info 7 0 R /Encrypt 6 0 R /ID [%s %s]", hex(ids[0]), hex(ids[1])))
	return w.Bytes()
}

func requireStream(t *testing.T, r *Reader, num int, want []byte) {
	t.Helper()
	o, err := r.Get(Ref{Num: num})
	require.NoError(t, err)
	s, ok := o.(*Stream)
	require.True(t, ok)
	got, err := r.StreamData(s)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// TestDecryptBytesMalformed: AES data that is not an initialization
// vector and whole blocks, or whose padding is wrong, is a typed error.
func TestDecryptBytesMalformed(t *testing.T) {
	key := []byte("0123456789abcdef")
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	encrypt := func(last []byte) []byte {
		data := append(make([]byte, 2*aes.BlockSize), last...)
		cipher.NewCBCEncrypter(block, data[:aes.BlockSize]).CryptBlocks(data[aes.BlockSize:], data[aes.BlockSize:])
		return data
	}
	for name, data := range map[string][]byte{
		"short":          make([]byte, 15),
		"not whole":      make([]byte, 33),
		"padding 0":      encrypt(bytes.Repeat([]byte{0}, 16)),
		"padding 17":     encrypt(bytes.Repeat([]byte{17}, 16)),
		"padding uneven": encrypt(append(bytes.Repeat([]byte{'a'}, 13), 2, 3, 3)),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decryptBytes(cryptAESV2, key, data)
			require.ErrorIs(t, err, roamsign.ErrInvalidInput)
		})
	}
	got, err := decryptBytes(cryptAESV2, key, encrypt(append(bytes.Repeat([]byte{'a'}, 13), 3, 3, 3)))
	require.NoError(t, err)
	require.Equal(t, append(make([]byte, 16), bytes.Repeat([]byte{'a'}, 13)...), got)
}
