package hsm

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"testing"
)

func refDER(rs []byte) []byte {
	n := len(rs) / 2
	b, _ := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(rs[:n]), new(big.Int).SetBytes(rs[n:])})
	return b
}

// FuzzECDSADER checks the r‖s to DER conversion against encoding/asn1.
func FuzzECDSADER(f *testing.F) {
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Add(make([]byte, 64))
	f.Add(append(bytes.Repeat([]byte{0}, 31), append([]byte{1}, bytes.Repeat([]byte{0x80}, 32)...)...))
	f.Add(bytes.Repeat([]byte{0x7f}, 132))
	f.Add(bytes.Repeat([]byte{0x80}, 96))
	f.Fuzz(func(t *testing.T, rs []byte) {
		got, err := ecdsaDER(rs)
		if len(rs) == 0 || len(rs)%2 != 0 || len(rs) > 132 {
			if err == nil {
				t.Fatal("accepted a bad length")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if want := refDER(rs); !bytes.Equal(got, want) {
			t.Fatalf("ecdsaDER(%x) = %x, want %x", rs, got, want)
		}
	})
}
