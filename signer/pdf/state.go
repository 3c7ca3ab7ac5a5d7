package pdf

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/roamsign/roamsign"
)

// stateMagic starts a serialized document state (version 1).
const stateMagic = "roamsign-pdf-1\n"

// maxState bounds a serialized state: the update holds the reserved
// /Contents (at most 2 MiB of hex) plus a few KiB of objects.
const maxState = 4 << 20

// marshal serializes everything of d but the reader.
func (d *document) marshal(cmsState []byte) []byte {
	b := []byte(stateMagic)
	b = binary.AppendVarint(b, d.size)
	b = append(b, byte(d.hash))
	for _, v := range d.byteRange {
		b = binary.AppendVarint(b, v)
	}
	b = binary.AppendVarint(b, d.contentsOff)
	b = binary.AppendVarint(b, int64(d.contentsLen))
	for _, f := range [][]byte{d.update, d.digest, d.origState, cmsState} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return b
}

var errState = roamsign.E(roamsign.ErrInvalidInput, "pdf.Resume", "malformed prepared state")

// unmarshalDocument parses and checks a state written by marshal.
func unmarshalDocument(b []byte) (*document, []byte, error) {
	if len(b) > maxState {
		return nil, nil, roamsign.E(roamsign.ErrTooLarge, "pdf.Resume", "prepared state too large")
	}
	if !bytes.HasPrefix(b, []byte(stateMagic)) {
		return nil, nil, errState
	}
	rd := bytes.NewReader(b[len(stateMagic):])
	d := &document{}
	var err error
	vi := func() int64 {
		v, e := binary.ReadVarint(rd)
		if e != nil {
			err = e
		}
		return v
	}
	field := func() []byte {
		n, e := binary.ReadUvarint(rd)
		if e != nil || n > uint64(rd.Len()) {
			err = errors.New("bad field")
			return nil
		}
		f := make([]byte, n)
		_, _ = rd.Read(f)
		return f
	}
	d.size = vi()
	h, e := rd.ReadByte()
	if e != nil {
		return nil, nil, errState
	}
	d.hash = roamsign.HashAlgorithm(h)
	for i := range d.byteRange {
		d.byteRange[i] = vi()
	}
	d.contentsOff = vi()
	d.contentsLen = int(vi())
	d.update, d.digest, d.origState = field(), field(), field()
	cmsState := field()
	if err != nil || rd.Len() != 0 || !d.hash.Valid() || len(d.digest) != d.hash.Size() || len(d.origState) != 4 {
		return nil, nil, errState
	}
	total := d.size + int64(len(d.update))
	br := d.byteRange
	if d.size <= 0 || d.contentsLen <= 0 || d.contentsLen%2 != 0 || d.contentsOff <= 0 ||
		d.contentsOff+int64(d.contentsLen) >= int64(len(d.update)) ||
		br[0] != 0 || br[1] != d.size+d.contentsOff-1 || br[2] != br[1]+int64(d.contentsLen)+2 || br[3] != total-br[2] ||
		d.update[d.contentsOff-1] != '<' || d.update[d.contentsOff+int64(d.contentsLen)] != '>' {
		return nil, nil, errState
	}
	return d, cmsState, nil
}
