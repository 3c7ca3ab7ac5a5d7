package cms

import (
	"errors"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// maxBERDepth bounds the nesting of BER input.
const maxBERDepth = 64

var errBER = errors.New("malformed BER")

// berHeader reads the identifier and length octets at the start of in. It
// returns the identifier octets, whether the element is constructed, the
// header length, and the content length (-1 for the indefinite form).
func berHeader(in []byte) (tag []byte, constructed bool, hdr, length int, err error) {
	if len(in) < 2 {
		return nil, false, 0, 0, errBER
	}
	i := 1
	if in[0]&0x1f == 0x1f { // high tag number form
		for {
			if i >= len(in) || i > 5 {
				return nil, false, 0, 0, errBER
			}
			b := in[i]
			i++
			if b&0x80 == 0 {
				break
			}
		}
	}
	tag = in[:i]
	constructed = in[0]&0x20 != 0
	if i >= len(in) {
		return nil, false, 0, 0, errBER
	}
	l := in[i]
	i++
	switch {
	case l < 0x80:
		length = int(l)
	case l == 0x80:
		if !constructed {
			return nil, false, 0, 0, errBER
		}
		length = -1
	default:
		n := int(l & 0x7f)
		if n > 4 || i+n > len(in) {
			return nil, false, 0, 0, errBER
		}
		for _, b := range in[i : i+n] {
			length = length<<8 | int(b)
		}
		i += n
		if length < 0 {
			return nil, false, 0, 0, errBER
		}
	}
	if length > len(in)-i {
		return nil, false, 0, 0, errBER
	}
	return tag, constructed, i, length, nil
}

// berSize returns the length of the BER element at the start of in.
func berSize(in []byte, depth int) (int, error) {
	if depth > maxBERDepth {
		return 0, errBER
	}
	_, _, hdr, length, err := berHeader(in)
	if err != nil {
		return 0, err
	}
	if length >= 0 {
		return hdr + length, nil
	}
	pos := hdr
	for {
		if pos+2 <= len(in) && in[pos] == 0 && in[pos+1] == 0 {
			return pos + 2, nil
		}
		n, err := berSize(in[pos:], depth+1)
		if err != nil {
			return 0, err
		}
		pos += n
	}
}

// FirstElement returns the prefix of b that holds its first BER (or DER)
// element, and the rest. A PDF /Contents string holds the CMS followed by
// zero padding.
func FirstElement(b []byte) (elem, rest []byte, err error) {
	n, err := berSize(b, 0)
	if err != nil {
		return nil, nil, err
	}
	return b[:n], b[n:], nil
}

// ToDER re-encodes one BER element (the whole of in) as DER: definite
// lengths in their shortest form, and constructed OCTET STRINGs joined
// into one primitive OCTET STRING. SET OF values are not re-sorted except
// where a caller does it ([SortSet]); DER input comes back unchanged.
func ToDER(in []byte) ([]byte, error) {
	if isDER(in) {
		return in, nil
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(in)))
	n, err := toDER(b, in, 0)
	if err != nil {
		return nil, err
	}
	if n != len(in) {
		return nil, errBER
	}
	out, err := b.Bytes()
	if err != nil {
		return nil, errBER
	}
	return out, nil
}

// isDER reports whether in is one element whose lengths are all definite
// and minimal, checked by cryptobyte's strict reader.
func isDER(in []byte) bool {
	s := cryptobyte.String(in)
	var el cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1Element(&el, &tag) || !s.Empty() {
		return false
	}
	return derNested(el, 0)
}

func derNested(el cryptobyte.String, depth int) bool {
	if depth > maxBERDepth {
		return false
	}
	var body cryptobyte.String
	var tag cbasn1.Tag
	if !el.ReadAnyASN1(&body, &tag) {
		return false
	}
	if tag&0x20 == 0 {
		return true
	}
	if tag == cbasn1.OCTET_STRING.Constructed() {
		return false
	}
	for !body.Empty() {
		var child cryptobyte.String
		if !body.ReadAnyASN1Element(&child, &tag) || !derNested(child, depth+1) {
			return false
		}
	}
	return true
}

// toDER writes the DER form of the element at the start of in to b and
// returns the number of input bytes consumed.
func toDER(b *cryptobyte.Builder, in []byte, depth int) (int, error) {
	if depth > maxBERDepth {
		return 0, errBER
	}
	tag, constructed, hdr, length, err := berHeader(in)
	if err != nil {
		return 0, err
	}
	if len(tag) != 1 {
		return 0, errBER // high tag numbers do not occur in CMS
	}
	if !constructed {
		b.AddASN1(cbasn1.Tag(tag[0]), func(b *cryptobyte.Builder) { b.AddBytes(in[hdr : hdr+length]) })
		return hdr + length, nil
	}
	end := len(in)
	if length >= 0 {
		end = hdr + length
	}
	octets := tag[0] == byte(cbasn1.OCTET_STRING.Constructed())
	outTag := cbasn1.Tag(tag[0])
	if octets {
		outTag = cbasn1.OCTET_STRING
	}
	pos := hdr
	var inner error
	b.AddASN1(outTag, func(b *cryptobyte.Builder) {
		for {
			if length < 0 && pos+2 <= len(in) && in[pos] == 0 && in[pos+1] == 0 {
				pos += 2
				return
			}
			if length >= 0 && pos == end {
				return
			}
			if pos >= end {
				inner = errBER
				return
			}
			if octets {
				// The pieces of a constructed OCTET STRING are OCTET
				// STRINGs; their contents are joined.
				child := cryptobyte.NewBuilder(nil)
				n, err := toDER(child, in[pos:end], depth+1)
				if err != nil {
					inner = err
					return
				}
				der, err := child.Bytes()
				s := cryptobyte.String(der)
				var piece cryptobyte.String
				if err != nil || !s.ReadASN1(&piece, cbasn1.OCTET_STRING) {
					inner = errBER
					return
				}
				b.AddBytes(piece)
				pos += n
				continue
			}
			n, err := toDER(b, in[pos:end], depth+1)
			if err != nil {
				inner = err
				return
			}
			pos += n
		}
	})
	if inner != nil {
		return 0, inner
	}
	return pos, nil
}
