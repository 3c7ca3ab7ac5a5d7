package pdfx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/roamsign/roamsign"
)

// Limits bound the work and memory spent on one file. Zero fields take the
// defaults documented on each.
type Limits struct {
	MaxObjects     int   // highest object number + 1 accepted; default 4,000,000
	MaxDepth       int   // nesting of arrays and dictionaries; default 64
	MaxStreamBytes int64 // decoded size of an xref or object stream; default 64 MiB
	MaxObjectBytes int   // bytes one indirect object may span; default 16 MiB
	MaxSections    int   // cross-reference sections (revisions); default 10,000
}

func (l Limits) withDefaults() Limits {
	if l.MaxObjects <= 0 {
		l.MaxObjects = 4_000_000
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 64
	}
	if l.MaxStreamBytes <= 0 {
		l.MaxStreamBytes = 64 << 20
	}
	if l.MaxObjectBytes <= 0 {
		l.MaxObjectBytes = 16 << 20
	}
	if l.MaxSections <= 0 {
		l.MaxSections = 10_000
	}
	return l
}

// EntryType is the kind of a cross-reference entry.
type EntryType uint8

// Cross-reference entry kinds (ISO 32000-2, 7.5.4 and 7.5.8.3).
const (
	EntryFree       EntryType = 0 // free (deleted) object
	EntryInFile     EntryType = 1 // object at a byte offset
	EntryCompressed EntryType = 2 // object inside an object stream
)

// Entry is one cross-reference entry.
type Entry struct {
	Type   EntryType
	Offset int64 // EntryInFile: byte offset of "n g obj"
	Gen    int   // generation (0 for compressed objects)
	Stream int   // EntryCompressed: object number of the object stream
	Index  int   // EntryCompressed: index inside the object stream
}

// Section is one cross-reference section, which together with the objects
// written before it forms a revision of the file.
type Section struct {
	Offset  int64         // the startxref value that leads to it
	Stream  bool          // an xref stream rather than a table
	XRefStm int64         // hybrid files: offset of the /XRefStm stream, else 0
	Trailer Dict          // trailer dictionary (the stream dictionary for xref streams)
	Entries map[int]Entry // entries of this section only (XRefStm entries included)
}

// Reader reads the structure and objects of a PDF file through an
// io.ReaderAt, holding in memory only cross-reference data and the objects
// asked for. A Reader is not safe for concurrent use.
type Reader struct {
	ra   io.ReaderAt
	size int64
	lim  Limits

	version   string
	startxref int64
	eofEnd    bool // the file ends with an end-of-line after %%EOF
	sections  []Section
	entries   map[int]Entry
	trailer   Dict
	cache     map[int]Object
	objStms   map[int]*objStream
	resolving int
	scratch   []byte // window buffer reused by withParser
}

type objStream struct {
	data  []byte
	first int
	nums  []int
	offs  []int
}

const op = "pdfx.Open"

func invalid(format string, args ...any) error {
	return roamsign.E(roamsign.ErrInvalidInput, op, format, args...)
}

func wrapSyntax(err error) error {
	if err == nil {
		return nil
	}
	var k roamsign.Kind
	var e *roamsign.Error
	if errors.As(err, &e) || errors.As(err, &k) {
		return err
	}
	return roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "malformed PDF")
}

// Open reads the header, the trailer and every cross-reference section of
// the file (following /Prev and /XRefStm), newest first.
//
// Files that do not start with "%PDF-" at offset 0, or that do not end with
// "startxref", an offset and "%%EOF" (white space after it is allowed), are
// refused with roamsign.ErrInvalidInput rather than repaired: a repaired file
// would no longer be the bytes a signature over it claims to cover.
// Encrypted files open (the structure is not encrypted); callers check
// [Reader.Encrypted].
func Open(ra io.ReaderAt, size int64, lim Limits) (*Reader, error) {
	r := &Reader{ra: ra, size: size, lim: lim.withDefaults(),
		entries: map[int]Entry{}, cache: map[int]Object{}, objStms: map[int]*objStream{}}
	if err := r.readHeader(); err != nil {
		return nil, err
	}
	if err := r.readTail(); err != nil {
		return nil, err
	}
	if err := r.readSections(); err != nil {
		return nil, wrapSyntax(err)
	}
	if _, ok := r.trailer["Root"].(Ref); !ok {
		return nil, invalid("trailer has no /Root reference")
	}
	return r, nil
}

func (r *Reader) readAt(off int64, n int) ([]byte, bool, error) {
	return r.readInto(nil, off, n)
}

// readInto reads n bytes at off (fewer at the end of the file) into buf
// when it is large enough, else into a new slice.
func (r *Reader) readInto(buf []byte, off int64, n int) ([]byte, bool, error) {
	if off < 0 || off > r.size {
		return nil, false, invalid("offset %d outside the file", off)
	}
	atEOF := false
	if int64(n) >= r.size-off {
		n = int(r.size - off)
		atEOF = true
	}
	if cap(buf) >= n {
		buf = buf[:n]
	} else {
		buf = make([]byte, n)
	}
	m, err := r.ra.ReadAt(buf, off)
	if m < n {
		if err == nil || err == io.EOF {
			return nil, false, invalid("file shorter than its stated size")
		}
		return nil, false, roamsign.Wrap(roamsign.ErrUnavailable, op, err, "read failed")
	}
	return buf, atEOF, nil
}

func (r *Reader) readHeader() error {
	if r.size < 16 {
		return invalid("file too short to be a PDF")
	}
	b, _, err := r.readInto(r.scratch, 0, 16)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		if b, _, err = r.readAt(0, 1024); err != nil {
			return err
		}
		if bytes.Contains(b, []byte("%PDF-")) {
			return invalid("PDF header is not at the start of the file (junk before %%PDF-)")
		}
		return invalid("not a PDF file (no %%PDF- header)")
	}
	v := b[5:]
	i := 0
	for i < len(v) && i < 8 && (v[i] == '.' || (v[i] >= '0' && v[i] <= '9')) {
		i++
	}
	r.version = string(v[:i])
	r.scratch = b[:0]
	return nil
}

func (r *Reader) readTail() error {
	n := int64(1024)
	if n > r.size {
		n = r.size
	}
	b, _, err := r.readInto(r.scratch, r.size-n, int(n))
	if err != nil {
		return err
	}
	r.scratch = b[:0]
	end := len(b)
	for end > 0 && (isSpace(b[end-1])) {
		end--
	}
	r.eofEnd = end < len(b) && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r')
	if !bytes.HasSuffix(b[:end], []byte("%%EOF")) {
		return invalid("file does not end with %%%%EOF (truncated or damaged)")
	}
	i := bytes.LastIndex(b[:end], []byte("startxref"))
	if i < 0 {
		return invalid("no startxref before the final %%%%EOF")
	}
	p := &parser{data: b[i+9 : end-5], atEOF: true, maxDepth: 1}
	x, err := p.uint()
	if err != nil {
		return invalid("bad startxref value")
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return invalid("unexpected data between startxref and %%%%EOF")
	}
	if x <= 0 || x >= r.size {
		return invalid("startxref %d outside the file", x)
	}
	r.startxref = x
	return nil
}

// withParser runs fn on a window at off, growing the window while fn reports
// errShort, up to max bytes.
func (r *Reader) withParser(off int64, max int, fn func(p *parser) error) error {
	n := 1024
	for {
		if n > max {
			n = max
		}
		// Parsed objects never alias the window, so it is reused.
		b, atEOF, err := r.readInto(r.scratch, off, n)
		if err != nil {
			return err
		}
		r.scratch = b
		p := &parser{data: b, base: off, maxDepth: r.lim.MaxDepth, atEOF: atEOF}
		err = fn(p)
		if err != errShort {
			return err
		}
		if atEOF || n >= max {
			return invalid("object at offset %d is larger than the limit of %d bytes", off, max)
		}
		n *= 4
	}
}

func (r *Reader) readSections() error {
	seen := map[int64]bool{}
	off := r.startxref
	for {
		if seen[off] {
			return invalid("cross-reference sections form a loop")
		}
		seen[off] = true
		if len(r.sections) >= r.lim.MaxSections {
			return roamsign.E(roamsign.ErrTooLarge, op, "more than %d cross-reference sections", r.lim.MaxSections)
		}
		sec, err := r.readSection(off)
		if err != nil {
			return err
		}
		if sec.XRefStm > 0 {
			if seen[sec.XRefStm] {
				return invalid("cross-reference stream referenced twice")
			}
			seen[sec.XRefStm] = true
			hs, err := r.readSection(sec.XRefStm)
			if err != nil {
				return err
			}
			if !hs.Stream {
				return invalid("/XRefStm does not point to a cross-reference stream")
			}
			// Objects hidden in the stream take precedence over the table's
			// free entries for them.
			for n, e := range hs.Entries {
				if t, ok := sec.Entries[n]; !ok || t.Type == EntryFree {
					sec.Entries[n] = e
				}
			}
		}
		r.sections = append(r.sections, sec)
		prev, hasPrev := sec.Trailer["Prev"]
		if !hasPrev {
			break
		}
		pv, ok := Int(prev)
		if !ok || pv <= 0 || pv >= r.size {
			return invalid("bad /Prev offset")
		}
		off = pv
	}
	r.trailer = r.sections[0].Trailer
	if len(r.sections) == 1 {
		r.entries = r.sections[0].Entries
	} else {
		for _, sec := range r.sections {
			for n, e := range sec.Entries {
				if _, ok := r.entries[n]; !ok {
					r.entries[n] = e
				}
			}
		}
	}
	if len(r.entries) > r.lim.MaxObjects {
		return roamsign.E(roamsign.ErrTooLarge, op, "more than %d objects", r.lim.MaxObjects)
	}
	return nil
}

func (r *Reader) readSection(off int64) (Section, error) {
	sec := Section{Offset: off}
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
			sec.Entries = map[int]Entry{}
			return r.parseTable(p, &sec)
		})
		if err != nil {
			return sec, err
		}
		if x, ok := sec.Trailer["XRefStm"]; ok {
			v, ok := Int(x)
			if !ok || v <= 0 || v >= r.size {
				return sec, invalid("bad /XRefStm offset")
			}
			sec.XRefStm = v
		}
		return sec, nil
	}
	sec.Stream = true
	_, obj, err := r.parseIndirectAt(off)
	if err != nil {
		return sec, err
	}
	s, ok := obj.(*Stream)
	if !ok || s.Dict["Type"] != Name("XRef") {
		return sec, invalid("startxref does not point to a cross-reference table or stream")
	}
	sec.Trailer = s.Dict
	sec.Entries, err = r.parseXRefStream(s)
	return sec, err
}

func (r *Reader) parseTable(p *parser, sec *Section) error {
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
			return roamsign.E(roamsign.ErrTooLarge, op, "cross-reference table exceeds %d objects", r.lim.MaxObjects)
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
				if o <= 0 || o >= r.size {
					return invalid("object %d has offset %d outside the file", n, o)
				}
				sec.Entries[n] = Entry{Type: EntryInFile, Offset: o, Gen: int(g)}
			case "f":
				sec.Entries[n] = Entry{Type: EntryFree, Gen: int(g)}
			default:
				return p.errf("bad cross-reference entry type")
			}
		}
		if len(sec.Entries) > r.lim.MaxObjects {
			return roamsign.E(roamsign.ErrTooLarge, op, "too many cross-reference entries")
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

func (r *Reader) parseXRefStream(s *Stream) (map[int]Entry, error) {
	wa, ok := s.Dict["W"].(Array)
	if !ok || len(wa) != 3 {
		return nil, invalid("cross-reference stream has a bad /W")
	}
	var w [3]int
	rowLen := 0
	for i, o := range wa {
		v, ok := Int(o)
		if !ok || v < 0 || v > 8 {
			return nil, invalid("cross-reference stream has a bad /W")
		}
		w[i] = int(v)
		rowLen += int(v)
	}
	if rowLen == 0 {
		return nil, invalid("cross-reference stream has a bad /W")
	}
	size, ok := Int(s.Dict["Size"])
	if !ok || size < 0 || size > int64(r.lim.MaxObjects) {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "cross-reference stream /Size missing or above %d", r.lim.MaxObjects)
	}
	index := Array{int64(0), size}
	if ia, ok := s.Dict["Index"].(Array); ok {
		if len(ia)%2 != 0 {
			return nil, invalid("cross-reference stream has a bad /Index")
		}
		index = ia
	}
	data, err := r.StreamData(s)
	if err != nil {
		return nil, err
	}
	entries := map[int]Entry{}
	pos := 0
	for i := 0; i < len(index); i += 2 {
		start, ok1 := Int(index[i])
		count, ok2 := Int(index[i+1])
		if !ok1 || !ok2 || start < 0 || count < 0 || start+count > int64(r.lim.MaxObjects) {
			return nil, invalid("cross-reference stream has a bad /Index")
		}
		for j := int64(0); j < count; j++ {
			if pos+rowLen > len(data) {
				return nil, invalid("cross-reference stream is shorter than its /Index says")
			}
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
			n := int(start + j)
			switch f[0] {
			case 0:
				entries[n] = Entry{Type: EntryFree, Gen: int(f[2])}
			case 1:
				if f[1] <= 0 || f[1] >= r.size {
					return nil, invalid("object %d has offset %d outside the file", n, f[1])
				}
				entries[n] = Entry{Type: EntryInFile, Offset: f[1], Gen: int(f[2])}
			case 2:
				if f[1] < 0 || f[1] > int64(r.lim.MaxObjects) || f[2] < 0 || f[2] > int64(r.lim.MaxObjects) {
					return nil, invalid("bad compressed object entry for object %d", n)
				}
				entries[n] = Entry{Type: EntryCompressed, Stream: int(f[1]), Index: int(f[2])}
			default:
				// Unknown types are treated as null objects (ISO 32000-2, 7.5.8.3).
			}
		}
	}
	return entries, nil
}

// parseIndirectAt parses "n g obj ... endobj" at off.
func (r *Reader) parseIndirectAt(off int64) (Ref, Object, error) {
	var num, gen int64
	var obj Object
	var streamDict Dict
	var dataOff int64
	err := r.withParser(off, r.lim.MaxObjectBytes, func(p *parser) error {
		streamDict = nil
		var err error
		if num, err = p.uint(); err != nil {
			return err
		}
		if gen, err = p.uint(); err != nil {
			return err
		}
		if err = p.expectKeyword("obj"); err != nil {
			return err
		}
		if obj, err = p.object(0); err != nil {
			return err
		}
		d, isDict := obj.(Dict)
		if !isDict {
			return nil
		}
		save := p.pos
		k, err := p.keyword()
		if err == errShort {
			return err
		}
		if err != nil || string(k) != "stream" {
			p.pos = save
			return nil
		}
		if p.pos < len(p.data) && p.data[p.pos] == '\r' {
			p.pos++
		}
		if p.pos >= len(p.data) {
			return p.short()
		}
		if p.data[p.pos] == '\n' {
			p.pos++
		}
		streamDict = d
		dataOff = p.base + int64(p.pos)
		return nil
	})
	if err != nil {
		return Ref{}, nil, err
	}
	if num > int64(r.lim.MaxObjects) {
		return Ref{}, nil, invalid("object number %d too large", num)
	}
	if streamDict != nil {
		lo := streamDict["Length"]
		if ref, ok := lo.(Ref); ok {
			if r.resolving > 4 {
				return Ref{}, nil, invalid("stream /Length references nest too deeply")
			}
			r.resolving++
			lo, err = r.Get(ref)
			r.resolving--
			if err != nil {
				return Ref{}, nil, err
			}
		}
		n, ok := Int(lo)
		if !ok || n < 0 || dataOff+n > r.size {
			return Ref{}, nil, invalid("stream at offset %d has a bad /Length", off)
		}
		obj = &Stream{Dict: streamDict, Offset: dataOff, Length: n}
	}
	return Ref{Num: int(num), Gen: int(gen)}, obj, nil
}

// ReadObjectAt parses the indirect object "n g obj … endobj" at a byte
// offset, whatever the cross-reference sections say. A verifier uses it to
// compare what different revisions put at the same place.
func (r *Reader) ReadObjectAt(off int64) (Ref, Object, error) {
	ref, obj, err := r.parseIndirectAt(off)
	if err != nil {
		return Ref{}, nil, wrapSyntax(err)
	}
	return ref, obj, nil
}

// Version returns the version in the file header, for example "1.7".
func (r *Reader) Version() string { return r.version }

// Size returns the file size given to Open.
func (r *Reader) Size() int64 { return r.size }

// StartXref returns the offset of the newest cross-reference section.
func (r *Reader) StartXref() int64 { return r.startxref }

// Trailer returns the newest trailer dictionary. It must not be modified.
func (r *Reader) Trailer() Dict { return r.trailer }

// Sections returns the cross-reference sections, newest first. They must not
// be modified.
func (r *Reader) Sections() []Section { return r.sections }

// Encrypted reports whether the file is encrypted (has /Encrypt).
func (r *Reader) Encrypted() bool { _, ok := r.trailer["Encrypt"]; return ok }

// Lookup returns the current cross-reference entry for object num.
func (r *Reader) Lookup(num int) (Entry, bool) { e, ok := r.entries[num]; return e, ok }

// MaxObjectNumber returns the highest object number in use or declared by
// /Size, so that num+1 is free for a new object.
func (r *Reader) MaxObjectNumber() int {
	m := 0
	if s, ok := Int(r.trailer["Size"]); ok && s > 0 && s <= int64(r.lim.MaxObjects) {
		m = int(s) - 1
	}
	for n := range r.entries {
		if n > m {
			m = n
		}
	}
	return m
}

// Get returns the object ref points to. A reference to a free or missing
// object yields nil (the null object), as ISO 32000 requires.
func (r *Reader) Get(ref Ref) (Object, error) {
	e, ok := r.entries[ref.Num]
	if !ok || e.Type == EntryFree || (e.Type == EntryInFile && e.Gen != ref.Gen) || (e.Type == EntryCompressed && ref.Gen != 0) {
		return nil, nil
	}
	if o, ok := r.cache[ref.Num]; ok {
		return o, nil
	}
	var obj Object
	switch e.Type {
	case EntryInFile:
		got, o, err := r.parseIndirectAt(e.Offset)
		if err != nil {
			return nil, wrapSyntax(err)
		}
		if got != ref {
			return nil, invalid("cross-reference entry for object %d %d points to object %d %d", ref.Num, ref.Gen, got.Num, got.Gen)
		}
		obj = o
	case EntryCompressed:
		o, err := r.compressed(ref.Num, e)
		if err != nil {
			return nil, wrapSyntax(err)
		}
		obj = o
	}
	if len(r.cache) < 100_000 {
		r.cache[ref.Num] = obj
	}
	return obj, nil
}

func (r *Reader) compressed(num int, e Entry) (Object, error) {
	os, ok := r.objStms[e.Stream]
	if !ok {
		se, ok := r.entries[e.Stream]
		if !ok || se.Type != EntryInFile {
			return nil, invalid("object stream %d for object %d is missing", e.Stream, num)
		}
		n, o, err := r.parseIndirectAt(se.Offset)
		if err != nil {
			return nil, err
		}
		s, ok := o.(*Stream)
		if n.Num != e.Stream || !ok || s.Dict["Type"] != Name("ObjStm") {
			return nil, invalid("object %d is not an object stream", e.Stream)
		}
		os, err = r.loadObjStm(s)
		if err != nil {
			return nil, err
		}
		if len(r.objStms) > 64 {
			clear(r.objStms)
		}
		r.objStms[e.Stream] = os
	}
	i := e.Index
	if i >= len(os.nums) || os.nums[i] != num {
		i = -1
		for j, n := range os.nums {
			if n == num {
				i = j
				break
			}
		}
		if i < 0 {
			return nil, invalid("object %d is not in object stream %d", num, e.Stream)
		}
	}
	start := os.first + os.offs[i]
	if start > len(os.data) {
		return nil, invalid("object stream %d has a bad offset", e.Stream)
	}
	p := &parser{data: os.data[start:], atEOF: true, maxDepth: r.lim.MaxDepth}
	o, err := p.object(0)
	if err != nil {
		return nil, err
	}
	if _, isStream := o.(*Stream); isStream {
		return nil, invalid("stream inside an object stream")
	}
	return o, nil
}

func (r *Reader) loadObjStm(s *Stream) (*objStream, error) {
	n, ok1 := Int(s.Dict["N"])
	first, ok2 := Int(s.Dict["First"])
	if !ok1 || !ok2 || n < 0 || n > int64(r.lim.MaxObjects) || first < 0 {
		return nil, invalid("object stream has bad /N or /First")
	}
	data, err := r.StreamData(s)
	if err != nil {
		return nil, err
	}
	if first > int64(len(data)) || n*2 > int64(len(data)) {
		return nil, invalid("object stream header is larger than the stream")
	}
	os := &objStream{data: data, first: int(first)}
	p := &parser{data: data[:first], atEOF: true, maxDepth: 1}
	for i := int64(0); i < n; i++ {
		num, err := p.uint()
		if err != nil {
			return nil, err
		}
		off, err := p.uint()
		if err != nil {
			return nil, err
		}
		if off > int64(len(data))-first {
			return nil, invalid("object stream entry offset outside the stream")
		}
		os.nums = append(os.nums, int(num))
		os.offs = append(os.offs, int(off))
	}
	return os, nil
}

// Resolve follows o when it is a reference.
func (r *Reader) Resolve(o Object) (Object, error) {
	if ref, ok := o.(Ref); ok {
		return r.Get(ref)
	}
	return o, nil
}

// ResolveDict follows o and returns it as a dictionary (a stream's
// dictionary included); what is not one is an error naming what.
func (r *Reader) ResolveDict(o Object, what string) (Dict, error) {
	v, err := r.Resolve(o)
	if err != nil {
		return nil, err
	}
	switch d := v.(type) {
	case Dict:
		return d, nil
	case *Stream:
		return d.Dict, nil
	}
	return nil, invalid("%s is not a dictionary", what)
}

// Catalog returns the document catalog.
func (r *Reader) Catalog() (Dict, error) {
	return r.ResolveDict(r.trailer["Root"], "document catalog (/Root)")
}

// ReadRaw reads the encoded data of s, at most max bytes (0: the stream limit).
func (r *Reader) ReadRaw(s *Stream) ([]byte, error) {
	if s.Data != nil {
		return s.Data, nil
	}
	if s.Length > r.lim.MaxStreamBytes {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "stream of %d bytes exceeds the limit", s.Length)
	}
	b, _, err := r.readAt(s.Offset, int(s.Length))
	return b, err
}

// StreamData returns the decoded data of s. Only /FlateDecode (with PNG
// predictors) and unfiltered streams are supported.
func (r *Reader) StreamData(s *Stream) ([]byte, error) {
	raw, err := r.ReadRaw(s)
	if err != nil {
		return nil, err
	}
	return decode(raw, s.Dict, r.lim.MaxStreamBytes)
}

// String describes the entry for messages and tests.
func (e Entry) String() string {
	switch e.Type {
	case EntryInFile:
		return "offset " + strconv.FormatInt(e.Offset, 10)
	case EntryCompressed:
		return fmt.Sprintf("in object stream %d[%d]", e.Stream, e.Index)
	}
	return "free"
}
