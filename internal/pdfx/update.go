package pdfx

import (
	"io"
	"sort"
	"strconv"

	"github.com/roamsign/roamsign"
)

// Update collects new and replaced objects and serializes them as an
// incremental update (ISO 32000-2, 7.5.6) to be appended to the file. The
// original bytes are never touched.
type Update struct {
	r    *Reader
	next int
	objs []pending
	idx  map[int]int
	hint int
	// out describes the bytes Bytes produced, for Applied.
	out *output
}

// output is what Bytes wrote: its length, where its cross-reference
// section starts (as the file counts offsets), its trailer, and the first
// object number it left free.
type output struct {
	n        int
	xref     int64
	trailer  Dict
	nextFree int
}

// Grow tells the writer to expect about n bytes of output, so that
// [Update.Bytes] allocates once.
func (u *Update) Grow(n int) {
	if n > 0 {
		u.hint = n
	}
}

type pending struct {
	ref Ref
	obj Object
}

// NewUpdate starts an incremental update of the file r reads.
func (r *Reader) NewUpdate() *Update {
	return &Update{r: r, next: max(r.MaxObjectNumber()+1, r.nextFree), idx: map[int]int{}}
}

// Add allocates a new object number for obj and returns its reference.
func (u *Update) Add(obj Object) Ref {
	ref := u.Alloc()
	u.Put(ref, obj)
	return ref
}

// Alloc allocates a new object number; the object is given later by Put.
func (u *Update) Alloc() Ref {
	ref := Ref{Num: u.next}
	u.next++
	return ref
}

// Put sets the object for ref: a new object from Alloc, or a new version of
// an existing object (ref keeps its generation).
func (u *Update) Put(ref Ref, obj Object) {
	if i, ok := u.idx[ref.Num]; ok {
		u.objs[i].obj = obj
		return
	}
	u.idx[ref.Num] = len(u.objs)
	u.objs = append(u.objs, pending{ref, obj})
}

// Bytes serializes the update: an end-of-line when the file does not end
// with one, the objects, then a cross-reference section of the same kind as
// the newest one in the file (a stream after a pure xref stream, else a
// table), a trailer chained by /Prev, startxref and %%EOF. Placeholders in
// the objects receive offsets relative to the start of the returned bytes.
func (u *Update) Bytes() ([]byte, error) {
	if len(u.objs) == 0 {
		return nil, roamsign.E(roamsign.ErrInternal, "pdfx.Update", "empty update")
	}
	base := u.r.size
	b := make([]byte, 0, max(u.hint, 4096))
	if !u.r.eofEnd {
		b = append(b, '\n')
	}
	w := written{offsets: make(map[int]int64, len(u.objs)+1), gens: make(map[int]int, len(u.objs)+1)}
	for _, p := range u.objs {
		w.offsets[p.ref.Num] = base + int64(len(b)) - u.r.hdr
		w.gens[p.ref.Num] = p.ref.Gen
		b = strconv.AppendInt(b, int64(p.ref.Num), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(p.ref.Gen), 10)
		b = append(b, " obj\n"...)
		b = AppendObject(b, p.obj, base)
		b = append(b, "\nendobj\n"...)
	}
	stream := u.r.Sections()[0].Stream
	tr := u.trailer(stream)
	xrefOff := base + int64(len(b))
	nextFree := u.next
	if stream {
		b = u.appendXRefStream(b, w, tr, xrefOff-u.r.hdr)
		nextFree++
	} else {
		b = appendXRefTable(b, w, tr, base)
	}
	b = append(b, "startxref\n"...)
	b = strconv.AppendInt(b, xrefOff-u.r.hdr, 10)
	b = append(b, "\n%%EOF\n"...)
	u.out = &output{n: len(b), xref: xrefOff, trailer: tr, nextFree: nextFree}
	return b, nil
}

// Applied returns a reader of the file as it reads once the bytes of the
// update's last [Update.Bytes] are appended, without parsing them back:
// the objects the update put are read as they were put (they must not be
// changed any more), the others from the file as before; the trailer and
// startxref are the update's; and [Reader.NewUpdate] on it numbers new
// objects after the update's and chains to its cross-reference section.
// ra reads the file followed by those bytes. It is meant for building a
// further update: [Reader.Sections], [Reader.SectionEntries],
// [Reader.Lookup], [Reader.Revision] and the other walks of
// cross-reference data describe the file before the update. The reader
// shares the file reader's budget and object cache (neither is safe for
// concurrent use); the file reader stays valid.
func (u *Update) Applied(ra io.ReaderAt) (*Reader, error) {
	if u.out == nil {
		return nil, roamsign.E(roamsign.ErrInternal, "pdfx.Update", "Applied before Bytes")
	}
	r := *u.r
	r.ra = ra
	r.size += int64(u.out.n)
	r.startxref = u.out.xref
	r.eofEnd = true
	r.trailer = u.out.trailer
	r.over = make(map[int]pending, len(u.objs)+len(u.r.over))
	for num, p := range u.r.over {
		r.over[num] = p
	}
	for _, p := range u.objs {
		r.over[p.ref.Num] = p
	}
	r.nextFree = u.out.nextFree
	return &r, nil
}

// written records where the update put each object (as the file counts
// offsets: from its header), and its generation.
type written struct {
	offsets map[int]int64
	gens    map[int]int
}

// trailer returns the update's trailer: the file's /Root, /Info and /ID,
// /Prev, and a /Size that counts the new objects (and the xref stream).
func (u *Update) trailer(stream bool) Dict {
	old := u.r.trailer
	tr := Dict{"Prev": u.r.startxref - u.r.hdr}
	for _, k := range []Name{"Root", "Info", "ID"} {
		if v, ok := old[k]; ok {
			tr[k] = v
		}
	}
	size := u.next
	if stream {
		size++ // the xref stream object itself
	}
	if s, ok := Int(old["Size"]); ok && s > int64(size) {
		size = int(s)
	}
	tr["Size"] = int64(size)
	return tr
}

// appendXRefStream appends the xref stream object (numbered after the new
// objects, at offset off) listing the written objects and itself.
func (u *Update) appendXRefStream(b []byte, wr written, tr Dict, off int64) []byte {
	num := u.next
	wr.offsets[num] = off
	wr.gens[num] = 0
	nums := sortedNums(wr.offsets)
	w := 1
	for v := off; v > 0xff; v >>= 8 {
		w++
	}
	var data []byte
	var index Array
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		index = append(index, int64(nums[i]), int64(j-i+1))
		for k := i; k <= j; k++ {
			data = append(data, 1)
			o := wr.offsets[nums[k]]
			for s := w - 1; s >= 0; s-- {
				data = append(data, byte(o>>(8*s)))
			}
			g := wr.gens[nums[k]]
			data = append(data, byte(g>>8), byte(g))
		}
		i = j + 1
	}
	tr["Type"] = Name("XRef")
	tr["W"] = Array{int64(1), int64(w), int64(2)}
	tr["Index"] = index
	b = strconv.AppendInt(b, int64(num), 10)
	b = append(b, " 0 obj\n"...)
	b = AppendObject(b, &Stream{Dict: tr, Data: data}, u.r.size)
	return append(b, "\nendobj\n"...)
}

// appendXRefTable appends a classic table of the written objects and the
// trailer.
func appendXRefTable(b []byte, wr written, tr Dict, base int64) []byte {
	nums := sortedNums(wr.offsets)
	b = append(b, "xref\n"...)
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		b = strconv.AppendInt(b, int64(nums[i]), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(j-i+1), 10)
		b = append(b, '\n')
		for k := i; k <= j; k++ {
			b = appendPadded(b, wr.offsets[nums[k]], 10)
			b = append(b, ' ')
			b = appendPadded(b, int64(wr.gens[nums[k]]), 5)
			b = append(b, " n\r\n"...)
		}
		i = j + 1
	}
	b = append(b, "trailer\n"...)
	b = AppendObject(b, tr, base)
	return append(b, '\n')
}

func sortedNums(m map[int]int64) []int {
	nums := make([]int, 0, len(m))
	for n := range m {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	return nums
}

func appendPadded(b []byte, v int64, width int) []byte {
	s := strconv.FormatInt(v, 10)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
