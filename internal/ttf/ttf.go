// Package ttf reads the tables of a TrueType font and writes subsets of
// it: fonts that keep only the glyphs a document uses, for embedding.
//
// # Overview
//
// [Parse] checks the table directory and the tables a subset needs (head,
// hhea, maxp, hmtx, loca, glyf). [Font.Subset] keeps the requested glyphs,
// glyph 0 (.notdef) and the components of composite glyphs, numbers them
// from 0 in their original order, and writes a font with glyf, loca (long
// offsets), hmtx, maxp, head and hhea rewritten, the hinting tables (cvt,
// fpgm, prep, gasp) and OS/2 copied, post reduced to version 3 (no glyph
// names), cmap replaced by one that maps no character, and name and every
// other table dropped: a PDF reader selects the glyphs of a subset by
// number (a CIDFontType2 with an identity CIDToGIDMap), not through the
// font's cmap. Table checksums and the head checksum
// adjustment are computed.
//
// # Security
//
// The parser reads untrusted bytes: every offset and length is checked
// against the data, the font is at most [MaxFontSize] bytes, the table
// count is bounded, and composite glyphs are followed once each (cycles
// end), so the work is linear in the size of the font. Malformed input
// gives [ErrMalformed], never a panic.
package ttf

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxFontSize bounds the font accepted by Parse.
const MaxFontSize = 16 << 20

// maxTables bounds the table directory (fonts have about 10 to 30).
const maxTables = 256

// ErrMalformed is the cause of every refusal of a damaged font.
var ErrMalformed = errors.New("ttf: malformed font")

// ErrUnsupported is returned for fonts that are not TrueType outlines (for
// example OpenType with CFF outlines or a font collection).
var ErrUnsupported = errors.New("ttf: not a TrueType-outline font")

// Font is a parsed TrueType font. It refers to the data given to Parse,
// which must not change; a Font is safe for concurrent use.
type Font struct {
	tables      map[string][]byte
	numGlyphs   int
	longLoca    bool
	numHMetrics int
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Parse reads the table directory of a TrueType font and checks the
// tables a subset is made of.
func Parse(data []byte) (*Font, error) {
	if len(data) > MaxFontSize {
		return nil, malformed("larger than %d bytes", MaxFontSize)
	}
	if len(data) < 12 {
		return nil, malformed("too short for a table directory")
	}
	switch binary.BigEndian.Uint32(data) {
	case 0x00010000, 0x74727565: // 1.0, "true"
	default:
		return nil, ErrUnsupported
	}
	n := int(binary.BigEndian.Uint16(data[4:]))
	if n > maxTables || 12+16*n > len(data) {
		return nil, malformed("table directory of %d entries", n)
	}
	f := &Font{tables: make(map[string][]byte, n)}
	for i := range n {
		e := data[12+16*i:]
		tag := string(e[:4])
		off, length := uint64(binary.BigEndian.Uint32(e[8:])), uint64(binary.BigEndian.Uint32(e[12:]))
		if off+length > uint64(len(data)) {
			return nil, malformed("table %q outside the font", tag)
		}
		if _, dup := f.tables[tag]; dup {
			return nil, malformed("table %q twice", tag)
		}
		f.tables[tag] = data[off : off+length]
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}

// check validates the tables a subset rewrites and records their counts.
func (f *Font) check() error {
	for tag, min := range map[string]int{"head": 54, "hhea": 36, "maxp": 6, "hmtx": 0, "loca": 0, "glyf": 0} {
		t, ok := f.tables[tag]
		if !ok {
			return malformed("no %q table", tag)
		}
		if len(t) < min {
			return malformed("table %q too short", tag)
		}
	}
	head, hhea, maxp := f.tables["head"], f.tables["hhea"], f.tables["maxp"]
	f.numGlyphs = int(binary.BigEndian.Uint16(maxp[4:]))
	f.numHMetrics = int(binary.BigEndian.Uint16(hhea[34:]))
	switch binary.BigEndian.Uint16(head[50:]) {
	case 0:
	case 1:
		f.longLoca = true
	default:
		return malformed("unknown loca format")
	}
	if f.numGlyphs == 0 {
		return malformed("no glyphs")
	}
	entry := 2
	if f.longLoca {
		entry = 4
	}
	if len(f.tables["loca"]) < (f.numGlyphs+1)*entry {
		return malformed("loca table too short")
	}
	if f.numHMetrics < 1 || f.numHMetrics > f.numGlyphs ||
		len(f.tables["hmtx"]) < 4*f.numHMetrics+2*(f.numGlyphs-f.numHMetrics) {
		return malformed("hmtx table does not match hhea and maxp")
	}
	return nil
}

// NumGlyphs returns the number of glyphs of the font.
func (f *Font) NumGlyphs() int { return f.numGlyphs }

// glyph returns the outline data of glyph g (empty for a glyph without
// outline, such as the space).
func (f *Font) glyph(g int) ([]byte, error) {
	loca, glyf := f.tables["loca"], f.tables["glyf"]
	var start, end uint64
	if f.longLoca {
		start, end = uint64(binary.BigEndian.Uint32(loca[4*g:])), uint64(binary.BigEndian.Uint32(loca[4*g+4:]))
	} else {
		start, end = 2*uint64(binary.BigEndian.Uint16(loca[2*g:])), 2*uint64(binary.BigEndian.Uint16(loca[2*g+2:]))
	}
	if start > end || end > uint64(len(glyf)) {
		return nil, malformed("glyph %d outside the glyf table", g)
	}
	if end-start > 0 && end-start < 10 {
		return nil, malformed("glyph %d shorter than its header", g)
	}
	return glyf[start:end], nil
}

// metric returns the advance width and left side bearing of glyph g.
func (f *Font) metric(g int) (adv, lsb uint16) {
	hmtx := f.tables["hmtx"]
	if g < f.numHMetrics {
		return binary.BigEndian.Uint16(hmtx[4*g:]), binary.BigEndian.Uint16(hmtx[4*g+2:])
	}
	adv = binary.BigEndian.Uint16(hmtx[4*(f.numHMetrics-1):])
	return adv, binary.BigEndian.Uint16(hmtx[4*f.numHMetrics+2*(g-f.numHMetrics):])
}

// Composite glyph flags (OpenType glyf table).
const (
	argsAreWords   = 0x0001
	haveScale      = 0x0008
	moreComponents = 0x0020
	haveXYScale    = 0x0040
	haveTwoByTwo   = 0x0080
)

// components returns the offsets, inside the glyph data, of the glyph
// index of each component of a composite glyph (none for a simple glyph).
func components(data []byte, g int) ([]int, error) {
	if len(data) == 0 || int16(binary.BigEndian.Uint16(data)) >= 0 {
		return nil, nil
	}
	var offs []int
	for p := 10; ; {
		if p+4 > len(data) {
			return nil, malformed("composite glyph %d truncated", g)
		}
		flags := binary.BigEndian.Uint16(data[p:])
		offs = append(offs, p+2)
		p += 4
		if flags&argsAreWords != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&haveScale != 0:
			p += 2
		case flags&haveXYScale != 0:
			p += 4
		case flags&haveTwoByTwo != 0:
			p += 8
		}
		if p > len(data) {
			return nil, malformed("composite glyph %d truncated", g)
		}
		if flags&moreComponents == 0 {
			return offs, nil
		}
	}
}
