package hsm

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/roamsign/roamsign"
)

// MaxURILen is the longest PKCS#11 URI [ParseURI] accepts.
const MaxURILen = 4096

// maxPINFile is the largest PIN file read through pin-source.
const maxPINFile = 1024

// URI is a parsed RFC 7512 PKCS#11 URI, restricted to what a key store
// needs. Path attributes select the token (and optionally a key); query
// attributes say how to reach it.
//
// Its String method never shows the PIN.
type URI struct {
	// Token selection (any combination; all given must match).
	Token        string // token label
	Manufacturer string // token manufacturer ID
	Serial       string // token serial number
	Model        string // token model
	SlotID       uint   // slot ID, when HasSlotID
	HasSlotID    bool

	// Key selection (optional; see [PKCS11Store.URIKey]).
	Object string // key label (CKA_LABEL)
	ID     []byte // key ID (CKA_ID)
	Type   string // "private" or empty

	// Query attributes.
	ModulePath string // absolute path of the PKCS#11 module
	PINSource  string // file holding the user PIN (file: URI or absolute path)
	PINValue   string // the user PIN itself
}

var (
	pathAttrs  = map[string]bool{"token": true, "manufacturer": true, "serial": true, "model": true, "slot-id": true, "object": true, "id": true, "type": true}
	queryAttrs = map[string]bool{"module-path": true, "pin-source": true, "pin-value": true}
)

// ParseURI parses a PKCS#11 URI such as
//
//	pkcs11:token=signing;id=%01%02?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/roamsign/pin
//
// Supported path attributes: token, manufacturer, serial, model, slot-id,
// object, id and type (only "private"); query attributes: module-path,
// pin-source (a file) and pin-value. Any other attribute, a repeated
// attribute, an empty value, malformed percent-encoding, pin-source together
// with pin-value, or module-name (use module-path) is rejected with
// roamsign.ErrInvalidInput. Errors never contain attribute values.
func ParseURI(s string) (*URI, error) {
	const op = "hsm.ParseURI"
	if len(s) > MaxURILen {
		return nil, roamsign.E(roamsign.ErrTooLarge, op, "PKCS#11 URI longer than %d bytes", MaxURILen)
	}
	const scheme = "pkcs11:"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "not a PKCS#11 URI (want pkcs11:...)")
	}
	rest := s[len(scheme):]
	path, query, _ := strings.Cut(rest, "?")
	u := &URI{}
	seen := map[string]bool{}
	parse := func(part, sep, raw string, allowed map[string]bool, where string) error {
		if part == "" {
			return nil
		}
		for _, kv := range strings.Split(part, sep) {
			name, val, ok := strings.Cut(kv, "=")
			if !ok {
				return roamsign.E(roamsign.ErrInvalidInput, op, "%s attribute without '='", where)
			}
			if !allowed[name] {
				if name == "module-name" {
					return roamsign.E(roamsign.ErrInvalidInput, op, "module-name is not supported; give module-path")
				}
				return roamsign.E(roamsign.ErrInvalidInput, op, "unsupported %s attribute %.40q", where, name)
			}
			if seen[name] {
				return roamsign.E(roamsign.ErrInvalidInput, op, "attribute %s given twice", name)
			}
			seen[name] = true
			v, err := pctDecode(val, raw)
			if err != nil {
				return roamsign.E(roamsign.ErrInvalidInput, op, "attribute %s: %s", name, err.Error())
			}
			if len(v) == 0 {
				return roamsign.E(roamsign.ErrInvalidInput, op, "attribute %s is empty", name)
			}
			if err := u.set(name, v); err != nil {
				return roamsign.E(roamsign.ErrInvalidInput, op, "attribute %s: %s", name, err.Error())
			}
		}
		return nil
	}
	if err := parse(path, ";", pathRaw, pathAttrs, "path"); err != nil {
		return nil, err
	}
	if err := parse(query, "&", queryRaw, queryAttrs, "query"); err != nil {
		return nil, err
	}
	if u.PINSource != "" && u.PINValue != "" {
		return nil, roamsign.E(roamsign.ErrInvalidInput, op, "pin-source and pin-value are contradictory; give one")
	}
	return u, nil
}

type uriError string

func (e uriError) Error() string { return string(e) }

func (u *URI) set(name string, v []byte) error {
	text := func() (string, error) {
		for _, c := range v {
			if c < 0x20 || c == 0x7f {
				return "", uriError("contains control characters")
			}
		}
		return string(v), nil
	}
	var err error
	switch name {
	case "id":
		u.ID = v
	case "slot-id":
		var n uint64
		n, err = strconv.ParseUint(string(v), 10, 32)
		if err != nil {
			return uriError("slot-id must be a decimal number")
		}
		u.SlotID, u.HasSlotID = uint(n), true
	case "token":
		u.Token, err = text()
	case "manufacturer":
		u.Manufacturer, err = text()
	case "serial":
		u.Serial, err = text()
	case "model":
		u.Model, err = text()
	case "object":
		u.Object, err = text()
	case "type":
		if string(v) != "private" {
			return uriError("only type=private (a private key) can be used")
		}
		u.Type = "private"
	case "module-path":
		u.ModulePath, err = text()
		if err == nil && !filepath.IsAbs(u.ModulePath) {
			return uriError("module-path must be an absolute path")
		}
	case "pin-source":
		u.PINSource, err = text()
		if err == nil {
			_, err = pinFile(u.PINSource)
		}
	case "pin-value":
		u.PINValue = string(v)
	}
	return err
}

// Characters RFC 7512 allows unencoded in attribute values besides the
// unreserved ones: pk11-res-avail plus "&" in the path, or plus "/", "?"
// and "|" in the query. "/" is also tolerated in the path, where it is
// common in practice. Everything else must be percent-encoded, so the
// canonical form ([URI.String]) is never longer than what was parsed.
const (
	resAvail = ":[]@!$'()*+,="
	pathRaw  = resAvail + "&/"
	queryRaw = resAvail + "/?|"
)

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// pctDecode decodes RFC 3986 percent-encoding strictly. A raw byte that is
// neither unreserved nor in raw, and '%' not followed by two hex digits,
// are errors.
func pctDecode(s, raw string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) {
				return nil, uriError("truncated percent-encoding")
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, uriError("malformed percent-encoding")
			}
			out = append(out, hi<<4|lo)
			i += 2
		case unreserved(c) || strings.IndexByte(raw, c) >= 0:
			out = append(out, c)
		default:
			return nil, uriError("character must be percent-encoded")
		}
	}
	return out, nil
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

// pinFile returns the file path named by a pin-source value: "file:" URIs
// (file:/p, file:///p) and absolute paths.
func pinFile(src string) (string, error) {
	p := src
	if strings.HasPrefix(p, "file:") {
		p = strings.TrimPrefix(p, "file:")
		if strings.HasPrefix(p, "//") {
			p = strings.TrimPrefix(p, "//")
			if !strings.HasPrefix(p, "/") {
				return "", uriError("pin-source file URI must name a local absolute path")
			}
		}
	} else if strings.Contains(p, ":") || strings.HasPrefix(p, "|") {
		return "", uriError("pin-source must be a file (file: URI or absolute path)")
	}
	if !filepath.IsAbs(p) {
		return "", uriError("pin-source must be an absolute path")
	}
	return filepath.Clean(p), nil
}

// PIN returns the user PIN: pin-value, or the first line of the pin-source
// file (at most 1 KiB; a trailing newline is removed). It returns "" when
// the URI names neither. Errors never contain the PIN.
func (u *URI) PIN() (string, error) {
	const op = "hsm.URI.PIN"
	if u.PINValue != "" {
		return u.PINValue, nil
	}
	if u.PINSource == "" {
		return "", nil
	}
	p, err := pinFile(u.PINSource)
	if err != nil {
		return "", roamsign.E(roamsign.ErrInvalidInput, op, "%s", err.Error())
	}
	f, err := os.Open(p)
	if err != nil {
		return "", roamsign.Wrap(roamsign.ErrInvalidInput, op, err, "cannot open the pin-source file")
	}
	defer f.Close()
	buf := make([]byte, maxPINFile+1)
	n, _ := f.Read(buf)
	if n > maxPINFile {
		return "", roamsign.E(roamsign.ErrTooLarge, op, "pin-source file larger than %d bytes", maxPINFile)
	}
	b := buf[:n]
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return "", roamsign.E(roamsign.ErrInvalidInput, op, "pin-source file is empty")
	}
	return string(b), nil
}

// String returns the URI in canonical form with any PIN value redacted.
func (u *URI) String() string { return u.encode(false) }

func (u *URI) encode(withPIN bool) string {
	var path, query []string
	// adder appends name=v (if v is set) to list, encoded for its part.
	adder := func(list *[]string, raw string) func(name, v string) {
		return func(name, v string) {
			if v != "" {
				*list = append(*list, name+"="+pctEncode(v, raw))
			}
		}
	}
	addPath, addQuery := adder(&path, pathRaw), adder(&query, queryRaw)
	addPath("token", u.Token)
	addPath("manufacturer", u.Manufacturer)
	addPath("serial", u.Serial)
	addPath("model", u.Model)
	if u.HasSlotID {
		path = append(path, "slot-id="+strconv.FormatUint(uint64(u.SlotID), 10))
	}
	addPath("object", u.Object)
	addPath("id", string(u.ID))
	addPath("type", u.Type)
	addQuery("module-path", u.ModulePath)
	addQuery("pin-source", u.PINSource)
	if u.PINValue != "" {
		if withPIN {
			addQuery("pin-value", u.PINValue)
		} else {
			query = append(query, "pin-value=%5Bredacted%5D")
		}
	}
	s := "pkcs11:" + strings.Join(path, ";")
	if len(query) > 0 {
		s += "?" + strings.Join(query, "&")
	}
	return s
}

// pctEncode percent-encodes every byte that is neither unreserved nor in raw.
func pctEncode(s, raw string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || strings.IndexByte(raw, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}
