package pdfx

// objStream is a decoded object stream: its data and, for each object it
// holds, the number and the offset after /First.
type objStream struct {
	data  []byte
	first int
	nums  []int
	offs  []int
}

// maxObjStms bounds the decoded object streams a Reader keeps; beyond it
// the cache starts again (and reloading is charged again).
const maxObjStms = 64

func (r *Reader) compressed(num int, e Entry) (Object, error) {
	os, err := r.objStm(num, e.Stream)
	if err != nil {
		return nil, err
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
	p := &parser{data: os.data[start:], atEOF: true, maxDepth: r.lim.MaxDepth, allow: r.b.remaining()}
	o, err := p.object(0)
	if serr := r.b.Spend(p.cost + int64(p.pos)); serr != nil {
		return nil, serr
	}
	if err != nil {
		return nil, err
	}
	if _, isStream := o.(*Stream); isStream {
		return nil, invalid("stream inside an object stream")
	}
	return o, nil
}

// objStm returns object stream num (which holds object obj), decoding it
// unless cached.
func (r *Reader) objStm(obj, num int) (*objStream, error) {
	if os, ok := r.objStms[num]; ok {
		return os, nil
	}
	se, ok := r.Lookup(num)
	if !ok || se.Type != EntryInFile {
		return nil, invalid("object stream %d for object %d is missing", num, obj)
	}
	n, o, err := r.parseIndirectAt(se.Offset)
	if err != nil {
		return nil, err
	}
	s, ok := o.(*Stream)
	if n.Num != num || !ok || s.Dict["Type"] != Name("ObjStm") {
		return nil, invalid("object %d is not an object stream", num)
	}
	if _, err := r.decrypted(n, s); err != nil {
		return nil, err
	}
	os, err := r.loadObjStm(s)
	if err != nil {
		return nil, err
	}
	if len(r.objStms) >= maxObjStms {
		clear(r.objStms)
	}
	r.objStms[num] = os
	return os, nil
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
	if err := r.b.Spend(16*n + first); err != nil {
		return nil, err
	}
	os := &objStream{data: data, first: int(first), nums: make([]int, 0, n), offs: make([]int, 0, n)}
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
