package ttf

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// copied are the tables a subset keeps as they are: hinting programs and
// values, and the OS/2 metrics.
var copied = []string{"OS/2", "cvt ", "fpgm", "gasp", "prep"}

// emptyCmap is a cmap table with one Windows Unicode (3,1) format 4
// subtable that maps no character: a subset's glyphs are selected by number,
// and readers that expect a cmap table find one.
var emptyCmap = []byte{
	0, 0, 0, 1, // version 0, one subtable
	0, 3, 0, 1, 0, 0, 0, 12, // platform 3, encoding 1, at offset 12
	0, 4, 0, 24, 0, 0, // format 4, length 24, language 0
	0, 2, 0, 2, 0, 0, 0, 0, // segCountX2 2, searchRange 2, entrySelector 0, rangeShift 0
	0xff, 0xff, 0, 0, 0xff, 0xff, // endCode 0xFFFF, reservedPad, startCode 0xFFFF
	0, 1, 0, 0, // idDelta 1, idRangeOffset 0
}

// Subset returns a TrueType font with the given glyphs, glyph 0 and the
// components of composite glyphs, numbered from 0 in their original order,
// and the map from original to new glyph numbers. Glyph numbers outside
// the font give ErrMalformed.
func (f *Font) Subset(glyphs []uint16) ([]byte, map[uint16]uint16, error) {
	keep, err := f.closure(glyphs)
	if err != nil {
		return nil, nil, err
	}
	newID := make(map[uint16]uint16, len(keep))
	for i, g := range keep {
		newID[uint16(g)] = uint16(i)
	}
	glyf, loca, hmtx := f.glyphTables(keep, newID)
	tables := map[string][]byte{"glyf": glyf, "loca": loca, "hmtx": hmtx, "cmap": emptyCmap}
	copiedSize := 0
	for _, tag := range copied {
		if t, ok := f.tables[tag]; ok {
			tables[tag] = t
			copiedSize += len(t)
		}
	}
	// Tables may overlap in a font file: copied as they are, they could
	// make the subset several times the font's size.
	if copiedSize > MaxFontSize {
		return nil, nil, fmt.Errorf("%w: the tables copied into the subset take %d bytes, more than %d", ErrMalformed, copiedSize, MaxFontSize)
	}
	maxp := slices.Clone(f.tables["maxp"])
	binary.BigEndian.PutUint16(maxp[4:], uint16(len(keep)))
	tables["maxp"] = maxp
	hhea := slices.Clone(f.tables["hhea"])
	binary.BigEndian.PutUint16(hhea[34:], uint16(len(keep)))
	tables["hhea"] = hhea
	head := slices.Clone(f.tables["head"])
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1) // long loca offsets
	tables["head"] = head
	if post, ok := f.tables["post"]; ok && len(post) >= 32 {
		post = slices.Clone(post[:32])
		binary.BigEndian.PutUint32(post, 0x00030000) // no glyph names
		tables["post"] = post
	}
	return write(tables), newID, nil
}

// closure returns the sorted glyph numbers to keep: glyph 0, the given
// glyphs and, transitively, the components of composite glyphs. Each glyph
// is read once, so the work is bounded by the glyf table.
func (f *Font) closure(glyphs []uint16) ([]int, error) {
	seen := map[int]bool{0: true}
	todo := []int{0}
	for _, g := range glyphs {
		if int(g) >= f.numGlyphs {
			return nil, malformed("glyph %d of %d", g, f.numGlyphs)
		}
		if !seen[int(g)] {
			seen[int(g)] = true
			todo = append(todo, int(g))
		}
	}
	for len(todo) > 0 {
		g := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		data, err := f.glyph(g)
		if err != nil {
			return nil, err
		}
		offs, err := components(data, g)
		if err != nil {
			return nil, err
		}
		for _, o := range offs {
			c := int(binary.BigEndian.Uint16(data[o:]))
			if c >= f.numGlyphs {
				return nil, malformed("composite glyph %d refers to glyph %d of %d", g, c, f.numGlyphs)
			}
			if !seen[c] {
				seen[c] = true
				todo = append(todo, c)
			}
		}
	}
	keep := make([]int, 0, len(seen))
	for g := range seen {
		keep = append(keep, g)
	}
	slices.Sort(keep)
	return keep, nil
}

// glyphTables writes the glyf, loca (long) and hmtx tables of the kept
// glyphs, with composite glyphs' component numbers renumbered. The glyphs
// were read by closure, so they are known to be well formed.
func (f *Font) glyphTables(keep []int, newID map[uint16]uint16) (glyf, loca, hmtx []byte) {
	loca = make([]byte, 0, 4*(len(keep)+1))
	hmtx = make([]byte, 0, 4*len(keep))
	for _, g := range keep {
		loca = binary.BigEndian.AppendUint32(loca, uint32(len(glyf)))
		data, _ := f.glyph(g)
		start := len(glyf)
		glyf = append(glyf, data...)
		offs, _ := components(data, g)
		for _, o := range offs {
			old := binary.BigEndian.Uint16(data[o:])
			binary.BigEndian.PutUint16(glyf[start+o:], newID[old])
		}
		for len(glyf)%4 != 0 {
			glyf = append(glyf, 0)
		}
		adv, lsb := f.metric(g)
		hmtx = binary.BigEndian.AppendUint16(hmtx, adv)
		hmtx = binary.BigEndian.AppendUint16(hmtx, lsb)
	}
	loca = binary.BigEndian.AppendUint32(loca, uint32(len(glyf)))
	return glyf, loca, hmtx
}

// write lays out a font file: the table directory sorted by tag, each
// table 4-byte aligned with its checksum, and head's checkSumAdjustment.
func write(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for tag := range tables {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	n := len(tags)
	pow := 1
	log := 0
	for pow*2 <= n {
		pow *= 2
		log++
	}
	out := binary.BigEndian.AppendUint32(nil, 0x00010000)
	out = binary.BigEndian.AppendUint16(out, uint16(n))
	out = binary.BigEndian.AppendUint16(out, uint16(16*pow))
	out = binary.BigEndian.AppendUint16(out, uint16(log))
	out = binary.BigEndian.AppendUint16(out, uint16(16*(n-pow)))
	off := 12 + 16*n
	headOff := 0
	for _, tag := range tags {
		t := tables[tag]
		out = append(out, tag...)
		out = binary.BigEndian.AppendUint32(out, checksum(t))
		out = binary.BigEndian.AppendUint32(out, uint32(off))
		out = binary.BigEndian.AppendUint32(out, uint32(len(t)))
		if tag == "head" {
			headOff = off
		}
		off += (len(t) + 3) &^ 3
	}
	for _, tag := range tags {
		out = append(out, tables[tag]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	binary.BigEndian.PutUint32(out[headOff+8:], 0xB1B0AFBA-checksum(out))
	return out
}

// checksum is the OpenType table checksum: the sum of the big-endian
// 32-bit words of the data, zero-padded to a multiple of 4.
func checksum(b []byte) uint32 {
	var sum uint32
	for len(b) >= 4 {
		sum += binary.BigEndian.Uint32(b)
		b = b[4:]
	}
	var last [4]byte
	copy(last[:], b)
	return sum + binary.BigEndian.Uint32(last[:])
}
