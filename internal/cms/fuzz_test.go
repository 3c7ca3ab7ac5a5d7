package cms

import (
	"bytes"
	"testing"

	"github.com/roamsign/roamsign"
)

// FuzzParseSignedData parses arbitrary bytes as CMS; whatever parses must
// parse again, in its DER form, to the same signers.
func FuzzParseSignedData(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80, 0x30, 0x80, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, err := ParseSignedData("fuzz", data, 1<<16)
		if err != nil {
			if roamsign.KindOf(err) == roamsign.KindUnknown {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		der, err := ToDER(data)
		if err != nil {
			t.Fatalf("parsed but ToDER fails: %v", err)
		}
		again, err := ParseSignedData("fuzz", der, 1<<16)
		if err != nil || len(again.SignerInfos) != len(sd.SignerInfos) {
			t.Fatalf("DER form does not parse the same: %v", err)
		}
		for i := range sd.SignerInfos {
			if !bytes.Equal(sd.SignerInfos[i].SignedAttrsDER, again.SignerInfos[i].SignedAttrsDER) {
				t.Fatal("signed attributes differ between BER and DER forms")
			}
		}
	})
}

// FuzzToDER converts arbitrary BER; the result must be DER and stable.
func FuzzToDER(f *testing.F) {
	f.Add([]byte{0x24, 0x80, 0x04, 0x01, 'a', 0x04, 0x01, 'b', 0, 0})
	f.Add([]byte{0x30, 0x81, 0x03, 0x02, 0x01, 0x05})
	f.Fuzz(func(t *testing.T, data []byte) {
		der, err := ToDER(data)
		if err != nil {
			return
		}
		if !isDER(der) {
			t.Fatalf("ToDER returned non-DER % x", der)
		}
		again, err := ToDER(der)
		if err != nil || !bytes.Equal(again, der) {
			t.Fatalf("ToDER is not stable: %v", err)
		}
		if _, _, err := FirstElement(data); err != nil {
			t.Fatalf("FirstElement refuses what ToDER accepts: %v", err)
		}
	})
}
