package cms

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/roamsign/roamsign"
)

// TestParseTimestampToken: a token that parses in full is parsed once and
// then remembered by its bytes, unaffected by later changes to the
// caller's copy; a SignedData over other content and a TSTInfo that does
// not parse are reported as documented and not remembered; the size
// limit holds for a remembered token; the memo's bounds are those
// documented.
func TestParseTimestampToken(t *testing.T) {
	tok, _ := tstToken(t)
	in := bytes.Clone(tok)
	sd, tst, err := ParseTimestampToken("test", in, 1<<20)
	require.NoError(t, err)
	require.NotNil(t, sd)
	require.NotNil(t, tst)
	want := *tst

	// The caller's bytes change: the result does not, and the same bytes
	// give the same result without being parsed again.
	for i := range in {
		in[i] ^= 0xff
	}
	sd2, tst2, err := ParseTimestampToken("test", bytes.Clone(tok), 1<<20)
	require.NoError(t, err)
	require.Same(t, sd, sd2, "the same bytes are parsed once")
	require.Same(t, tst, tst2)
	require.Equal(t, want, *tst2)
	_, _, err = ParseTimestampToken("test", in, 1<<20)
	require.Error(t, err, "the changed bytes are not the remembered token")

	_, _, err = ParseTimestampToken("test", tok, len(tok)-1)
	require.ErrorIs(t, err, roamsign.ErrTooLarge, "the limit holds for a remembered token")

	n := tokenMemo.Len()
	oid := []byte{0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04}
	i := bytes.Index(tok, oid)
	require.Positive(t, i)
	other := bytes.Clone(tok)
	other[i+len(oid)-1] = 0x02 // eContentType id-ct-authData
	sd, tst, err = ParseTimestampToken("test", other, 1<<20)
	require.NoError(t, err)
	require.NotNil(t, sd)
	require.Nil(t, tst, "no TSTInfo")

	e := sd.EContent
	j := bytes.Index(tok, e)
	hdr := 2
	if e[1] >= 0x80 {
		hdr += int(e[1] & 0x7f)
	}
	require.Equal(t, []byte{0x02, 0x01, 0x01}, e[hdr:hdr+3], "TSTInfo version 1")
	bad := bytes.Clone(tok)
	bad[j+hdr+2] = 2
	sd, tst, err = ParseTimestampToken("test", bad, 1<<20)
	require.Error(t, err)
	require.NotNil(t, sd, "the SignedData parsed")
	require.Nil(t, tst)
	require.Equal(t, n, tokenMemo.Len(), "what does not parse in full is not remembered")

	require.Equal(t, 64, tokenMemo.Max)
	require.Equal(t, 16<<10, tokenMemo.MaxSize)
}

// FuzzParseTimestampToken: on any input the memoised parser answers as
// ParseSignedData then ParseTSTInfo do, a second read of the same bytes
// (from the memo when they parsed) answers the same, and the memo stays
// within its bounds.
func FuzzParseTimestampToken(f *testing.F) {
	tok, _ := tstToken(f)
	f.Add(tok)
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 16
		sd, tst, err := ParseTimestampToken("fuzz", data, max)
		wantSD, wantErr := ParseSignedData("fuzz", data, max)
		if (sd == nil) != (wantSD == nil) || (sd == nil && err == nil) {
			t.Fatalf("SignedData %v, want %v (%v)", sd != nil, wantSD != nil, wantErr)
		}
		if sd == nil {
			return
		}
		if !sd.HasEContent || !sd.EContentType.Equal(OIDTSTInfo) {
			if tst != nil || err != nil {
				t.Fatalf("no TSTInfo content, yet %v, %v", tst, err)
			}
			return
		}
		wantTST, wantErr := ParseTSTInfo(sd.EContent)
		if (err == nil) != (wantErr == nil) || (err == nil && !reflect.DeepEqual(tst, wantTST)) {
			t.Fatalf("TSTInfo %+v, %v; want %+v, %v", tst, err, wantTST, wantErr)
		}
		sd2, tst2, err2 := ParseTimestampToken("fuzz", bytes.Clone(data), max)
		if (err2 == nil) != (err == nil) || !reflect.DeepEqual(sd2, sd) || !reflect.DeepEqual(tst2, tst) {
			t.Fatal("a second read of the same bytes answers otherwise")
		}
		if tokenMemo.Len() > MaxMemoTokens {
			t.Fatalf("memo holds %d tokens", tokenMemo.Len())
		}
	})
}
