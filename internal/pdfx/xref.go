package pdfx

import (
	"bytes"
	"cmp"
	"errors"
	"iter"
	"slices"

	"github.com/roamsign/roamsign"
)

// xent is one cross-reference entry as held in memory: 24 bytes, in an
// index sorted by object number and then by section (newest first) that
// all revisions reading the same sections share.
type xent struct {
	key uint64 // object number << 32 | section index (while parsing: parse order)
	off int64  // EntryInFile: offset; EntryCompressed: stream << 32 | index
	gen uint32
	typ EntryType
}

const xentSize = 24

func (e xent) num() int { return int(e.key >> 32) }
func (e xent) sec() int { return int(uint32(e.key)) }

func (e xent) entry() Entry {
	switch e.typ {
	case EntryCompressed:
		return Entry{Type: e.typ, Stream: int(e.off >> 32), Index: int(uint32(e.off))}
	case EntryInFile:
		return Entry{Type: e.typ, Offset: e.off, Gen: int(e.gen)}
	}
	return Entry{Type: e.typ, Gen: int(e.gen)}
}

func byKey(a, b xent) int { return cmp.Compare(a.key, b.key) }

// xrefData is a file's chain of cross-reference sections and their
// entries.
type xrefData struct {
	sections []Section
	ents     []xent
	// declared counts the entries the sections declare, against the rule
	// that an entry needs at least one byte of file.
	declared int64
	// Per section, for the chain from that section to the oldest: the
	// smallest file size in which it reads the same, and its declared
	// entries.
	need, count []int64
}

// reserve makes room for n more entries, charging the growth of the
// index: exactly what a large section declares, else doubling.
func (x *xrefData) reserve(b *Budget, n int) error {
	if cap(x.ents)-len(x.ents) >= n {
		return nil
	}
	c := max(len(x.ents)+n, 2*cap(x.ents), 32)
	if err := b.Spend(int64(c) * xentSize); err != nil {
		return err
	}
	grown := make([]xent, len(x.ents), c)
	copy(grown, x.ents)
	x.ents = grown
	return nil
}

// add appends e, charging the growth of the index.
func (x *xrefData) add(b *Budget, e xent) error {
	if err := x.reserve(b, 1); err != nil {
		return err
	}
	x.ents = append(x.ents, e)
	return nil
}

// declare counts n more entries and refuses them when the file cannot
// hold them: each takes at least one byte of file.
func (r *Reader) declare(n int64) error {
	r.x.declared += n
	if r.x.declared > r.size || r.x.declared >= 1<<32 {
		return tooLarge("the cross-reference data declares %d entries, more than the %d bytes of the file can hold", r.x.declared, r.size)
	}
	return nil
}

// finish sorts the entries parsed for section sec (x.ents[from:], keyed by
// number and parse order) by number, keeps the last of each number (a
// later line of a table overrides an earlier one) and stamps them with sec.
func (x *xrefData) finish(from, sec int) {
	s := x.ents[from:]
	if !slices.IsSortedFunc(s, byKey) {
		slices.SortFunc(s, byKey)
	}
	out := s[:0]
	for i, e := range s {
		if i+1 < len(s) && s[i+1].num() == e.num() {
			continue
		}
		e.key = uint64(e.num())<<32 | uint64(sec)
		out = append(out, e)
	}
	x.ents = x.ents[:from+len(out)]
}

// mergeHidden merges the entries of a hybrid file's /XRefStm stream
// (x.ents[mid:]) into its table's (x.ents[from:mid]): objects hidden in the
// stream take precedence over the table's free entries for them.
func (x *xrefData) mergeHidden(b *Budget, from, mid int) error {
	a, h := x.ents[from:mid], x.ents[mid:]
	if err := b.Spend(int64(len(a)+len(h)) * xentSize); err != nil {
		return err
	}
	out := make([]xent, 0, len(a)+len(h))
	i, j := 0, 0
	for i < len(a) || j < len(h) {
		switch {
		case j == len(h) || (i < len(a) && a[i].num() < h[j].num()):
			out = append(out, a[i])
			i++
		case i == len(a) || h[j].num() < a[i].num():
			out = append(out, h[j])
			j++
		default:
			if a[i].typ == EntryFree {
				out = append(out, h[j])
			} else {
				out = append(out, a[i])
			}
			i++
			j++
		}
	}
	x.ents = append(x.ents[:from], out...)
	return nil
}

// finalize sorts the index across sections and computes, for each chain
// suffix, what a shorter file must hold to read it the same.
func (x *xrefData) finalize(perSection []int64, needs []int64) {
	if len(x.sections) > 1 && !slices.IsSortedFunc(x.ents, byKey) {
		slices.SortFunc(x.ents, byKey)
	}
	n := len(x.sections)
	x.need, x.count = make([]int64, n), make([]int64, n)
	var need, count int64
	for i := n - 1; i >= 0; i-- {
		need, count = max(need, needs[i]), count+perSection[i]
		x.need[i], x.count[i] = need, count
	}
}

// suffix finds, at or after section from, the section at offset off and
// reports whether the chain from it reads the same in a file of end bytes.
func (x *xrefData) suffix(from int, off, end int64) (int, bool) {
	for k := from; k < len(x.sections); k++ {
		if x.sections[k].Offset == off {
			return k, x.need[k] <= end && x.count[k] <= end
		}
	}
	return 0, false
}

// lookup returns the newest entry for num in the sections from first on.
func (x *xrefData) lookup(num, first int) (xent, bool) {
	if num < 0 || num >= 1<<32 {
		return xent{}, false
	}
	key := uint64(num)<<32 | uint64(first)
	i, _ := slices.BinarySearchFunc(x.ents, key, func(e xent, k uint64) int { return cmp.Compare(e.key, k) })
	if i < len(x.ents) && x.ents[i].num() == num {
		return x.ents[i], true
	}
	return xent{}, false
}

// maxNum returns the highest object number with an entry in the sections
// from first on.
func (x *xrefData) maxNum(first int) int {
	for i := len(x.ents) - 1; i >= 0; i-- {
		if x.ents[i].sec() >= first {
			return x.ents[i].num()
		}
	}
	return 0
}

// visible returns, from the group of entries of one number (sorted by
// section), the newest one in the sections from first on.
func visible(group []xent, first int) (xent, bool) {
	for _, e := range group {
		if e.sec() >= first {
			return e, true
		}
	}
	return xent{}, false
}

// cursor walks the entries of x by object number, skipping numbers with
// no entry in the sections from first on.
type cursor struct {
	x        *xrefData
	first, i int
}

// next returns the entries of the next number and its visible entry.
func (c *cursor) next() (xent, bool) {
	for c.i < len(c.x.ents) {
		j := c.i + 1
		for j < len(c.x.ents) && c.x.ents[j].num() == c.x.ents[c.i].num() {
			j++
		}
		g := c.x.ents[c.i:j]
		c.i = j
		if e, ok := visible(g, c.first); ok {
			return e, true
		}
	}
	return xent{}, false
}

// Change is an object number whose cross-reference entry differs between
// two revisions.
type Change struct {
	Num        int
	Was, Now   Entry
	InOld, InR bool // whether each revision has an entry for it
}

// Changes calls fn for every object number whose entry in r differs from
// its entry in old (an earlier revision, from [Reader.Revision]), in
// increasing order, wherever the differing cross-reference data lies. It
// stops at the first error fn returns. The walk is charged to the budget.
func (r *Reader) Changes(old *Reader, fn func(Change) error) error {
	walk := len(r.x.ents)
	if r.x != old.x {
		walk += len(old.x.ents)
	}
	if err := r.b.Spend(int64(walk)); err != nil {
		return err
	}
	emit := func(num int, o xent, inOld bool, n xent, inNew bool) error {
		if inOld == inNew && o.entry() == n.entry() {
			return nil
		}
		return fn(Change{Num: num, Was: o.entry(), Now: n.entry(), InOld: inOld, InR: inNew})
	}
	if r.x == old.x {
		// One index: compare, number by number, the entry each revision sees.
		for i := 0; i < len(r.x.ents); {
			j := i + 1
			for j < len(r.x.ents) && r.x.ents[j].num() == r.x.ents[i].num() {
				j++
			}
			o, inOld := visible(r.x.ents[i:j], old.first)
			n, inNew := visible(r.x.ents[i:j], r.first)
			if err := emit(r.x.ents[i].num(), o, inOld, n, inNew); err != nil {
				return err
			}
			i = j
		}
		return nil
	}
	co, cn := &cursor{x: old.x, first: old.first}, &cursor{x: r.x, first: r.first}
	o, okO := co.next()
	n, okN := cn.next()
	for okO || okN {
		var err error
		switch {
		case okO && (!okN || o.num() < n.num()):
			err = emit(o.num(), o, true, xent{}, false)
			o, okO = co.next()
		case okN && (!okO || n.num() < o.num()):
			err = emit(n.num(), xent{}, false, n, true)
			n, okN = cn.next()
		default:
			err = emit(o.num(), o, true, n, true)
			o, okO = co.next()
			n, okN = cn.next()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// SectionEntries yields the entries of section i of [Reader.Sections]
// (hybrid files: the /XRefStm stream's included) by object number.
func (r *Reader) SectionEntries(i int) iter.Seq2[int, Entry] {
	sec := r.first + i
	return func(yield func(int, Entry) bool) {
		for _, e := range r.x.ents {
			if e.sec() == sec && !yield(e.num(), e.entry()) {
				return
			}
		}
	}
}

// readSections reads the chain of sections from startxref, newest first.
func (r *Reader) readSections() error {
	x := &xrefData{}
	r.x, r.first = x, 0
	r.track = true
	defer func() { r.track = false }()
	var perSection, needs []int64
	seen := map[int64]bool{}
	off := r.startxref
	for {
		if seen[off] {
			return invalid("cross-reference sections form a loop")
		}
		seen[off] = true
		if len(x.sections) >= r.lim.MaxSections {
			return tooLarge("more than %d cross-reference sections", r.lim.MaxSections)
		}
		if err := r.b.Spend(costSection); err != nil {
			return err
		}
		r.need = 0
		declared := x.declared
		sec, err := r.readChainSection(off, seen)
		if err != nil {
			return err
		}
		prev, hasPrev := sec.Trailer["Prev"]
		var pv int64
		if hasPrev {
			var ok bool
			if pv, ok = Int(prev); !ok || !r.inFile(r.abs(pv)) {
				return invalid("bad /Prev offset")
			}
		}
		x.sections = append(x.sections, sec)
		perSection, needs = append(perSection, x.declared-declared), append(needs, r.need)
		if !hasPrev {
			break
		}
		off = r.abs(pv)
	}
	x.finalize(perSection, needs)
	r.trailer = x.sections[0].Trailer
	return nil
}

// readChainSection reads the section at off with its hybrid /XRefStm.
func (r *Reader) readChainSection(off int64, seen map[int64]bool) (Section, error) {
	x := r.x
	from := len(x.ents)
	sec, err := r.readSection(off)
	if err != nil || sec.XRefStm == 0 {
		return sec, err
	}
	if seen[sec.XRefStm] {
		return sec, invalid("cross-reference stream referenced twice")
	}
	seen[sec.XRefStm] = true
	mid := len(x.ents)
	hs, err := r.readSection(sec.XRefStm)
	if err != nil {
		return sec, err
	}
	if !hs.Stream {
		return sec, invalid("/XRefStm does not point to a cross-reference stream")
	}
	return sec, x.mergeHidden(r.b, from, mid)
}

// readSection reads one table or xref stream at off, adding its entries
// to the index for section number len(r.x.sections).
func (r *Reader) readSection(off int64) (Section, error) {
	sec := Section{Offset: off}
	x := r.x
	from, declared, secNum := len(x.ents), x.declared, len(x.sections)
	isTable := false
	err := r.withParser(off, 64, func(p *parser) error {
		p.skipSpace()
		isTable = bytes.HasPrefix(p.data[p.pos:], []byte("xref"))
		return nil
	})
	if err != nil {
		return sec, err
	}
	if isTable {
		maxWin := r.lim.MaxObjects*21 + r.lim.MaxObjectBytes
		err = r.withParser(off, maxWin, func(p *parser) error {
			// A retry with a larger window starts the section again.
			x.ents, x.declared = x.ents[:from], declared
			return r.parseTable(p, &sec)
		})
		if err != nil {
			return sec, err
		}
		x.finish(from, secNum)
		if xs, ok := sec.Trailer["XRefStm"]; ok {
			v, ok := Int(xs)
			if !ok || !r.inFile(r.abs(v)) {
				return sec, invalid("bad /XRefStm offset")
			}
			sec.XRefStm = r.abs(v)
		}
		return sec, nil
	}
	sec.Stream = true
	_, obj, err := r.parseIndirectAt(off)
	var se *syntaxError
	if err != nil && !errors.As(err, &se) && !errors.Is(err, roamsign.ErrInvalidInput) {
		return sec, err
	}
	s, ok := obj.(*Stream)
	if err != nil || !ok || s.Dict["Type"] != Name("XRef") {
		// The words a person reads: where the file says its
		// cross-reference data is, there is none (a syntax error at that
		// offset says the same in a reader's terms).
		return sec, invalid("the cross-reference data is not where the file says (byte %d holds neither a cross-reference table nor a cross-reference stream)", off)
	}
	sec.Trailer = s.Dict
	if err := r.parseXRefStream(s); err != nil {
		return sec, err
	}
	x.finish(from, secNum)
	return sec, nil
}

// addEntry adds an entry of the section being read, keyed by number and
// parse order.
func (r *Reader) addEntry(from, num int, typ EntryType, off, gen int64) error {
	seq := uint64(len(r.x.ents) - from)
	return r.x.add(r.b, xent{key: uint64(num)<<32 | seq, off: off, gen: uint32(min(max(gen, 0), 1<<32-1)), typ: typ})
}

func (r *Reader) parseTable(p *parser, sec *Section) error {
	from := len(r.x.ents)
	if err := p.expectKeyword("xref"); err != nil {
		return err
	}
	for {
		p.skipSpace()
		if bytes.HasPrefix(p.data[p.pos:], []byte("trailer")) {
			p.pos += 7
			break
		}
		start, err := p.uint()
		if err != nil {
			return err
		}
		count, err := p.uint()
		if err != nil {
			return err
		}
		if start+count > int64(r.lim.MaxObjects) {
			return tooLarge("cross-reference table exceeds %d objects", r.lim.MaxObjects)
		}
		if err := r.declare(count); err != nil {
			return err
		}
		// Each line takes 20 bytes: reserve no more than the rest of the
		// file can hold.
		if err := r.x.reserve(r.b, int(min(count, (r.size-p.base-int64(p.pos))/18+1))); err != nil {
			return err
		}
		for i := int64(0); i < count; i++ {
			o, err := p.uint()
			if err != nil {
				return err
			}
			g, err := p.uint()
			if err != nil {
				return err
			}
			k, err := p.keyword()
			if err != nil {
				return err
			}
			n := int(start + i)
			switch string(k) {
			case "n":
				if !r.inFile(r.abs(o)) {
					return invalid("object %d has offset %d outside the file", n, o)
				}
				err = r.addEntry(from, n, EntryInFile, r.abs(o), g)
			case "f":
				err = r.addEntry(from, n, EntryFree, 0, g)
			default:
				return p.errf("bad cross-reference entry type")
			}
			if err != nil {
				return err
			}
		}
	}
	t, err := p.object(0)
	if err != nil {
		return err
	}
	d, ok := t.(Dict)
	if !ok {
		return p.errf("trailer is not a dictionary")
	}
	sec.Trailer = d
	return nil
}

// xrefLayout reads /W and /Index (default [0 /Size]) of an xref stream.
func (r *Reader) xrefLayout(d Dict) (w [3]int, rowLen int, index []int64, err error) {
	wa, ok := d["W"].(Array)
	if !ok || len(wa) != 3 {
		return w, 0, nil, invalid("cross-reference stream has a bad /W")
	}
	for i, o := range wa {
		v, ok := Int(o)
		if !ok || v < 0 || v > 8 {
			return w, 0, nil, invalid("cross-reference stream has a bad /W")
		}
		w[i] = int(v)
		rowLen += int(v)
	}
	if rowLen == 0 {
		return w, 0, nil, invalid("cross-reference stream has a bad /W")
	}
	size, ok := Int(d["Size"])
	if !ok || size < 0 || size > int64(r.lim.MaxObjects) {
		return w, 0, nil, tooLarge("cross-reference stream /Size missing or above %d", r.lim.MaxObjects)
	}
	index = []int64{0, size}
	if ia, ok := d["Index"].(Array); ok {
		if len(ia)%2 != 0 {
			return w, 0, nil, invalid("cross-reference stream has a bad /Index")
		}
		index = make([]int64, len(ia))
		for i, o := range ia {
			v, ok := Int(o)
			if !ok || v < 0 || v > int64(r.lim.MaxObjects) {
				return w, 0, nil, invalid("cross-reference stream has a bad /Index")
			}
			index[i] = v
		}
	}
	for i := 0; i < len(index); i += 2 {
		if index[i]+index[i+1] > int64(r.lim.MaxObjects) {
			return w, 0, nil, invalid("cross-reference stream has a bad /Index")
		}
		if err := r.declare(index[i+1]); err != nil {
			return w, 0, nil, err
		}
	}
	return w, rowLen, index, nil
}

// parseXRefStream adds the entries of an xref stream. Only the rows its
// /Index declares are decoded.
func (r *Reader) parseXRefStream(s *Stream) error {
	from := len(r.x.ents)
	w, rowLen, index, err := r.xrefLayout(s.Dict)
	if err != nil {
		return err
	}
	rows := int64(0)
	for i := 1; i < len(index); i += 2 {
		rows += index[i]
	}
	raw, err := r.ReadRaw(s)
	if err != nil {
		return err
	}
	data, err := r.decode(raw, s.Dict, rows*int64(rowLen))
	if err != nil {
		return err
	}
	if int64(len(data)) < rows*int64(rowLen) {
		return invalid("cross-reference stream is shorter than its /Index says")
	}
	if err := r.x.reserve(r.b, int(rows)); err != nil {
		return err
	}
	pos := 0
	for i := 0; i < len(index); i += 2 {
		start, count := index[i], index[i+1]
		for j := int64(0); j < count; j++ {
			var f [3]int64
			for k := 0; k < 3; k++ {
				for b := 0; b < w[k]; b++ {
					f[k] = f[k]<<8 | int64(data[pos])
					pos++
				}
			}
			if w[0] == 0 {
				f[0] = 1
			}
			if err := r.xrefRow(from, int(start+j), f); err != nil {
				return err
			}
		}
	}
	return nil
}

// xrefRow adds the entry of one xref stream row.
func (r *Reader) xrefRow(from, n int, f [3]int64) error {
	switch f[0] {
	case 0:
		return r.addEntry(from, n, EntryFree, 0, f[2])
	case 1:
		if !r.inFile(r.abs(f[1])) {
			return invalid("object %d has offset %d outside the file", n, f[1])
		}
		return r.addEntry(from, n, EntryInFile, r.abs(f[1]), f[2])
	case 2:
		if f[1] < 0 || f[1] > int64(r.lim.MaxObjects) || f[2] < 0 || f[2] > int64(r.lim.MaxObjects) {
			return invalid("bad compressed object entry for object %d", n)
		}
		return r.addEntry(from, n, EntryCompressed, f[1]<<32|f[2], 0)
	}
	// Unknown types are treated as null objects (ISO 32000-2, 7.5.8.3).
	return nil
}
