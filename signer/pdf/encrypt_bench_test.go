package pdf

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rc4"
	"io"
	"testing"

	"github.com/roamsign/roamsign/internal/pdfx/pdfxtest"
)

// BenchmarkRepairDecrypt measures Repair removing the encryption of a
// document with a 16 MiB stream (AES-256 and RC4), beside the raw AES-256
// CBC and RC4 decryption of as many bytes ("raw-aes-cbc", "raw-rc4"): the
// MB/s of each.
//
//	go test -run '^$' -bench BenchmarkRepairDecrypt -benchtime 10x ./signer/pdf/
func BenchmarkRepairDecrypt(b *testing.B) {
	const pad = 16 << 20
	src := pdfxtest.Generate(pdfxtest.Options{Padding: pad})
	for _, name := range []string{"aes-256", "rc4-128"} {
		in := pdfxtest.QPDF(b, src, append([]string{"--preserve-unreferenced", "--stream-data=uncompress"}, pdfxtest.OwnerOnlyEncryptions[name]...)...)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := Repair(context.Background(), bytes.NewReader(in), int64(len(in)), io.Discard, RepairOptions{RemoveEncryption: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("raw-aes-cbc", func(b *testing.B) {
		block, _ := aes.NewCipher(make([]byte, 32))
		data := make([]byte, pad)
		buf := make([]byte, 64<<10)
		b.SetBytes(pad)
		for b.Loop() {
			cbc := cipher.NewCBCDecrypter(block, make([]byte, aes.BlockSize))
			for off := 0; off < len(data); off += len(buf) {
				copy(buf, data[off:])
				cbc.CryptBlocks(buf, buf)
			}
		}
	})
	b.Run("raw-rc4", func(b *testing.B) {
		data := make([]byte, pad)
		buf := make([]byte, 64<<10)
		b.SetBytes(pad)
		for b.Loop() {
			c, _ := rc4.NewCipher(make([]byte, 16))
			for off := 0; off < len(data); off += len(buf) {
				copy(buf, data[off:])
				c.XORKeyStream(buf, buf)
			}
		}
	})
}
