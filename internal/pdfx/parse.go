package pdfx

import (
	"bytes"
	"errors"
	"strconv"
)

// errShort reports that the parser reached the end of its window; the caller
// may retry with a larger one.
var errShort = errors.New("pdfx: unexpected end of data")

// errBudget reports that a parse would pass its budget; callers turn it
// into roamsign.ErrTooLarge.
var errBudget = errors.New("pdfx: budget exceeded")

// Costs charged by the parser for what it allocates (upper bounds of the
// Go heap used, growth of slices and maps included).
const (
	costObject    = 16  // an object's interface value and boxing
	costArrayElem = 64  // a slot of an array, with append growth
	costDict      = 256 // a small map
	costDictEntry = 160 // a map entry, with growth
)

// syntaxError is a malformed-object error carrying the position.
type syntaxError struct {
	pos int64
	msg string
}

func (e *syntaxError) Error() string {
	return "syntax error at offset " + strconv.FormatInt(e.pos, 10) + ": " + e.msg
}

// parser reads objects from a byte window that starts at file offset base.
type parser struct {
	data     []byte
	pos      int
	base     int64
	maxDepth int
	atEOF    bool // the window ends at the end of the file or stream
	// allow bounds cost, the bytes of memory charged for what the parser
	// allocated; beyond it parsing fails with errBudget. Zero allows
	// nothing to be allocated (callers that parse integers only).
	allow, cost int64
}

// spend charges n bytes of allocation.
func (p *parser) spend(n int) error {
	p.cost += int64(n)
	if p.cost > p.allow {
		return errBudget
	}
	return nil
}

func (p *parser) errf(msg string) error {
	return &syntaxError{pos: p.base + int64(p.pos), msg: msg}
}

func (p *parser) short() error {
	if p.atEOF {
		return p.errf("unexpected end of file")
	}
	return errShort
}

// skipSpace skips white space and comments.
func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if isSpace(c) {
			p.pos++
			continue
		}
		if c == '%' {
			for p.pos < len(p.data) && p.data[p.pos] != '\n' && p.data[p.pos] != '\r' {
				p.pos++
			}
			continue
		}
		return
	}
}

// keyword reads a run of regular characters.
func (p *parser) keyword() ([]byte, error) {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.data) && !isSpace(p.data[p.pos]) && !isDelim(p.data[p.pos]) {
		p.pos++
	}
	if p.pos == len(p.data) && !p.atEOF {
		return nil, errShort
	}
	if start == p.pos {
		if p.pos == len(p.data) {
			return nil, p.short()
		}
		return nil, p.errf("expected a keyword")
	}
	return p.data[start:p.pos], nil
}

// expectKeyword consumes kw or fails.
func (p *parser) expectKeyword(kw string) error {
	k, err := p.keyword()
	if err != nil {
		return err
	}
	if string(k) != kw {
		return p.errf("expected " + strconv.Quote(kw))
	}
	return nil
}

// uint reads an unsigned decimal integer.
func (p *parser) uint() (int64, error) {
	k, err := p.keyword()
	if err != nil {
		return 0, err
	}
	if len(k) > 18 {
		return 0, p.errf("integer too long")
	}
	var n int64
	for _, c := range k {
		if c < '0' || c > '9' {
			return 0, p.errf("expected an unsigned integer")
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// object parses one direct object (a reference "n g R" included).
func (p *parser) object(depth int) (Object, error) {
	if depth > p.maxDepth {
		return nil, p.errf("objects nested too deeply")
	}
	if err := p.spend(costObject); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, p.short()
	}
	c := p.data[p.pos]
	switch {
	case c == '/':
		return p.name()
	case c == '(':
		return p.literal()
	case c == '<':
		if p.pos+1 >= len(p.data) {
			return nil, p.short()
		}
		if p.data[p.pos+1] == '<' {
			return p.dict(depth)
		}
		return p.hex()
	case c == '[':
		p.pos++
		arr := Array{}
		for {
			p.skipSpace()
			if p.pos >= len(p.data) {
				return nil, p.short()
			}
			if p.data[p.pos] == ']' {
				p.pos++
				return arr, nil
			}
			if err := p.spend(costArrayElem); err != nil {
				return nil, err
			}
			o, err := p.object(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, o)
		}
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		return p.number()
	}
	k, err := p.keyword()
	if err != nil {
		return nil, err
	}
	switch string(k) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	return nil, p.errf("unexpected token " + strconv.Quote(string(k)))
}

func (p *parser) name() (Object, error) {
	p.pos++ // '/'
	start := p.pos
	for p.pos < len(p.data) && !isSpace(p.data[p.pos]) && !isDelim(p.data[p.pos]) && p.data[p.pos] != '#' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] != '#' || p.pos == len(p.data) && p.atEOF {
		// No escape: the name is the bytes as they are, a common one
		// without allocating.
		b := p.data[start:p.pos]
		if o, ok := commonNames[string(b)]; ok {
			return o, p.spend(3 * len(b))
		}
		return Name(b), p.spend(3 * len(b))
	}
	out := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if isSpace(c) || isDelim(c) {
			return Name(out), p.spend(3 * len(out))
		}
		if c == '#' && p.pos+2 < len(p.data) {
			h, ok1 := unhex(p.data[p.pos+1])
			l, ok2 := unhex(p.data[p.pos+2])
			if ok1 && ok2 {
				out = append(out, h<<4|l)
				p.pos += 3
				continue
			}
		}
		out = append(out, c)
		p.pos++
	}
	if !p.atEOF {
		return nil, errShort
	}
	return Name(out), p.spend(3 * len(out))
}

// commonNames are the names PDF files use most, each held as an Object
// once, so that reading one allocates nothing.
var commonNames = func() map[string]Object {
	m := map[string]Object{}
	for _, n := range []Name{
		"AP", "AcroForm", "Adobe.PPKLite", "Annots", "Author", "BBox",
		"BaseFont", "BaseVersion", "Border", "ByteRange", "CRLs", "CS",
		"Catalog", "Certs", "Columns", "ContactInfo", "Contents", "Count",
		"CreationDate", "Creator", "CropBox", "DA", "DR", "DSS", "DecodeParms",
		"Dests", "DocMDP", "DocTimeStamp", "ESIC", "ETSI.CAdES.detached",
		"ETSI.RFC3161", "Encoding", "Encrypt", "ExtGState", "ExtensionLevel",
		"Extensions", "F", "FT", "Fields", "Filter", "First", "FirstChar",
		"FlateDecode", "Font", "FontDescriptor", "Form", "Group", "ID", "Index",
		"Info", "Kids", "Lang", "LastChar", "Length", "Location", "M",
		"MarkInfo", "Matrix", "MediaBox", "Metadata", "ModDate", "N", "Name",
		"Names", "OCSPs", "ObjStm", "Outlines", "OutputIntents", "P", "Page",
		"PageLayout", "PageMode", "Pages", "Parent", "Perms", "Predictor",
		"Prev", "ProcSet", "Producer", "Reason", "Rect", "Reference",
		"Resources", "Root", "Rotate", "S", "Sig", "SigFlags", "Size",
		"StructTreeRoot", "SubFilter", "Subtype", "T", "Title",
		"TransformMethod", "TransformParams", "Type", "V", "VRI", "Version",
		"ViewerPreferences", "W", "Widget", "Widths", "XObject", "XRef",
		"XRefStm", "adbe.pkcs7.detached",
	} {
		m[string(n)] = n
	}
	return m
}()

func (p *parser) literal() (Object, error) {
	p.pos++ // '('
	var out []byte
	depth := 1
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		p.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return String(out), p.spend(2 * len(out))
			}
		case '\\':
			if p.pos >= len(p.data) {
				return nil, p.short()
			}
			e := p.data[p.pos]
			p.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if p.pos < len(p.data) && p.data[p.pos] == '\n' {
					p.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for i := 0; i < 2 && p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '7'; i++ {
						v = v*8 + int(p.data[p.pos]-'0')
						p.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return nil, p.short()
}

func (p *parser) hex() (Object, error) {
	p.pos++ // '<'
	var out []byte
	var hi byte
	half := false
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		p.pos++
		if c == '>' {
			if half {
				out = append(out, hi<<4)
			}
			return String(out), p.spend(2 * len(out))
		}
		if isSpace(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return nil, p.errf("bad character in hexadecimal string")
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	return nil, p.short()
}

func (p *parser) dict(depth int) (Object, error) {
	p.pos += 2
	if err := p.spend(costDict); err != nil {
		return nil, err
	}
	d := Dict{}
	for {
		p.skipSpace()
		if p.pos+1 >= len(p.data) {
			return nil, p.short()
		}
		if p.data[p.pos] == '>' {
			if p.data[p.pos+1] != '>' {
				return nil, p.errf("expected >>")
			}
			p.pos += 2
			return d, nil
		}
		if p.data[p.pos] != '/' {
			return nil, p.errf("dictionary key is not a name")
		}
		if err := p.spend(costDictEntry); err != nil {
			return nil, err
		}
		k, err := p.name()
		if err != nil {
			return nil, err
		}
		v, err := p.object(depth + 1)
		if err != nil {
			return nil, err
		}
		if v != nil { // a null value is the same as an absent key
			d[k.(Name)] = v
		}
	}
}

func (p *parser) number() (Object, error) {
	start := p.pos
	k, err := p.keyword()
	if err != nil {
		return nil, err
	}
	if len(k) > 40 {
		return nil, p.errf("number too long")
	}
	if bytes.ContainsAny(k, ".") || !isInt(k) {
		f, err := strconv.ParseFloat(string(k), 64)
		if err != nil {
			// Lenient: malformed reals such as "--1" or "1.2.3" are read as 0
			// by common readers; a strict reader refuses them.
			return nil, p.errf("malformed number")
		}
		return f, nil
	}
	n, err := strconv.ParseInt(string(k), 10, 64)
	if err != nil {
		return nil, p.errf("integer out of range")
	}
	if k[0] == '+' || k[0] == '-' || n < 0 {
		return n, nil
	}
	// Look ahead for "gen R".
	save := p.pos
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		g, err := p.keyword()
		if err == errShort {
			return nil, errShort
		}
		if err == nil && isInt(g) && len(g) <= 6 {
			p.skipSpace()
			if p.pos >= len(p.data) && !p.atEOF {
				return nil, errShort
			}
			if p.pos < len(p.data) && p.data[p.pos] == 'R' &&
				(p.pos+1 == len(p.data) || isSpace(p.data[p.pos+1]) || isDelim(p.data[p.pos+1])) {
				if p.pos+1 == len(p.data) && !p.atEOF {
					return nil, errShort
				}
				p.pos++
				gen, _ := strconv.Atoi(string(g))
				if n > 1<<31 {
					return nil, &syntaxError{pos: p.base + int64(start), msg: "object number out of range"}
				}
				return Ref{Num: int(n), Gen: gen}, nil
			}
		}
	}
	p.pos = save
	return n, nil
}

func isInt(k []byte) bool {
	for i, c := range k {
		if c >= '0' && c <= '9' {
			continue
		}
		if i == 0 && (c == '+' || c == '-') && len(k) > 1 {
			continue
		}
		return false
	}
	return len(k) > 0
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
