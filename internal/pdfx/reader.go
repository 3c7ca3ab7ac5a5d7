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
	// Budget bounds the total cost of the document (see [Budget]); nil
	// gives a new budget of [DefaultBudget] of the file size.
	Budget *Budget
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
// written before it forms a revision of the file. Its entries are read
// with [Reader.SectionEntries].
type Section struct {
	Offset  int64 // the startxref value that leads to it
	Stream  bool  // an xref stream rather than a table
	XRefStm int64 // hybrid files: offset of the /XRefStm stream, else 0
	Trailer Dict  // trailer dictionary (the stream dictionary for xref streams)
}

// Reader reads the structure and objects of a PDF file through an
// io.ReaderAt, holding in memory only cross-reference data and the objects
// asked for. A Reader is not safe for concurrent use.
type Reader struct {
	ra   io.ReaderAt
	size int64
	lim  Limits
	b    *Budget

	version   string
	hdr       int64 // offset of the %PDF- header; the file's offsets count from it
	startxref int64
	eofEnd    bool // the file ends with an end-of-line after %%EOF
	x         *xrefData
	first     int // this revision's newest section in x.sections
	trailer   Dict
	cache     map[int]Object
	objStms   map[int]*objStream
	resolving int
	scratch   []byte        // window buffer reused by withParser
	zr        io.ReadCloser // zlib reader, reset for each stream

	// sec is set by Decrypt: objects and stream data are decrypted as
	// they are read; cryptBuf is WriteFull's buffer for it.
	sec      *security
	cryptBuf []byte

	// repair is set by Rebuild: a stream's data ends at its endstream
	// keyword (ends: where the scan found each, in order) when its
	// /Length does not.
	repair bool
	ends   []int64

	// over holds the objects of updates applied in memory
	// ([Update.Applied]), which shadow the file's; nextFree is the first
	// object number they leave free.
	over     map[int]pending
	nextFree int

	// While cross-reference sections are read, need records the smallest
	// file size in which they would read the same, so that an earlier
	// revision can share them (see Revision).
	track bool
	need  int64
}

const op = "pdfx.Open"

// Costs charged to the budget besides what the parser charges.
const (
	costSection = 256      // a section, its trailer's place and loop check
	costCached  = 64       // an entry of the object cache
	costReader  = 1024     // a Reader of a revision
	costZlib    = 48 << 10 // a zlib reader's window and tables
)

func invalid(format string, args ...any) error {
	return roamsign.E(roamsign.ErrInvalidInput, op, format, args...)
}

// DamageError is a fault of a file's structure that rebuilding its
// cross-reference data can mend (signer/pdf's Repair does): a missing
// end-of-file marker, a wrong startxref, a cross-reference section or
// object offset that is not where it should be. Open returns it wrapped
// in a roamsign.ErrInvalidInput error; find it with errors.As.
type DamageError struct {
	Msg string // what is wrong, in plain words
}

func (e *DamageError) Error() string { return e.Msg }

func damaged(format string, args ...any) error {
	return roamsign.Wrap(roamsign.ErrInvalidInput, op, &DamageError{Msg: fmt.Sprintf(format, args...)}, "")
}

// asDamage marks a malformed-input error found while reading the file's
// structure as damage.
func asDamage(err error) error {
	var de *DamageError
	if err == nil || !errors.Is(err, roamsign.ErrInvalidInput) || errors.As(err, &de) {
		return err
	}
	msg := err.Error()
	var e *roamsign.Error
	if errors.As(err, &e) && e.Op == op && e.Err == nil {
		msg = e.Msg
	}
	return roamsign.Wrap(roamsign.ErrInvalidInput, op, &DamageError{Msg: msg}, "")
}

func tooLarge(format string, args ...any) error {
	return roamsign.E(roamsign.ErrTooLarge, op, format, args...)
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
// The "%PDF-" header may follow other bytes (in the first 1024): the
// offsets in the file then count from the header, as ISO 32000 allows and
// viewers read them. The offsets the Reader returns and the placeholders
// of an [Update] are still positions in the whole file.
//
// Files with no header, or that do not end with "startxref", an offset and
// "%%EOF" (white space after it is allowed), or whose cross-reference data
// is not where it says, are refused with roamsign.ErrInvalidInput (with a
// [DamageError] for the faults a rebuild can mend) rather than repaired: a
// repaired file would no longer be the bytes a signature over it claims to
// cover.
// Encrypted files open (the structure is not encrypted); callers check
// [Reader.Encrypted]. Everything read is charged to lim.Budget (a new
// budget of [DefaultBudget] when nil); beyond it reading fails with
// roamsign.ErrTooLarge.
func Open(ra io.ReaderAt, size int64, lim Limits) (*Reader, error) {
	lim = lim.withDefaults()
	if lim.Budget == nil {
		lim.Budget = NewBudget(DefaultBudget(size))
	}
	r := newReader(ra, size, lim)
	if err := r.openTail(); err != nil {
		return nil, err
	}
	if err := r.readSections(); err != nil {
		return nil, asDamage(wrapSyntax(err))
	}
	return r, asDamage(r.checkRoot())
}

func newReader(ra io.ReaderAt, size int64, lim Limits) *Reader {
	return &Reader{ra: ra, size: size, lim: lim, b: lim.Budget,
		cache: map[int]Object{}, objStms: map[int]*objStream{}}
}

func (r *Reader) openTail() error {
	if err := r.b.Spend(costReader); err != nil {
		return err
	}
	if err := r.readHeader(); err != nil {
		return err
	}
	return r.readTail()
}

func (r *Reader) checkRoot() error {
	if _, ok := r.trailer["Root"].(Ref); !ok {
		return invalid("trailer has no /Root reference")
	}
	return nil
}

// Revision opens the revision of the same file that ends at end (just past
// one of its %%EOF markers, see [EOFMarkers]) as if the file were cut
// there. It shares r's budget and, when the revision's cross-reference
// sections are the same bytes as the tail of r's chain (as incremental
// updates make them), r's cross-reference data, so reading every revision
// of a document costs about as much as reading it once.
func (r *Reader) Revision(end int64) (*Reader, error) {
	if end == r.size {
		return r, nil
	}
	if end <= 0 || end > r.size {
		return nil, invalid("revision end %d outside the file", end)
	}
	nr := newReader(r.ra, end, r.lim)
	if err := nr.openTail(); err != nil {
		return nil, err
	}
	if k, ok := r.x.suffix(r.first, nr.startxref, end); ok {
		nr.x, nr.first, nr.trailer = r.x, k, r.x.sections[k].Trailer
	} else if err := nr.readSections(); err != nil {
		return nil, wrapSyntax(err)
	}
	return nr, nr.checkRoot()
}

// Budget returns the budget the reader charges.
func (r *Reader) Budget() *Budget { return r.b }

// note records, while sections are read, that they depend on the file
// holding at least end bytes.
func (r *Reader) note(end int64) {
	if r.track && end > r.need {
		r.need = end
	}
}

// inFile reports whether off is an offset inside the file, after the
// header's first byte.
func (r *Reader) inFile(off int64) bool {
	r.note(off + 1)
	return off > r.hdr && off < r.size
}

// abs turns an offset read from the file (counted from the header) into a
// position in the file.
func (r *Reader) abs(off int64) int64 {
	if off < 0 || off > r.size {
		return off
	}
	return off + r.hdr
}

// HeaderOffset returns where the %PDF- header starts: 0, or the length of
// the bytes before it.
func (r *Reader) HeaderOffset() int64 { return r.hdr }

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
		if err := r.b.Spend(int64(n)); err != nil {
			return nil, false, err
		}
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
		if b, _, err = r.readAt(0, 1024+16); err != nil {
			return err
		}
		i := bytes.Index(b, []byte("%PDF-"))
		if i < 0 || i > 1024 {
			return invalid("not a PDF file: it has no PDF header in its first 1024 bytes")
		}
		r.hdr, b = int64(i), b[i:]
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
		return damaged("the file does not end with an end-of-file marker: it is truncated or damaged")
	}
	i := bytes.LastIndex(b[:end], []byte("startxref"))
	if i < 0 {
		return damaged("the file has no startxref before its end-of-file marker")
	}
	p := &parser{data: b[i+9 : end-5], atEOF: true, maxDepth: 1}
	x, err := p.uint()
	if err != nil {
		return damaged("the file's startxref value is not a number")
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return damaged("the file has unexpected data between startxref and its end-of-file marker")
	}
	if x <= 0 || r.abs(x) >= r.size {
		return damaged("the file's startxref (%d) points outside the file", x)
	}
	r.startxref = r.abs(x)
	return nil
}

// withParser runs fn on a window at off, growing the window while fn reports
// errShort, up to max bytes. The bytes scanned and what the parser
// allocated are charged to the budget.
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
		p := &parser{data: b, base: off, maxDepth: r.lim.MaxDepth, atEOF: atEOF, allow: r.b.remaining()}
		err = fn(p)
		scanned := p.pos
		if err == errShort {
			scanned = len(b)
		}
		if serr := r.b.Spend(p.cost + int64(scanned)); serr != nil {
			return serr
		}
		if err != errShort {
			if err == nil {
				r.note(off + int64(p.pos) + 1)
			}
			return err
		}
		if atEOF || n >= max {
			return invalid("object at offset %d is larger than the limit of %d bytes", off, max)
		}
		n *= 4
	}
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
			if err != nil && !r.repair {
				return Ref{}, nil, err
			}
		}
		n, ok := Int(lo)
		if r.repair && (!ok || n < 0 || dataOff+n > r.size || !r.endstreamAt(dataOff+n)) {
			// A rebuild takes the data up to the endstream keyword.
			n, ok = r.findEndstream(dataOff)
		}
		r.note(dataOff + n + 1)
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

// Sections returns the cross-reference sections of this revision, newest
// first. They must not be modified.
func (r *Reader) Sections() []Section { return r.x.sections[r.first:] }

// Encrypted reports whether the file is encrypted (has /Encrypt).
func (r *Reader) Encrypted() bool { _, ok := r.trailer["Encrypt"]; return ok }

// Lookup returns the current cross-reference entry for object num.
func (r *Reader) Lookup(num int) (Entry, bool) {
	e, ok := r.x.lookup(num, r.first)
	return e.entry(), ok
}

// MaxObjectNumber returns the highest object number in use or declared by
// /Size, so that num+1 is free for a new object.
func (r *Reader) MaxObjectNumber() int {
	m := 0
	if s, ok := Int(r.trailer["Size"]); ok && s > 0 && s <= int64(r.lim.MaxObjects) {
		m = int(s) - 1
	}
	return max(m, r.x.maxNum(r.first))
}

// Get returns the object ref points to. A reference to a free or missing
// object yields nil (the null object), as ISO 32000 requires.
func (r *Reader) Get(ref Ref) (Object, error) {
	if p, ok := r.over[ref.Num]; ok {
		if p.ref.Gen != ref.Gen {
			return nil, nil
		}
		return p.obj, nil
	}
	e, ok := r.Lookup(ref.Num)
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
		if obj, err = r.decrypted(ref, o); err != nil {
			return nil, err
		}
	case EntryCompressed:
		o, err := r.compressed(ref.Num, e)
		if err != nil {
			return nil, wrapSyntax(err)
		}
		obj = o
	}
	if len(r.cache) < 100_000 && r.b.Spend(costCached) == nil {
		r.cache[ref.Num] = obj
	}
	return obj, nil
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

// ReadRaw reads the encoded data of s (at most Limits.MaxStreamBytes),
// decrypted when the reader decrypts ([Reader.Decrypt]).
func (r *Reader) ReadRaw(s *Stream) ([]byte, error) {
	if s.Data != nil {
		return s.Data, nil
	}
	if s.Length > r.lim.MaxStreamBytes {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "stream of %d bytes exceeds the limit", s.Length)
	}
	r.note(s.Offset + s.Length + 1)
	b, _, err := r.readAt(s.Offset, int(s.Length))
	if err != nil || s.crypt == nil {
		return b, err
	}
	return decryptBytes(s.crypt.method, s.crypt.key, b)
}

// StreamData returns the decoded data of s. Only /FlateDecode (with PNG
// predictors) and unfiltered streams are supported.
func (r *Reader) StreamData(s *Stream) ([]byte, error) {
	raw, err := r.ReadRaw(s)
	if err != nil {
		return nil, err
	}
	return r.decode(raw, s.Dict, -1)
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
