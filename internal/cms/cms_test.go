package cms

import (
	"bytes"
	"testing"

	"github.com/roamsign/roamsign"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// indefinite re-encodes a DER element in BER: every constructed element
// with the indefinite length form, and every OCTET STRING longer than
// chunk split into a constructed string of pieces.
func indefinite(t testing.TB, der []byte, chunk int) []byte {
	t.Helper()
	s := cryptobyte.String(der)
	var body cryptobyte.String
	var tag cbasn1.Tag
	require.True(t, s.ReadAnyASN1(&body, &tag), "not DER")
	var out []byte
	switch {
	case tag == cbasn1.OCTET_STRING && len(body) > chunk:
		out = append(out, 0x24, 0x80)
		for len(body) > 0 {
			n := min(chunk, len(body))
			out = append(out, 0x04, byte(n))
			out = append(out, body[:n]...)
			body = body[n:]
		}
		return append(out, 0, 0)
	case tag&0x20 == 0:
		return der
	}
	out = append(out, byte(tag), 0x80)
	for !body.Empty() {
		var child cryptobyte.String
		require.True(t, body.ReadAnyASN1Element(&child, &tag))
		out = append(out, indefinite(t, child, chunk)...)
	}
	return append(out, 0, 0)
}

func TestToDER(t *testing.T) {
	der := []byte{0x30, 0x09, 0x04, 0x03, 'a', 'b', 'c', 0x31, 0x02, 0x05, 0x00}
	got, err := ToDER(der)
	require.NoError(t, err)
	assert.Equal(t, der, got, "DER input comes back unchanged")

	ber := indefinite(t, der, 1)
	assert.NotEqual(t, der, ber)
	got, err = ToDER(ber)
	require.NoError(t, err)
	assert.Equal(t, der, got, "indefinite lengths and a constructed OCTET STRING become DER")

	// Non-minimal definite lengths are BER too.
	long := []byte{0x30, 0x81, 0x03, 0x02, 0x01, 0x05}
	got, err = ToDER(long)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x30, 0x03, 0x02, 0x01, 0x05}, got)

	for name, bad := range map[string][]byte{
		"truncated":                  {0x30, 0x80, 0x02, 0x01},
		"primitive indefinite":       {0x04, 0x80, 0, 0},
		"no end of contents":         {0x30, 0x80, 0x02, 0x01, 0x05},
		"trailing data":              {0x02, 0x01, 0x05, 0x00},
		"constructed string of ints": {0x24, 0x80, 0x02, 0x01, 0x05, 0, 0},
		"length beyond input":        {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff},
	} {
		_, err := ToDER(bad)
		assert.Error(t, err, name)
	}
	deep := bytes.Repeat([]byte{0x30, 0x80}, maxBERDepth+2)
	deep = append(deep, bytes.Repeat([]byte{0, 0}, maxBERDepth+2)...)
	_, err = ToDER(deep)
	assert.Error(t, err, "nesting beyond the limit")
}

func TestFirstElement(t *testing.T) {
	der := []byte{0x30, 0x03, 0x02, 0x01, 0x05}
	ber := indefinite(t, der, 1)
	el, rest, err := FirstElement(append(append([]byte(nil), ber...), 0, 0, 0, 0))
	require.NoError(t, err)
	assert.Equal(t, ber, el)
	assert.Equal(t, []byte{0, 0, 0, 0}, rest)
}

func TestParseSignedDataLimits(t *testing.T) {
	_, err := ParseSignedData("t", make([]byte, 100), 10)
	assert.Equal(t, roamsign.ErrTooLarge, roamsign.KindOf(err))
	_, err = ParseSignedData("t", []byte{0x30, 0x00}, 10)
	assert.Equal(t, roamsign.ErrInvalidInput, roamsign.KindOf(err))
}

func TestSetOfSorts(t *testing.T) {
	a, b := []byte{0x30, 0x01, 0x02}, []byte{0x30, 0x01, 0x01}
	assert.Equal(t, []byte{0x31, 0x06, 0x30, 0x01, 0x01, 0x30, 0x01, 0x02}, SetOf([][]byte{a, b}))
}
