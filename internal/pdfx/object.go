package pdfx

import (
	"slices"
	"strconv"
)

// Object is a PDF object: nil (null), bool, int64, float64, Name, String,
// Array, Dict, Ref, *Stream, or, in objects built for writing only,
// *Placeholder.
type Object any

// Name is a PDF name without its leading slash, decoded (#xx resolved).
type Name string

// String is a PDF string (literal or hexadecimal), decoded to raw bytes.
type String []byte

// Array is a PDF array.
type Array []Object

// Dict is a PDF dictionary.
type Dict map[Name]Object

// Ref is an indirect reference "Num Gen R".
type Ref struct {
	Num int
	Gen int
}

// Stream is a PDF stream. For a stream read from a file, Offset and Length
// locate its (still encoded) data in the file; for a stream built for
// writing, Data holds the encoded bytes and Length is set from it.
type Stream struct {
	Dict   Dict
	Offset int64  // file offset of the first data byte (read streams)
	Length int64  // length of the encoded data
	Data   []byte // encoded data (streams built for writing)

	crypt *streamCrypt // how a decrypting Reader decrypts the data
}

// Placeholder reserves Width bytes in written output, to be overwritten once
// their final value is known (a signature's /ByteRange and /Contents). The
// writer fills the reserved bytes with Fill and records where they start.
type Placeholder struct {
	Width int
	Fill  byte
	// Prefix and Suffix are written around the reserved bytes (for example
	// "<" and ">" for a hexadecimal string).
	Prefix, Suffix string
	// Offset is set by the writer: the position of the first reserved byte
	// (after Prefix) relative to the start of the written update.
	Offset int64
}

// Get returns d[k], or nil when d is nil or has no such key.
func (d Dict) Get(k Name) Object {
	if d == nil {
		return nil
	}
	return d[k]
}

// Clone returns a shallow copy of d.
func (d Dict) Clone() Dict {
	c := make(Dict, len(d)+4)
	for k, v := range d {
		c[k] = v
	}
	return c
}

// Int returns o as an integer when it is one (a whole real is accepted).
func Int(o Object) (int64, bool) {
	switch v := o.(type) {
	case int64:
		return v, true
	case float64:
		if v == float64(int64(v)) {
			return int64(v), true
		}
	}
	return 0, false
}

// Num returns o as a number.
func Num(o Object) (float64, bool) {
	switch v := o.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// AppendObject appends the serialization of o to b. Placeholders receive
// their Offset relative to base (the offset b[0] will have in the output).
func AppendObject(b []byte, o Object, base int64) []byte {
	switch v := o.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if v {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		if v == float64(int64(v)) && v < 1e15 && v > -1e15 {
			return strconv.AppendInt(b, int64(v), 10)
		}
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	case Name:
		return appendName(b, v)
	case String:
		return appendString(b, v)
	case Ref:
		b = strconv.AppendInt(b, int64(v.Num), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(v.Gen), 10)
		return append(b, " R"...)
	case Array:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ' ')
			}
			b = AppendObject(b, e, base)
		}
		return append(b, ']')
	case Dict:
		return appendDict(b, v, base)
	case *Stream:
		d := v.Dict.Clone()
		d["Length"] = int64(len(v.Data))
		b = appendDict(b, d, base)
		b = append(b, "\nstream\n"...)
		b = append(b, v.Data...)
		return append(b, "\nendstream"...)
	case *Placeholder:
		b = append(b, v.Prefix...)
		v.Offset = base + int64(len(b))
		n := len(b)
		b = slices.Grow(b, v.Width)[:n+v.Width]
		fill := b[n:]
		if len(fill) > 0 {
			fill[0] = v.Fill
			for k := 1; k < len(fill); k *= 2 {
				copy(fill[k:], fill[:k])
			}
		}
		return append(b, v.Suffix...)
	}
	// Unknown Go types never reach a file.
	return append(b, "null"...)
}

func appendDict(b []byte, d Dict, base int64) []byte {
	var arr [24]string
	keys := arr[:0]
	for k := range d {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	b = append(b, "<<"...)
	for _, k := range keys {
		b = appendName(b, Name(k))
		b = append(b, ' ')
		b = AppendObject(b, d[Name(k)], base)
	}
	return append(b, ">>"...)
}

func appendName(b []byte, n Name) []byte {
	const hexd = "0123456789ABCDEF"
	b = append(b, '/')
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 0x7f || c == '#' || isDelim(c) {
			b = append(b, '#', hexd[c>>4], hexd[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

func appendString(b []byte, s String) []byte {
	printable := true
	for _, c := range s {
		if c < ' ' || c >= 0x7f {
			printable = false
			break
		}
	}
	if !printable {
		const hexd = "0123456789ABCDEF"
		b = append(b, '<')
		for _, c := range s {
			b = append(b, hexd[c>>4], hexd[c&15])
		}
		return append(b, '>')
	}
	b = append(b, '(')
	for _, c := range s {
		if c == '(' || c == ')' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return append(b, ')')
}

// TextString encodes s as a PDF text string: bytes as they are when s is
// printable ASCII, else UTF-16BE with a byte order mark.
func TextString(s string) String {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			ascii = false
			break
		}
	}
	if ascii {
		return String(s)
	}
	out := []byte{0xfe, 0xff}
	for _, r := range s {
		if r > 0xffff {
			r -= 0x10000
			hi, lo := 0xd800+(r>>10), 0xdc00+(r&0x3ff)
			out = append(out, byte(hi>>8), byte(hi), byte(lo>>8), byte(lo))
			continue
		}
		out = append(out, byte(r>>8), byte(r))
	}
	return String(out)
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '\f', 0:
		return true
	}
	return false
}
