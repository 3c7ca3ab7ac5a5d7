package pdfx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/roamsign/roamsign"
)

const rebuildOp = "pdfx.Rebuild"

// Rebuild reads a damaged file without trusting its cross-reference data:
// it scans the whole file (streamed in fixed-size chunks) for the headers
// of indirect objects ("n g obj") and for trailers, keeps the last
// definition of each object that parses, adds the objects of the object
// streams it finds, and takes /Root, /Info, /ID and /Encrypt from the
// newest trailer (or cross-reference stream) that has them, else the
// catalog from the objects. The Reader it returns reads the objects found
// as one revision; [Reader.WriteFull] writes them as a clean file. What
// it did is returned in plain words. The object streams of an encrypted
// file are read when [Reader.Decrypt] is called on the Reader.
//
// It is for files that [Open] refuses as damaged, and for callers that
// asked for a repair: the file it describes is not the file as written,
// so a signature over the original bytes means nothing for it. Everything
// is charged to lim.Budget as for Open.
func Rebuild(ctx context.Context, ra io.ReaderAt, size int64, lim Limits) (*Reader, []string, error) {
	lim = lim.withDefaults()
	if lim.Budget == nil {
		lim.Budget = NewBudget(DefaultBudget(size))
	}
	r := newReader(ra, size, lim)
	r.repair = true
	if err := r.b.Spend(costReader); err != nil {
		return nil, nil, err
	}
	if err := r.readHeader(); err != nil {
		return nil, nil, err
	}
	r.x = &xrefData{}
	found, err := r.scanObjects(ctx)
	if err != nil {
		return nil, nil, err
	}
	var notes []string
	if r.hdr > 0 {
		notes = append(notes, fmt.Sprintf("removed %d bytes before the PDF header", r.hdr))
	}
	dropped, err := r.keepReadable(found)
	if err != nil {
		return nil, nil, err
	}
	if dropped > 0 {
		notes = append(notes, fmt.Sprintf("left out %d objects that could not be read", dropped))
	}
	if err := r.addCompressed(); err != nil {
		return nil, nil, err
	}
	tr, err := r.rebuiltTrailer(found.trailers)
	if err != nil {
		return nil, nil, err
	}
	x := r.x
	x.sections = []Section{{Offset: 0, Trailer: tr}}
	x.finalize([]int64{x.declared}, []int64{size})
	r.trailer = tr
	if err := r.b.Err(); err != nil {
		return nil, nil, err
	}
	notes = append(notes, fmt.Sprintf("rebuilt the cross-reference data from the %d objects found in the file", len(x.ents)))
	return r, notes, nil
}

// scanned is what scanObjects found: object headers and trailers, in file
// order.
type scanned struct {
	objs     []xent  // key: number << 32 | order found
	trailers []int64 // offsets of "trailer" keywords
}

// scanObjects finds every "n g obj" and "trailer" at the start of a line.
func (r *Reader) scanObjects(ctx context.Context) (*scanned, error) {
	const chunk = 1 << 20
	const overlap = 32
	s := &scanned{}
	buf := make([]byte, chunk+overlap)
	for off := r.hdr; off < r.size; off += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Each chunk after the first starts one byte early, so that what
		// starts at its first byte is seen after the byte before it.
		rd, first := off, 0
		if off > r.hdr {
			rd, first = off-1, 1
		}
		n := min(int64(len(buf)), r.size-rd)
		b := buf[:n]
		if _, err := r.ra.ReadAt(b, rd); err != nil && err != io.EOF {
			return nil, roamsign.Wrap(roamsign.ErrUnavailable, rebuildOp, err, "read failed")
		}
		if err := r.scanChunk(s, b, rd, first, chunk+first); err != nil {
			return nil, err
		}
	}
	if len(s.objs) == 0 {
		return nil, roamsign.E(roamsign.ErrInvalidInput, rebuildOp, "no objects found in the file: it cannot be repaired")
	}
	return s, nil
}

// scanChunk records the object headers and trailers that start at
// b[from:to] (b is at off), each after white space or at the header, and
// every endstream keyword.
func (r *Reader) scanChunk(s *scanned, b []byte, off int64, from, to int) error {
	for i := from; i < len(b) && i < to; i++ {
		c := b[i]
		if c == 'e' && bytes.HasPrefix(b[i:], []byte("endstream")) {
			if err := r.b.Spend(8); err != nil {
				return err
			}
			r.ends = append(r.ends, off+int64(i))
			continue
		}
		if i > 0 && !isSpace(b[i-1]) {
			continue
		}
		switch {
		case c >= '0' && c <= '9':
			if num, gen, ok := objHeader(b[i:]); ok {
				if err := r.b.Spend(xentSize); err != nil {
					return err
				}
				s.objs = append(s.objs, xent{key: uint64(num)<<32 | uint64(len(s.objs)), off: off + int64(i), gen: uint32(gen), typ: EntryInFile})
			}
		case c == 't' && bytes.HasPrefix(b[i:], []byte("trailer")):
			if err := r.b.Spend(8); err != nil {
				return err
			}
			s.trailers = append(s.trailers, off+int64(i))
		}
	}
	return nil
}

// objHeader parses "num gen obj" at the start of b.
func objHeader(b []byte) (num, gen int64, ok bool) {
	p := &parser{data: b[:min(len(b), 32)], atEOF: true, maxDepth: 1}
	var err error
	if num, err = p.uint(); err != nil || num <= 0 || num >= 1<<31 {
		return 0, 0, false
	}
	if gen, err = p.uint(); err != nil || gen > 65535 {
		return 0, 0, false
	}
	p.skipSpace()
	if !bytes.HasPrefix(p.data[p.pos:], []byte("obj")) {
		return 0, 0, false
	}
	if e := p.pos + 3; e < len(p.data) && !isSpace(p.data[e]) && !isDelim(p.data[e]) {
		return 0, 0, false
	}
	return num, gen, true
}

// keepReadable indexes, for each object number, the last definition found
// that parses, and returns how many numbers had none.
func (r *Reader) keepReadable(found *scanned) (int, error) {
	objs := found.objs
	if len(objs) > r.lim.MaxObjects {
		return 0, tooLarge("more than %d objects", r.lim.MaxObjects)
	}
	slices.SortFunc(objs, byKey)
	if err := r.x.reserve(r.b, len(objs)); err != nil {
		return 0, err
	}
	dropped := 0
	for i := 0; i < len(objs); {
		j := i
		for j < len(objs) && objs[j].num() == objs[i].num() {
			j++
		}
		kept := false
		for k := j - 1; k >= i && !kept; k-- {
			e := objs[k]
			ref, _, err := r.parseIndirectAt(e.off)
			if err != nil {
				if r.b.Err() != nil {
					return 0, r.b.Err()
				}
				continue
			}
			if ref.Num != e.num() {
				continue
			}
			e.key = uint64(e.num()) << 32
			r.x.ents = append(r.x.ents, e)
			kept = true
		}
		if !kept {
			dropped++
		}
		i = j
	}
	r.x.declared = int64(len(r.x.ents))
	return dropped, nil
}

// addCompressed adds the objects of every object stream found, except
// those also found as objects of the file. The object streams of an
// encrypted file are read once it is decrypted (Decrypt calls it again).
func (r *Reader) addCompressed() error {
	var add []xent
	for _, e := range r.x.ents {
		if e.typ != EntryInFile {
			continue
		}
		_, o, err := r.parseIndirectAt(e.off)
		s, ok := o.(*Stream)
		if err != nil || !ok || s.Dict["Type"] != Name("ObjStm") {
			continue
		}
		if _, err := r.decrypted(Ref{Num: e.num(), Gen: int(e.gen)}, s); err != nil {
			continue
		}
		os, err := r.loadObjStm(s)
		if err != nil {
			if r.b.Err() != nil {
				return r.b.Err()
			}
			continue
		}
		for i, n := range os.nums {
			if n > 0 && n < r.lim.MaxObjects {
				add = append(add, xent{key: uint64(n) << 32, off: int64(e.num())<<32 | int64(i), typ: EntryCompressed})
			}
		}
	}
	if len(add) == 0 {
		return nil
	}
	if err := r.x.reserve(r.b, len(add)); err != nil {
		return err
	}
	// Objects of the file come first in ents: the stable sort keeps them
	// before an object stream's copy of the same number, and so does it
	// for two object streams; the first of each number is kept.
	r.x.ents = append(r.x.ents, add...)
	slices.SortStableFunc(r.x.ents, byKey)
	r.x.ents = slices.CompactFunc(r.x.ents, func(a, b xent) bool { return a.num() == b.num() })
	r.x.declared = int64(len(r.x.ents))
	return nil
}

// rebuiltTrailer merges the trailers and cross-reference stream
// dictionaries found, oldest first, and makes sure /Root is a catalog.
func (r *Reader) rebuiltTrailer(trailers []int64) (Dict, error) {
	type cand struct {
		off int64
		d   Dict
	}
	var cands []cand
	for _, off := range trailers {
		var d Dict
		err := r.withParser(off+7, r.lim.MaxObjectBytes, func(p *parser) error {
			o, err := p.object(0)
			d, _ = o.(Dict)
			return err
		})
		if err == nil && d != nil {
			cands = append(cands, cand{off, d})
		}
	}
	for _, e := range r.x.ents {
		if e.typ != EntryInFile {
			continue
		}
		if _, o, err := r.parseIndirectAt(e.off); err == nil {
			if s, ok := o.(*Stream); ok && s.Dict["Type"] == Name("XRef") {
				cands = append(cands, cand{e.off, s.Dict})
			}
		}
	}
	slices.SortFunc(cands, func(a, b cand) int { return int(a.off - b.off) })
	tr := Dict{}
	for _, c := range cands {
		for _, k := range []Name{"Root", "Info", "ID", "Encrypt"} {
			if v, ok := c.d[k]; ok {
				tr[k] = v
			}
		}
	}
	r.trailer = tr
	if cat, err := r.Catalog(); err == nil && (cat["Type"] == Name("Catalog") || cat["Pages"] != nil) {
		return tr, nil
	}
	// No usable /Root: the newest catalog among the objects.
	for i := len(r.x.ents) - 1; i >= 0; i-- {
		num := r.x.ents[i].num()
		ref := Ref{Num: num, Gen: int(r.x.ents[i].gen)}
		if r.x.ents[i].typ == EntryCompressed {
			ref.Gen = 0
		}
		if d, err := r.ResolveDict(ref, "object"); err == nil && d["Type"] == Name("Catalog") {
			tr["Root"] = ref
			return tr, nil
		}
	}
	return nil, roamsign.E(roamsign.ErrInvalidInput, rebuildOp, "no document catalog found in the file: it cannot be repaired")
}

// findEndstream returns the length of the stream data starting at off:
// the bytes before the next "endstream" keyword the scan found (and the
// end-of-line before it), or false when there is none.
func (r *Reader) findEndstream(off int64) (int64, bool) {
	i, _ := slices.BinarySearch(r.ends, off)
	if i == len(r.ends) {
		return 0, false
	}
	end := r.ends[i]
	// The end-of-line before the keyword is not data.
	if end > off && r.byteAt(end-1) == '\n' {
		end--
	}
	if end > off && r.byteAt(end-1) == '\r' {
		end--
	}
	return end - off, true
}

func (r *Reader) byteAt(off int64) byte {
	var b [1]byte
	if _, err := r.ra.ReadAt(b[:], off); err != nil {
		return 0
	}
	return b[0]
}

// endstreamAt reports whether "endstream" follows the stream data that
// ends at end (after an optional end-of-line).
func (r *Reader) endstreamAt(end int64) bool {
	var b [12]byte
	n, _ := r.ra.ReadAt(b[:], end)
	s := bytes.TrimLeft(b[:n], "\r\n \t")
	return bytes.HasPrefix(s, []byte("endstream"))
}
