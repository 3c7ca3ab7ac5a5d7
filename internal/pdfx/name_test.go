package pdfx

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// referenceName reads a name the plain way, byte by byte: what name must
// return whatever its shortcuts.
func referenceName(data []byte, atEOF bool) (Object, int, error) {
	pos := 1
	var out []byte
	for pos < len(data) {
		c := data[pos]
		if isSpace(c) || isDelim(c) {
			return Name(out), pos, nil
		}
		if c == '#' && pos+2 < len(data) {
			h, ok1 := unhex(data[pos+1])
			l, ok2 := unhex(data[pos+2])
			if ok1 && ok2 {
				out = append(out, h<<4|l)
				pos += 3
				continue
			}
		}
		out = append(out, c)
		pos++
	}
	if !atEOF {
		return nil, pos, errShort
	}
	return Name(out), pos, nil
}

// FuzzName compares name with referenceName on any bytes after a '/', at
// the end of the file and inside it.
func FuzzName(f *testing.F) {
	for _, s := range []string{"/Type /Page", "/Type", "/A#20B ", "/A#2", "/#", "/Contents<", "/ETSI.CAdES.detached]", "/", "/F#4Fo)"} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, atEOF bool) {
		if len(data) == 0 || data[0] != '/' || len(data) > 1<<12 {
			return
		}
		want, wantPos, wantErr := referenceName(data, atEOF)
		p := &parser{data: data, atEOF: atEOF, allow: 1 << 20}
		got, err := p.name()
		require.Equal(t, wantErr, err)
		require.Equal(t, want, got)
		if err == nil {
			require.Equal(t, wantPos, p.pos)
		}
	})
}

// TestCommonNamesAllocateNothing: reading a common name allocates
// nothing, another one its string only.
func TestCommonNamesAllocateNothing(t *testing.T) {
	data := []byte("/Type /Thing ")
	p := &parser{data: data, atEOF: true, allow: 1 << 20}
	require.Zero(t, testing.AllocsPerRun(100, func() {
		p.pos, p.cost = 0, 0
		if o, err := p.name(); err != nil || o != Name("Type") {
			t.Fatal(o, err)
		}
	}))
	require.LessOrEqual(t, testing.AllocsPerRun(100, func() {
		p.pos, p.cost = 6, 0
		if o, err := p.name(); err != nil || o != Name("Thing") {
			t.Fatal(o, err)
		}
	}), 2.0)
}
