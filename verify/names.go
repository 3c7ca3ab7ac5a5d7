package verify

import (
	"bytes"
	"encoding/asn1"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// dn is a Distinguished Name in the comparison form of RFC 5280 section
// 7.1: one string per RDN, each the sorted attribute type and value pairs
// with directory strings compared case-insensitively and with insignificant
// white space removed (the LDAP StringPrep rules of RFC 4518, without
// Unicode normalisation).
type dn []string

func (d dn) key() string { return strings.Join(d, "\x00") }

func (d dn) equal(o dn) bool { return slices.Equal(d, o) }

// within reports whether d lies in the subtree named by base: base's RDNs
// are a prefix of d's.
func (d dn) within(base dn) bool {
	return len(base) <= len(d) && slices.Equal(d[:len(base)], base)
}

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// parseDN reads a DER Name. It also returns the emailAddress attribute
// values (for rfc822Name constraints).
func parseDN(raw []byte) (dn, []string, bool) {
	s := cryptobyte.String(raw)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, nil, false
	}
	var out dn
	var emails []string
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) || len(out) > 64 {
			return nil, nil, false
		}
		var atvs []string
		for !set.Empty() {
			var atv cryptobyte.String
			var oid asn1.ObjectIdentifier
			var val cryptobyte.String
			var tag cbasn1.Tag
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&oid) ||
				!atv.ReadAnyASN1Element(&val, &tag) || !atv.Empty() || len(atvs) > 64 {
				return nil, nil, false
			}
			norm, text, ok := normValue(val, tag)
			if !ok {
				return nil, nil, false
			}
			if oid.Equal(oidEmailAddress) && text != "" {
				emails = append(emails, text)
			}
			atvs = append(atvs, oid.String()+"="+norm)
		}
		slices.Sort(atvs)
		out = append(out, strings.Join(atvs, "+"))
	}
	return out, emails, true
}

// normValue returns the comparison form of an attribute value, and its
// text when it is a string.
func normValue(el cryptobyte.String, tag cbasn1.Tag) (string, string, bool) {
	var body cryptobyte.String
	t := tag
	if !el.ReadAnyASN1(&body, &t) {
		return "", "", false
	}
	var text string
	switch tag {
	case cbasn1.PrintableString, cbasn1.UTF8String, cbasn1.IA5String, cbasn1.T61String:
		if tag == cbasn1.UTF8String && !utf8.Valid(body) {
			return "", "", false
		}
		if tag == cbasn1.T61String {
			r := make([]rune, len(body))
			for i, b := range body {
				r[i] = rune(b) // Latin-1, as most encoders meant it
			}
			text = string(r)
		} else {
			text = string(body)
		}
	case cbasn1.Tag(30): // BMPString
		if len(body)%2 != 0 {
			return "", "", false
		}
		u := make([]uint16, len(body)/2)
		for i := range u {
			u[i] = uint16(body[2*i])<<8 | uint16(body[2*i+1])
		}
		text = string(utf16.Decode(u))
	case cbasn1.Tag(28): // UniversalString
		if len(body)%4 != 0 {
			return "", "", false
		}
		r := make([]rune, len(body)/4)
		for i := range r {
			r[i] = rune(body[4*i])<<24 | rune(body[4*i+1])<<16 | rune(body[4*i+2])<<8 | rune(body[4*i+3])
		}
		text = string(r)
	default:
		return "#" + string(el), "", true // other types compare by encoding
	}
	return "s:" + strings.Join(strings.FieldsFunc(strings.ToLower(text), unicode.IsSpace), " "), text, true
}

// General name forms (RFC 5280 section 4.2.1.6).
const (
	gnOther     = 0
	gnRFC822    = 1
	gnDNS       = 2
	gnX400      = 3
	gnDirectory = 4
	gnEDIParty  = 5
	gnURI       = 6
	gnIP        = 7
	gnRegID     = 8
)

// generalName is one GeneralName: its form and its value (the string, the
// IP octets, or the DER Name of a directoryName).
type generalName struct {
	form  int
	value []byte
	dn    dn // directoryName, compared form
}

// parseGeneralNames reads the content of a GeneralNames SEQUENCE.
func parseGeneralNames(s cryptobyte.String) ([]generalName, bool) {
	var out []generalName
	for !s.Empty() {
		var body cryptobyte.String
		var tag cbasn1.Tag
		if !s.ReadAnyASN1(&body, &tag) || tag&0xc0 != 0x80 || len(out) > 256 {
			return nil, false
		}
		gn := generalName{form: int(tag & 0x1f), value: body}
		if gn.form == gnDirectory {
			if tag&0x20 == 0 {
				return nil, false
			}
			var name cryptobyte.String
			if !body.ReadASN1Element(&name, cbasn1.SEQUENCE) || !body.Empty() {
				return nil, false
			}
			d, _, ok := parseDN(name)
			if !ok {
				return nil, false
			}
			gn.value, gn.dn = name, d
		}
		out = append(out, gn)
	}
	return out, true
}

// parseGeneralNamesSeq reads a DER GeneralNames SEQUENCE (an extension
// value).
func parseGeneralNamesSeq(v []byte) ([]generalName, bool) {
	s := cryptobyte.String(v)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, false
	}
	return parseGeneralNames(seq)
}

// sameName compares two general names of one form (distribution point
// names, CRL issuers).
func sameName(a, b generalName) bool {
	if a.form != b.form {
		return false
	}
	switch a.form {
	case gnDirectory:
		return a.dn.equal(b.dn)
	case gnDNS, gnRFC822:
		return strings.EqualFold(string(a.value), string(b.value))
	}
	return bytes.Equal(a.value, b.value)
}

// uriHost returns the host of a URI for name constraints.
func uriHost(u string) (string, bool) {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "", false
	}
	h := p.Hostname()
	if net.ParseIP(h) != nil {
		return "", false // constraints apply to fully qualified domain names
	}
	return h, true
}
